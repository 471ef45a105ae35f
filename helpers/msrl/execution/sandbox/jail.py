"""The limits a sandboxed chart program runs under, applied inside the forked child before its code.

Layers, outermost first (each holds even if the one inside it is subverted):

1. a separate process in its own process group, killed as a group with SIGKILL at the wall-clock
   deadline (the worker enforces it; ignoring SIGTERM does not help);
2. kernel resource limits: address space, CPU seconds, file size, open files, no core dumps; hard
   limits equal soft ones so the code cannot raise them;
3. a private network namespace when the kernel allows it (root or user namespaces): no interface
   but a downed loopback, so no packet leaves;
4. a CPython audit hook that refuses, with PermissionError: any write, delete, rename or chmod
   outside the job's private directory; reads outside the job directory, the Python installation
   and font/data directories (so no secrets are read); sockets and DNS; starting processes
   (fork, exec, subprocess, os.system, posix_spawn); signals to other processes; ctypes and
   other native-code loaders; changing resource limits; adding audit hooks.

Departure from ChartMimic/VLMEvalKit, which run model code with a plain ``python`` subprocess (or
``os.system``) and no limits. Known limit: the hook guards the machine and the trainer; it does not
guarantee the *integrity* of the result against code that deliberately tampers with the interpreter
it runs in (it could, e.g., monkeypatch matplotlib). Rewards computed from such a run are what the
tampered interpreter reported.
"""

from __future__ import annotations

import os
import resource
import sys

CLONE_NEWNET = 0x40000000

# Events refused outright (the code is in the sandbox to draw a chart, not to do any of these).
_DENIED_EVENTS = frozenset(
    {
        "socket.__new__",
        "socket.bind",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
        "urllib.Request",
        "http.client.connect",
        "ftplib.connect",
        "smtplib.connect",
        "poplib.connect",
        "imaplib.open",
        "nntplib.connect",
        "webbrowser.open",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.startfile",
        "pty.spawn",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.call_function",
        "ctypes.cdata",
        "ctypes.cdata/buffer",
        "ctypes.addressof",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "ctypes.create_string_buffer",
        "ctypes.create_unicode_buffer",
        "ctypes.PyObj_FromPtr",
        "resource.setrlimit",
        "resource.prlimit",
        "sys.addaudithook",
        "sys.remote_exec",
        "os.setxattr",
        "os.removexattr",
        "os.chflags",
        "os.lchflags",
        "os.chroot",
    }
)
# Modules refused at import (network, processes, native code), checked before the module loads.
_DENIED_MODULES = frozenset(
    {
        "ctypes",
        "_ctypes",
        "cffi",
        "_cffi_backend",
        "socket",
        "_socket",
        "ssl",
        "_ssl",
        "select",
        "selectors",
        "asyncio",
        "urllib.request",
        "http.client",
        "ftplib",
        "smtplib",
        "telnetlib",
        "multiprocessing",
        "concurrent.futures.process",
        "pty",
        "subprocess",
        "_posixsubprocess",
    }
)
# Events whose path arguments must lie inside the job directory.
_WRITE_EVENTS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (0, 1),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "shutil.move": (0, 1),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.chown": (0,),
    "os.chdir": (0,),
}
_READ_EVENTS = {
    "os.listdir": (0,),
    "os.scandir": (0,),
    "glob.glob": (0,),
    "shutil.copyfile": (0,),
    "shutil.copytree": (0,),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def read_roots(job_dir: str) -> tuple[str, ...]:
    """Directories a chart program may read: its job, Python and its packages, fonts, zoneinfo."""
    import matplotlib

    roots = {
        job_dir,
        sys.prefix,
        sys.exec_prefix,
        sys.base_prefix,
        sys.base_exec_prefix,
        matplotlib.get_data_path(),
        matplotlib.get_cachedir(),
        f"/proc/{os.getpid()}",
        "/usr/share/fonts",
        "/usr/local/share/fonts",
        "/etc/fonts",
        "/usr/share/zoneinfo",
        "/etc/localtime",
        "/sys/devices/system/cpu",
        "/dev/null",
        "/dev/urandom",
        "/dev/zero",
    }
    for entry in sys.path:
        if entry and os.path.isdir(entry) and "site-packages" in entry:
            roots.add(entry)
    # Editable installs put our own package outside site-packages; its source is not secret.
    roots.add(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))  # helpers/msrl
    return tuple(sorted(os.path.realpath(r) for r in roots if r))


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + os.sep) for root in roots)


def _real(path) -> str:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return os.path.realpath(os.fspath(path))


def install_audit_hook(job_dir: str) -> None:
    """Install the policy hook. Cannot be removed; further hooks are refused."""
    job = (os.path.realpath(job_dir),)
    readable = read_roots(job_dir)

    def hook(event, args):
        if event in _DENIED_EVENTS:
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "import":
            name = args[0]
            if name in _DENIED_MODULES or name.split(".")[0] in _DENIED_MODULES:
                raise PermissionError(f"sandbox: importing {name} is not allowed")
        elif event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                if isinstance(path, int) and path > 2:
                    raise PermissionError("sandbox: opening inherited file descriptors is not allowed")
                return
            real = _real(path)
            writing = (mode and any(c in str(mode) for c in "wax+")) or (flags or 0) & _WRITE_FLAGS
            if writing and not _inside(real, job):
                raise PermissionError(f"sandbox: writing {path!r} outside the sandbox is not allowed")
            if not _inside(real, readable):
                raise PermissionError(f"sandbox: reading {path!r} is not allowed")
        elif event in _WRITE_EVENTS:
            for i in _WRITE_EVENTS[event]:
                if i < len(args) and isinstance(args[i], (str, bytes, os.PathLike)):
                    if not _inside(_real(args[i]), job):
                        raise PermissionError(f"sandbox: {event} outside the sandbox is not allowed")
        if event in _READ_EVENTS:
            for i in _READ_EVENTS[event]:
                if i < len(args) and isinstance(args[i], (str, bytes, os.PathLike)):
                    if not _inside(_real(args[i]), readable):
                        raise PermissionError(f"sandbox: listing {args[i]!r} is not allowed")

    sys.addaudithook(hook)


def set_limits(memory_bytes: int, cpu_seconds: int, file_bytes: int, open_files: int = 256) -> None:
    """Kernel limits for this process; hard = soft so they cannot be raised again."""
    for limit, value in (
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_FSIZE, file_bytes),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_CORE, 0),
    ):
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY and value > hard:
            value = hard
        resource.setrlimit(limit, (value, value))
    if os.geteuid() != 0:
        # Not enforced for root (the audit hook refuses fork there); for users it stops fork bombs.
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def isolate_network() -> bool:
    """Move this process into a fresh network namespace; False where the kernel refuses."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(CLONE_NEWNET) == 0


def address_space_bytes() -> int:
    """This process's current virtual size (the child's limit is this plus the job's budget)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")
