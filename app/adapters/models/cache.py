"""A keyed cache that loads each model once, however many requests ask at the same moment."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ModelCache(Generic[T]):
    """Thread-safe: one lock per key serialises loads of that key only.

    A failed load is not remembered, so the next request retries it.
    """

    def __init__(self, loader: Callable[[str], T]) -> None:
        self._loader = loader
        self._models: dict[str, T] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.load_count = 0  # how many loads actually ran (observability and tests)

    def get(self, key: str) -> T:
        model = self._models.get(key)
        if model is not None:
            return model
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            model = self._models.get(key)
            if model is None:
                model = self._loader(key)
                with self._lock:
                    self._models[key] = model
                    self.load_count += 1
            return model

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def __contains__(self, key: str) -> bool:
        return key in self._models

    def unload(self, key: str) -> bool:
        with self._lock:
            model = self._models.pop(key, None)
        if model is None:
            return False
        del model
        gc.collect()  # CTranslate2/torch free their memory when the last reference goes
        _empty_cuda_cache()
        return True


def _empty_cuda_cache() -> None:
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
