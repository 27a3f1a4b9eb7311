"""Whether native AVX-512 code may run: decided from the CPU before any such code loads."""

from app.adapters.cpu_features import why_no_avx512


def test_a_cpu_that_runs_avx512_may_run_native_avx512_code():
    assert why_no_avx512("auto", "AVX512") is None


def test_a_cpu_without_avx512_says_what_it_runs():
    assert why_no_avx512("auto", "AVX2") == "the CPU runs AVX2, not AVX512"
    assert why_no_avx512("auto", "DEFAULT") == "the CPU runs DEFAULT, not AVX512"


def test_max_cpu_isa_avx2_refuses_avx512_on_a_cpu_that_has_it():
    assert why_no_avx512("avx2", "AVX512") == "MAX_CPU_ISA=avx2"
