"""Choose the training precision for this machine: bf16 autocast only where it is faster than fp32.

A preset's ``sft.bf16`` is ``True``, ``False`` or ``"auto"``. ``"auto"`` measures, once per call, a
matrix product the size of the tiny model's layers in fp32 and in bf16: on a GPU that supports bf16
it is chosen without measuring; on a CPU with native bf16 (AVX512-BF16, AMX) bf16 is faster; on an
AVX2-only CPU bf16 is emulated and ~20x slower (measured: 209 ms against 10 ms for a 512x512
product), so fp32 is chosen. The runner records the choice and the CPU in the manifest.
"""

from __future__ import annotations

import time


def _seconds(fn, repeats: int, rounds: int = 5) -> float:
    """The best of ``rounds`` mean times over ``repeats`` calls. A single mean misled: the runner's
    first check in a fresh process measured bf16 1.0 ms against fp32 1.0 ms (fp32 chosen), where every
    later check in the same series measured 0.3-0.5 against 0.7-0.8 ms."""
    fn()  # warm-up: kernels, allocator
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def measure_cpu_bf16(size: int = 512, repeats: int = 10) -> dict:
    """Seconds of one ``size`` x ``size`` matrix product under fp32 and under bf16 autocast (CPU)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)

    def bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return a @ b

    return {
        "fp32_s": _seconds(lambda: a @ b, repeats),
        "bf16_s": _seconds(bf16, repeats),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def choose_bf16(setting, measure=measure_cpu_bf16) -> dict:
    """{"bf16": bool, "reason": str, ...measurements}: ``setting`` True/False is kept as given;
    "auto" picks bf16 on a bf16-capable GPU, and on a CPU only when it measured at least 10 % faster."""
    import torch

    if setting is True or setting is False:
        return {"bf16": setting, "reason": "set in the preset"}
    if setting != "auto":
        raise ValueError(f"sft.bf16 must be True, False or 'auto', got {setting!r}")
    if torch.cuda.is_available():
        supported = torch.cuda.is_bf16_supported()
        return {"bf16": supported, "reason": f"GPU {'supports' if supported else 'lacks'} bf16"}
    timing = measure()
    faster = timing["bf16_s"] < 0.9 * timing["fp32_s"]
    return {
        "bf16": faster,
        **timing,
        "reason": f"CPU ({timing['cpu_capability']}): bf16 {timing['bf16_s'] * 1e3:.1f} ms vs fp32 "
        f"{timing['fp32_s'] * 1e3:.1f} ms per 512x512 product",
    }


def cpu_name() -> str:
    """The CPU's model name (for timings), from /proc/cpuinfo where there is one."""
    import platform

    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
