"""Windows of requests decoding at the same time go through the model together, fairly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.adapters.memory import release_freed_memory
from app.adapters.whisperx.batching import SharedBatches
from app.adapters.whisperx.model_store import memory_errors_named
from app.domain.errors import OutOfMemory
from tests.shared_batches import wait_for_waiting


class RecordingModel:
    """Stands in for the encoder or decoder: records each batch it runs, and can hold one until told."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def run(self, rows: np.ndarray, extras: list[str]) -> list[str]:
        self.batches.append(list(extras))
        self.started.set()
        assert self.release.wait(10)
        return [f"{extra}:{row.sum():g}" for row, extra in zip(rows, extras)]


def call_in_thread(
    batches: SharedBatches, model: RecordingModel, key: str, names: list[str], results: dict[str, object]
) -> threading.Thread:
    rows = np.ones((len(names), 2)) * len(names)

    def work() -> None:
        try:
            results[names[0]] = batches.run(key, rows, names, model.run)
        except Exception as exc:  # noqa: BLE001 - the test reads what each caller got
            results[names[0]] = exc

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_lone_call_runs_its_own_rows() -> None:
    model = RecordingModel()
    assert list(SharedBatches(max_windows=8).run("k", np.ones((2, 3)), ["a", "b"], model.run)) == ["a:3", "b:3"]
    assert model.batches == [["a", "b"]]


def test_calls_that_wait_while_the_model_is_busy_share_the_next_batch_and_get_their_own_rows() -> None:
    batches, model, results = SharedBatches(max_windows=8), RecordingModel(), {}
    model.release.clear()
    first = call_in_thread(batches, model, "k", ["long1", "long2"], results)
    assert model.started.wait(5)
    others = [call_in_thread(batches, model, "k", [name], results) for name in ("a", "b", "c")]
    wait_for_waiting(batches, 3)
    model.release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert model.batches == [["long1", "long2"], ["a", "b", "c"]]
    assert results == {"long1": ["long1:4", "long2:4"], "a": ["a:2"], "b": ["b:2"], "c": ["c:2"]}  # its own rows back
    assert batches.stats.shared == 1 and batches.stats.largest == 3


def test_a_batch_never_exceeds_max_windows_and_takes_callers_in_arrival_order() -> None:
    batches, model, results = SharedBatches(max_windows=3), RecordingModel(), {}
    model.release.clear()
    busy = call_in_thread(batches, model, "k", ["busy"], results)
    assert model.started.wait(5)
    queued = []
    for names in (["a1", "a2"], ["b"], ["c1", "c2"], ["d"]):
        queued.append(call_in_thread(batches, model, "k", names, results))
        wait_for_waiting(batches, len(queued))
    model.release.set()
    for thread in [busy, *queued]:
        thread.join(10)
    # The oldest caller leads each batch; later callers join while they fit, whole.
    assert model.batches == [["busy"], ["a1", "a2", "b"], ["c1", "c2", "d"]]


def test_calls_of_different_keys_never_share_a_batch() -> None:
    batches, model, results = SharedBatches(max_windows=8), RecordingModel(), {}
    model.release.clear()
    busy = call_in_thread(batches, model, "encode", ["busy"], results)
    assert model.started.wait(5)
    queued = []
    for key, name in (("10s", "a"), ("30s", "b"), ("10s", "c")):
        queued.append(call_in_thread(batches, model, key, [name], results))
        wait_for_waiting(batches, len(queued))
    model.release.set()
    for thread in [busy, *queued]:
        thread.join(10)
    assert model.batches == [["busy"], ["a", "c"], ["b"]]


def test_requests_arriving_together_at_an_idle_model_are_gathered_into_one_batch() -> None:
    batches, model, results = SharedBatches(max_windows=8, gather_seconds=0.3), RecordingModel(), {}
    barrier = threading.Barrier(4)

    def client(name: str) -> None:
        batches.run("k", np.ones((1, 1)), [f"warm {name}"], model.run)  # the clients have used the model
        barrier.wait()
        results[name] = batches.run("k", np.ones((1, 1)), [name], model.run)

    threads = [threading.Thread(target=client, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(model.batches[-1]) == ["a", "b", "c", "d"] and len(results) == 4


def test_a_lone_client_never_waits_for_company() -> None:
    slept: list[float] = []
    batches, model = SharedBatches(max_windows=8, gather_seconds=5, sleep=slept.append), RecordingModel()
    for name in "abc":
        batches.run("k", np.ones((1, 1)), [name], model.run)
    assert slept == [] and model.batches == [["a"], ["b"], ["c"]]


def test_every_caller_in_a_failing_batch_gets_its_error_and_the_model_is_free_after() -> None:
    batches, results = SharedBatches(max_windows=8), {}
    model = RecordingModel()
    model.release.clear()

    def fail(rows: np.ndarray, extras: list[str]) -> list[str]:
        raise RuntimeError("bad batch")

    busy = call_in_thread(batches, model, "k", ["busy"], results)
    assert model.started.wait(5)
    waiting = [threading.Thread(target=lambda n=n: results.__setitem__(n, _raised(batches, n, fail))) for n in "ab"]
    for index, thread in enumerate(waiting, start=1):
        thread.start()
        wait_for_waiting(batches, index)
    model.release.set()
    for thread in [busy, *waiting]:
        thread.join(10)
    assert results["a"] == results["b"] == "bad batch"
    assert model.batches[-1] == ["busy"]  # the failing runs (the shared one, then each alone) were `fail`'s
    assert list(batches.run("k", np.ones((1, 1)), ["after"], model.run)) == ["after:1"]  # the model is free again


def _raised(batches: SharedBatches, name: str, run) -> str:
    with pytest.raises(RuntimeError) as caught:
        batches.run("k", np.ones((1, 1)), [name], run)
    return str(caught.value)


def test_a_call_that_must_not_wait_for_company_never_gathers() -> None:
    slept: list[float] = []
    batches, model = SharedBatches(max_windows=8, gather_seconds=5, sleep=slept.append), RecordingModel()
    other = threading.Thread(target=lambda: batches.run("k", np.ones((1, 1)), ["other"], model.run))
    other.start()
    other.join(10)  # another thread used the model a moment ago
    batches.run("k", np.ones((1, 1)), ["live turn"], model.run, wait_for_company=False)
    assert slept == []
    batches.run("k", np.ones((1, 1)), ["file window"], model.run)
    assert slept == [5]


def test_memory_is_handed_back_once_after_every_batch() -> None:
    released: list[int] = []  # how many batches had run each time memory was handed back
    model, results = RecordingModel(), {}
    batches = SharedBatches(max_windows=8, after_batch=lambda: released.append(len(model.batches)))
    model.release.clear()
    first = call_in_thread(batches, model, "k", ["first"], results)
    assert model.started.wait(5)
    joined = [call_in_thread(batches, model, "k", [name], results) for name in ("a", "b")]
    wait_for_waiting(batches, 2)
    model.release.set()
    for thread in [first, *joined]:
        thread.join(10)
    assert model.batches == [["first"], ["a", "b"]]
    assert released == [1, 2]  # once after each batch, not once per caller


def test_handing_freed_memory_back_is_safe_to_call_at_any_time() -> None:
    freed = [np.ones(1 << 10) for _ in range(1024)]  # 8 KB blocks: from the heap (128 KB and more are mmapped)
    del freed
    assert release_freed_memory() in (None, 0, 1)  # glibc's malloc_trim says 1 or 0; elsewhere nothing runs


class PoisonedModel(RecordingModel):
    """Fails any batch that holds the caller named `poison` (as one caller's windows could run the
    model out of memory), and can hold its first batch until told."""

    def run(self, rows: np.ndarray, extras: list[str]) -> list[str]:
        results = super().run(rows, extras)
        if "poison" in extras:
            raise RuntimeError("out of memory")
        return results


def test_when_a_shared_batch_fails_each_call_runs_again_alone_and_only_the_one_that_cannot_run_fails() -> None:
    batches, model, results = SharedBatches(max_windows=8), PoisonedModel(), {}
    model.release.clear()
    busy = call_in_thread(batches, model, "k", ["busy"], results)
    assert model.started.wait(5)
    queued = []
    for name in ("a", "poison", "b"):
        queued.append(call_in_thread(batches, model, "k", [name], results))
        wait_for_waiting(batches, len(queued))
    model.release.set()
    for thread in [busy, *queued]:
        thread.join(10)
    assert model.batches == [["busy"], ["a", "poison", "b"], ["a"], ["poison"], ["b"]]
    assert results["a"] == ["a:2"] and results["b"] == ["b:2"]
    assert isinstance(results["poison"], RuntimeError) and batches.stats.retried == 3


@pytest.mark.parametrize(
    "failure", [RuntimeError("CUDA failed with error out of memory"), RuntimeError("std::bad_alloc"), MemoryError()]
)
def test_the_model_running_out_of_memory_is_told_to_the_request_as_such(failure) -> None:
    def run(rows: np.ndarray, extras: list) -> list:
        raise failure

    with pytest.raises(OutOfMemory) as caught:
        SharedBatches(max_windows=8).run("k", np.ones((1, 1)), [None], memory_errors_named(run))
    assert caught.value.status == 503 and caught.value.code == "insufficient_memory"


def test_other_model_errors_pass_as_they_are() -> None:
    def run(rows: np.ndarray, extras: list) -> list:
        raise RuntimeError("unsupported shape")

    with pytest.raises(RuntimeError, match="unsupported shape"):
        SharedBatches(max_windows=8).run("k", np.ones((1, 1)), [None], memory_errors_named(run))
