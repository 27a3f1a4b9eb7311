from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.adapters.models.cache import ModelCache


def test_ten_concurrent_requests_load_a_model_once():
    loads: list[str] = []

    def slow_loader(name: str) -> object:
        loads.append(name)
        time.sleep(0.2)
        return object()

    cache: ModelCache[object] = ModelCache(slow_loader)
    barrier = threading.Barrier(10)

    def get(_: int) -> object:
        barrier.wait()
        return cache.get("base")

    with ThreadPoolExecutor(10) as pool:
        models = list(pool.map(get, range(10)))
    assert loads == ["base"] and cache.load_count == 1
    assert all(m is models[0] for m in models)


def test_different_models_load_independently_and_unload():
    cache: ModelCache[str] = ModelCache(lambda name: name.upper())
    assert cache.get("a") == "A" and cache.get("b") == "B"
    assert cache.loaded() == ["a", "b"]
    assert cache.unload("a") is True and cache.unload("a") is False
    assert cache.loaded() == ["b"]


def test_a_failed_load_is_retried_by_the_next_request():
    attempts = []

    def flaky(name: str) -> str:
        attempts.append(name)
        if len(attempts) == 1:
            raise RuntimeError("out of memory")
        return "model"

    cache: ModelCache[str] = ModelCache(flaky)
    with pytest.raises(RuntimeError):
        cache.get("base")
    assert cache.loaded() == []
    assert cache.get("base") == "model" and len(attempts) == 2
