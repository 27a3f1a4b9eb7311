"""A keyed cache that loads each model once, however many requests ask at the same moment, and gives
memory back: at most `max_loaded` models (least recently used goes first) and none idle for longer
than `idle_seconds` — never one that a request is using at that moment."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

import structlog

T = TypeVar("T")
logger = structlog.get_logger(__name__)


class ModelCache(Generic[T]):
    """Thread-safe: one lock per key serialises loads of that key only.

    A failed load is not remembered, so the next request retries it. `max_loaded` 0 and
    `idle_seconds` 0 mean no bound.
    """

    def __init__(
        self,
        loader: Callable[[str], T],
        max_loaded: int = 0,
        idle_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self.max_loaded = max_loaded
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._models: dict[str, T] = {}
        self._last_used: dict[str, float] = {}
        self._in_use: dict[str, int] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.load_count = 0  # how many loads actually ran (observability and tests)

    def get(self, key: str) -> T:
        """The model, loaded if needed. Prefer `use`, which also keeps it from being evicted meanwhile."""
        with self.use(key) as model:
            return model

    @contextmanager
    def use(self, key: str) -> Iterator[T]:
        model = self._acquire(key)
        try:
            yield model
        finally:
            with self._lock:
                self._in_use[key] -= 1
                self._last_used[key] = self._clock()
            self._evict_over_limit()  # a model kept past the limit while in use goes now

    def _acquire(self, key: str) -> T:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._in_use[key] = self._in_use.get(key, 0) + 1
                self._last_used[key] = self._clock()
                return model
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                model = self._models.get(key)
            if model is None:
                model = self._loader(key)
                with self._lock:
                    self._models[key] = model
                    self.load_count += 1
            with self._lock:
                self._in_use[key] = self._in_use.get(key, 0) + 1
                self._last_used[key] = self._clock()
        self._evict_over_limit()
        return model

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def __contains__(self, key: str) -> bool:
        return key in self._models

    def unload(self, key: str) -> bool:
        with self._lock:
            model = self._models.pop(key, None)
            self._last_used.pop(key, None)
        if model is None:
            return False
        del model
        gc.collect()  # CTranslate2/torch free their memory when the last reference goes
        _empty_cuda_cache()
        return True

    def unload_idle(self) -> list[str]:
        """Unload every model nobody has used for `idle_seconds`; returns their keys."""
        if self.idle_seconds <= 0:
            return []
        now = self._clock()
        with self._lock:
            idle = [
                key
                for key in self._models
                if not self._in_use.get(key) and now - self._last_used.get(key, now) >= self.idle_seconds
            ]
        unloaded = [key for key in idle if self.unload(key)]
        if unloaded:
            logger.info("idle models unloaded", models=unloaded, idle_seconds=self.idle_seconds)
        return unloaded

    def _evict_over_limit(self) -> None:
        if self.max_loaded <= 0:
            return
        with self._lock:
            idle = sorted((self._last_used.get(k, 0.0), k) for k in self._models if not self._in_use.get(k))
            excess = len(self._models) - self.max_loaded
            victims = [key for _, key in idle[: max(0, excess)]]  # models in use stay; we evict later
        for key in victims:
            if self.unload(key):
                logger.info("model unloaded to stay within MODELS__MAX_LOADED", model=key, limit=self.max_loaded)


def _empty_cuda_cache() -> None:
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
