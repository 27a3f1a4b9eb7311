"""Device, precision and batch defaults, decided in one place."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from app.config.settings import WhisperSettings

logger = structlog.get_logger(__name__)


def cuda_available() -> bool:
    try:
        import ctranslate2
    except ImportError:
        return False
    return ctranslate2.get_cuda_device_count() > 0


def resolve_device(setting: str, gpu_visible: Callable[[], bool] = cuda_available) -> str:
    """auto -> cuda when a CUDA device is visible, else cpu. cuda without one (the CUDA image on a host
    without a GPU, or without the NVIDIA container toolkit) serves on the CPU and says why."""
    if setting == "auto":
        return "cuda" if gpu_visible() else "cpu"
    if setting == "cuda" and not gpu_visible():
        logger.warning(
            "no CUDA GPU is visible: serving on the CPU",
            setting="WHISPER__INFERENCE_DEVICE=cuda",
            hint="give the container a GPU (NVIDIA container toolkit, --gpus all / --device nvidia.com/gpu=all)",
        )
        return "cpu"
    return setting


def resolve_compute_type(setting: str, device: str) -> str:
    """auto -> float16 on CUDA, int8 on CPU (the fastest exact-enough choice on each)."""
    if setting == "auto":
        return "float16" if device == "cuda" else "int8"
    return setting


def resolve_batch_size(setting: int, device: str) -> int:
    """0 -> 8 windows at once on CUDA; 4 on CPU, where a larger batch costs the decoder's working memory
    per window and gains little speed (the cores are full either way)."""
    if setting > 0:
        return setting
    return 8 if device == "cuda" else 4


def resolve_shared_batch_size(setting: int, batch_size: int) -> int:
    """0 -> 8 windows, and never fewer than one request hands in (`batch_size`): on CPU two requests'
    windows then decode as one batch (the beam search gains a little from the larger batch); on a GPU,
    where a batch costs little more than one window, set it above `batch_size` to let more requests meet."""
    if setting > 0:
        return setting
    return max(8, batch_size)


def resolve_batch_wait_seconds(setting_ms: float | None, device: str) -> float:
    """Unset -> 20 ms on CUDA, where a batch costs little more than one window and requests sent together
    are worth waiting for; none on CPU, where a batch takes long enough that whoever arrives meanwhile
    joins the next one anyway, so the wait is idle time."""
    if setting_ms is None:
        return 0.02 if device == "cuda" else 0.0
    return max(0.0, setting_ms) / 1000


def resolve_cpu_threads(setting: int) -> int:
    """0 -> every core this process may use."""
    if setting > 0:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Runtime:
    """Where inference runs and how, decided once from WHISPER__* and the machine."""

    device: str
    compute_type: str
    cpu_threads: int
    batch_size: int  # windows one request hands in at once
    shared_batch_size: int  # windows requests at once decode together
    batch_wait_seconds: float


def resolve_runtime(whisper: WhisperSettings) -> Runtime:
    device = resolve_device(whisper.inference_device)
    batch_size = resolve_batch_size(whisper.batch_size, device)
    return Runtime(
        device=device,
        compute_type=resolve_compute_type(whisper.compute_type, device),
        cpu_threads=resolve_cpu_threads(whisper.cpu_threads),
        batch_size=batch_size,
        shared_batch_size=resolve_shared_batch_size(whisper.shared_batch_size, batch_size),
        batch_wait_seconds=resolve_batch_wait_seconds(whisper.batch_wait_ms, device),
    )
