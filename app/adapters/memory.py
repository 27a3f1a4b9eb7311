"""Freed heap memory handed back to the system.

A model batch allocates and frees hundreds of megabytes (the decoder's beams over each window's
encoder output); glibc keeps much of what was freed in its arenas, so a long file's memory creeps
up batch after batch. `malloc_trim(0)` returns the free pages: over the bench's hour it cost nothing
measurable (185 s against 182 s) and lowered the server's memory by about 80 MB on average and
60 MB at the peak. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _malloc_trim() -> Callable[[], None]:
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
