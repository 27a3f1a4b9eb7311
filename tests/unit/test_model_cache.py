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


def test_at_most_max_loaded_models_stay_and_the_least_recently_used_goes():
    from tests.fakes import Clock

    clock = Clock()
    cache: ModelCache[str] = ModelCache(lambda name: name.upper(), max_loaded=2, clock=clock)
    cache.get("a")
    clock.now += 1
    cache.get("b")
    clock.now += 1
    cache.get("a")  # a is now the more recently used
    clock.now += 1
    cache.get("c")
    assert cache.loaded() == ["a", "c"]


def test_a_model_in_use_is_never_evicted_and_goes_once_released():
    cache: ModelCache[str] = ModelCache(lambda name: name.upper(), max_loaded=1)
    with cache.use("a") as model:
        assert cache.get("b") == "B"  # over the limit: a is in use, so the idle one goes
        assert cache.loaded() == ["a"] and model == "A"
        with cache.use("c"):
            assert cache.loaded() == ["a", "c"]  # both in use: kept over the limit for now
    assert len(cache.loaded()) == 1  # released: back within the limit


def test_idle_models_are_unloaded_but_not_while_in_use():
    from tests.fakes import Clock

    clock = Clock()
    cache: ModelCache[str] = ModelCache(lambda name: name.upper(), idle_seconds=60, clock=clock)
    cache.get("a")
    with cache.use("b"):
        clock.now += 61
        assert cache.unload_idle() == ["a"]
    assert cache.loaded() == ["b"]
    clock.now += 59
    assert cache.unload_idle() == []  # b was used until 59 s ago
    clock.now += 1
    assert cache.unload_idle() == ["b"] and cache.loaded() == []
    assert ModelCache(lambda n: n).unload_idle() == []  # 0: never
