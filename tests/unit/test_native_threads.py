"""on_own_thread: the work runs on a thread that has ended when the call returns."""

from __future__ import annotations

import threading

import pytest

from app.adapters.native_threads import on_own_thread


def test_the_work_runs_on_a_new_thread_that_has_ended_by_the_time_its_result_is_back():
    ran_on: list[threading.Thread] = []

    def work() -> str:
        ran_on.append(threading.current_thread())
        return "loaded"

    assert on_own_thread(work, name="load") == "loaded"
    assert ran_on[0] is not threading.current_thread()
    assert ran_on[0].name == "load"
    assert not ran_on[0].is_alive()


def test_the_works_failure_is_raised_to_the_caller():
    def work() -> None:
        raise OSError("no such model")

    with pytest.raises(OSError, match="no such model"):
        on_own_thread(work, name="load")


def test_a_result_of_none_is_returned_as_such():
    assert on_own_thread(lambda: None, name="load") is None
