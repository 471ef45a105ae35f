"""The sandbox contains hostile programs: each gets a clear status, changes nothing outside its
directory, and the pool keeps serving the next job."""

import os
import socket
import threading

import pytest

from msrl.execution.sandbox import RenderPool

CHART = (
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n"
    "ax.bar(['a', 'b'], [1, 2], color='red')\nax.set_title('ok')\n"
)


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=2, timeout_s=3, memory_mb=512, file_mb=4) as p:
        yield p


@pytest.fixture()
def outside(tmp_path):
    """Files outside the sandbox that hostile programs try to touch."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    return {"dir": tmp_path, "secret": secret, "victim": victim, "new": tmp_path / "created.txt"}


def hostile_programs(o):
    """name -> (program, statuses that count as contained)."""
    return {
        "infinite loop": ("while True:\n    pass\n", {"timeout"}),
        "sleep forever": ("import time\ntime.sleep(100)\n", {"timeout"}),
        "fork bomb": ("import os\nwhile True:\n    os.fork()\n", {"forbidden"}),
        "multiprocessing bomb": ("import multiprocessing as m\nm.Process(target=print).start()\n", {"forbidden"}),
        "memory bomb": ("x = bytearray(8 * 1024**3)\n", {"error", "killed"}),
        "growing memory": ("x = []\nwhile True:\n    x.append(bytearray(50 * 1024**2))\n", {"error", "killed"}),
        "write outside": (f"open({str(o['new'])!r}, 'w').write('pwned')\n", {"forbidden"}),
        "overwrite outside": (f"open({str(o['victim'])!r}, 'w').write('pwned')\n", {"forbidden"}),
        "delete outside": (f"import os\nos.remove({str(o['victim'])!r})\n", {"forbidden"}),
        "rmtree outside": (f"import shutil\nshutil.rmtree({str(o['dir'])!r})\n", {"forbidden"}),
        "rename outside": (f"import os\nos.rename({str(o['victim'])!r}, 'stolen.txt')\n", {"forbidden"}),
        "symlink escape": (
            f"import os\nos.symlink({str(o['victim'])!r}, 'link')\nopen('link', 'w').write('pwned')\n",
            {"forbidden"},
        ),
        "read secret file": (f"print(open({str(o['secret'])!r}).read())\n", {"forbidden"}),
        "read shadow": ("print(open('/etc/shadow').read())\n", {"forbidden"}),
        "list home": ("import os\nprint(os.listdir('/root'))\n", {"forbidden"}),
        "read secret env": (
            "import os\nassert 'MSRL_TEST_SECRET' not in os.environ\nraise RuntimeError('env clean')\n",
            {"error"},
        ),
        "socket": ("import socket\nsocket.create_connection(('127.0.0.1', 1))\n", {"forbidden"}),
        "socket via importlib": (
            "import importlib\ns = importlib.import_module('_socket')\ns.socket()\n",
            {"forbidden"},
        ),
        "dns": ("import urllib.request\nurllib.request.urlopen('http://example.com')\n", {"forbidden"}),
        "subprocess": ("import subprocess\nsubprocess.run(['touch', '/tmp/pwned'])\n", {"forbidden"}),
        "os.system": ("import os\nos.system('touch /tmp/pwned')\n", {"forbidden"}),
        "exec": ("import os\nos.execv('/bin/sh', ['sh'])\n", {"forbidden"}),
        "kill parent": ("import os\nos.kill(os.getppid(), 9)\n", {"forbidden"}),
        "killpg": ("import os, signal\nos.killpg(0, signal.SIGKILL)\n", {"forbidden"}),
        "ignore SIGTERM then loop": (
            "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n",
            {"timeout"},
        ),
        "flood stdout": (
            "import sys\nfor _ in range(10**6):\n    print('x' * 100)\n"
            "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n",
            {"ok", "timeout"},
        ),
        "flood native fd": (
            "import os\nfor _ in range(10**5):\n    os.write(1, b'y' * 10000)\n",
            {"no_figure", "timeout"},
        ),  # fd 1 is /dev/null in the child
        "fill the disk": ("f = open('big.bin', 'wb')\nwhile True:\n    f.write(b'0' * 2**20)\n", {"error"}),
        "huge figure": (
            "import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(2000, 2000))\nplt.plot([1, 2], [3, 4])\n",
            {"ok", "error"},
        ),  # ~1 dpi: fonts may fail
        "deep recursion": (
            "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)\n",
            {"error", "killed", "timeout"},
        ),
        "segfault via ctypes": ("import ctypes\nctypes.string_at(0)\n", {"forbidden"}),
        "ctypes already imported": ("import sys\nc = sys.modules['ctypes']\nc.CDLL(None).abort()\n", {"forbidden"}),
        "raise limits": ("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))\n", {"forbidden"}),
        "add a permissive audit hook": (
            "import sys\nsys.addaudithook(lambda *a: None)\nopen('/etc/shadow')\n",
            {"forbidden"},
        ),
        "never finishes drawing": (
            "import matplotlib.pyplot as plt\nfrom matplotlib.artist import Artist\n"
            "class Slow(Artist):\n    def draw(self, renderer):\n        while True:\n            pass\n"
            "fig, ax = plt.subplots()\nax.add_artist(Slow())\n",
            {"timeout"},
        ),
        "syntax error": ("plt.plot([1, 2)\n", {"error"}),
        "no figure": ("x = 1 + 1\n", {"no_figure"}),
        "exit early": ("import sys\nsys.exit(3)\n", {"no_figure"}),
    }


def test_hostile_programs_are_contained(pool, outside, monkeypatch):
    monkeypatch.setenv("MSRL_TEST_SECRET", "hunter2")  # workers already started; checked anyway
    programs = hostile_programs(outside)
    before = {p: p.read_text() for p in (outside["secret"], outside["victim"])}
    tmp_listing = set(os.listdir("/tmp"))
    results = pool.map([code for code, _ in programs.values()])
    failures = []
    for (name, (_, allowed)), result in zip(programs.items(), results):
        if result.status not in allowed:
            failures.append(f"{name}: {result.status} ({result.error[:120]})")
        assert "TOP-SECRET" not in result.stdout + result.stderr + result.error, name
    assert not failures, failures
    # nothing outside changed
    assert {p: p.read_text() for p in before} == before
    assert not outside["new"].exists()
    assert not os.path.exists("/tmp/pwned")
    assert not any(name.startswith("job-") for name in set(os.listdir("/tmp")) - tmp_listing)
    # the pool still serves
    assert pool.render(CHART).ok


def test_statuses_carry_clear_errors(pool, outside):
    results = pool.map(
        [
            "while True:\n    pass\n",
            f"open({str(outside['victim'])!r}, 'w')\n",
            "1 / 0\n",
            "import os\nos.kill(os.getpid(), 9)\n",
        ]
    )
    assert "killed" in results[0].error and results[0].status == "timeout"
    assert "outside the sandbox" in results[1].error
    assert results[2].error.startswith("ZeroDivisionError") and "line 1" in results[2].error
    assert results[3].status == "forbidden"


def test_output_tail_is_bounded(pool):
    result = pool.render(
        "for i in range(100000):\n    print('line', i)\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
    )
    assert result.ok
    assert len(result.stdout) <= 2000 and "line 99999" in result.stdout
    assert result.extra["stdout_chars"] > 10**6


def test_huge_figures_are_drawn_at_a_bounded_size(pool):
    import io

    from PIL import Image

    result = pool.render("import matplotlib.pyplot as plt\nplt.figure(figsize=(300, 100))\nplt.plot([1, 2])\n")
    assert result.ok and result.extra.get("downscaled")
    assert max(Image.open(io.BytesIO(result.png)).size) <= 2048


def test_no_network_even_to_a_local_server(pool):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(_accept(server)))
    thread.start()
    result = pool.render(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n")
    thread.join()
    server.close()
    assert result.status == "forbidden"
    assert accepted == [None]


def _accept(server):
    try:
        conn, _ = server.accept()
        conn.close()
        return "connected"
    except OSError:
        return None


def test_model_replies_are_reduced_to_their_first_python_block(pool):
    reply = "Here is the code:\n```python\n" + CHART + "```\nThis draws a bar chart.\n```text\nnot code\n```"
    result = pool.render(reply)
    assert result.ok and result.record["calls"] == {"bar": 1}


def test_show_and_savefig_in_the_program_are_handled(pool):
    code = CHART + "plt.savefig('/etc/out.png')\nplt.show()\nplt.close()\n"
    result = pool.render(code)
    assert result.ok, result.error
    assert result.record["axes"][0]["title"] == "ok"


def test_jobs_do_not_share_state(pool):
    first = pool.render(
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.title('one')\n"
        "import matplotlib\nmatplotlib.rcParams['lines.color'] = 'red'\nGLOBAL = 1\n"
    )
    second = pool.render(
        "import matplotlib\nassert matplotlib.rcParams['lines.color'] != 'red'\n"
        "assert 'GLOBAL' not in globals()\nimport matplotlib.pyplot as plt\n"
        "assert not plt.get_fignums()\nplt.plot([1])\n"
    )
    assert first.ok and second.ok, second.error


def _pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _savefig_png(code: str, dpi: float) -> bytes:
    """What a plain ``savefig`` of the program's figure writes (in this process: trusted code)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context():
        exec(compile(code, "<test chart>", "exec"), {"__name__": "__main__"})
        buffer = io.BytesIO()
        plt.gcf().savefig(buffer, format="png", dpi=dpi)
        plt.close("all")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "extra",
    [
        "plt.tight_layout()\n",  # a layout engine: savefig would draw twice, the sandbox draws once
        "matplotlib.rcParams['savefig.bbox'] = 'tight'\n",  # a save-only setting: the sandbox uses savefig
    ],
)
def test_the_sandbox_draws_what_savefig_draws(extra):
    code = "import matplotlib\n" + CHART + "ax.set_xlabel('label')\nax.legend(['one'])\n" + extra
    with RenderPool(workers=1, timeout_s=10, dpi=50) as single:
        result = single.render(code)
    assert result.ok, result.error
    assert (_pixels(result.png) == _pixels(_savefig_png(code, 50))).all()


def test_jobs_queued_behind_a_dead_worker_are_run_again():
    """A worker holds its next job in its pipe; when the worker dies, that job runs on the new one."""
    with RenderPool(workers=1, timeout_s=10) as single:
        victim = single._workers[0].process
        killer = threading.Timer(1.0, victim.kill)
        killer.start()
        results = single.map(["import time\ntime.sleep(5)\n", CHART, CHART])
        killer.join()
    assert [r.status for r in results] == ["killed", "ok", "ok"], [r.error for r in results]
    assert single.restarts == 1


# Programs that change what the next program of a series would see if the child did not reset it.
STATEFUL = [
    "import matplotlib.pyplot as plt\nplt.style.use('ggplot')\nplt.plot([1, 3, 2])\nplt.title('styled')\n",
    "import seaborn as sns\nsns.set_theme(style='darkgrid', palette='pastel')\nsns.barplot(x=['a', 'b'], y=[1, 2])\n",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2], 'g-')\nplt.plot([2, 1], color='b')\n",  # seaborn remaps 'g', 'b'
    "import numpy as np\nimport matplotlib.pyplot as plt\nnp.random.seed(1)\nplt.bar(['x', 'y'], np.random.rand(2))\n",
    "import matplotlib.pyplot as plt\nopen('data.txt', 'x').write('1')\nfig = plt.figure()\nplt.plot([1, 2])\n"
    "plt.savefig('chart.png')\nplt.close(fig)\n",
    CHART,
]


def test_a_series_of_trusted_programs_draws_what_one_child_each_draws(pool):
    """Several programs in one child (the corpus's own emitters only) give the same PNGs, records
    and texts as a child per program: styles, themes, random state, files and figures are reset."""
    programs = STATEFUL * 2  # each runs after every kind of change
    alone = pool.map(programs)
    in_series = pool.map(programs, per_child=len(programs))
    assert all(r.ok for r in alone), [r.error for r in alone]
    for a, s in zip(alone, in_series, strict=True):
        assert s.ok, s.error
        assert s.png == a.png
        assert s.record == a.record


def test_a_series_loses_nothing_when_one_program_fails_or_hangs(pool):
    """A program that raises is reported in place; one that loops past the deadline kills the
    series' child, and the programs it did not report run again, each alone."""
    programs = [CHART, "raise ValueError('bad table')\n", CHART, "while True:\n    pass\n", CHART, CHART]
    results = pool.map(programs, per_child=len(programs))
    assert [r.status for r in results] == ["ok", "error", "ok", "timeout", "ok", "ok"], [r.error for r in results]
    assert "bad table" in results[1].error
    assert results[0].png == results[2].png == results[4].png == results[5].png
