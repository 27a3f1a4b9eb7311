"""Freed heap memory handed back to the system.

A model batch allocates and frees hundreds of megabytes (the decoder's beams over each window's
encoder output); glibc keeps much of what was freed in its arenas, so a long file's memory creeps
up batch after batch. `malloc_trim(0)` returns the free pages, at no cost in time. The next batch
faults those pages in again, which huge pages make cheap (GLIBC_TUNABLES in the Makefile and the
images). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _malloc_trim() -> Callable[[], int | None]:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        trim = None
    if trim is None:
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


release_freed_memory = _malloc_trim()
