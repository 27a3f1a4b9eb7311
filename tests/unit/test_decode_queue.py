"""The realtime decoder queue: one decoding at a time, in an inference slot, fair across sessions."""

from __future__ import annotations

import threading

import anyio
import pytest

from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import Audio
from app.services.realtime import DecodeQueue
from tests.conftest import until


class GatedTranscriber:
    """Records which session's decoding ran, in order; each waits until the test opens the gate."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.gate = threading.Semaphore(0)
        self.entered = 0  # decodings that have started (and wait at the gate, or are done)

    def decode(self, audio: Audio, request: UtteranceRequest) -> Hypothesis:
        self.entered += 1
        self.gate.acquire(timeout=10)
        self.order.append(request.model)  # the model name carries the caller's label here
        return Hypothesis(tokens=(), pieces=(), whole=(), language="en")


def request(label: str, *, final: bool) -> UtteranceRequest:
    return UtteranceRequest(model=label, final=final)


AUDIO = Audio(samples=None, duration=1.0)


@pytest.mark.anyio
async def test_a_session_with_many_finished_turns_does_not_starve_another_sessions_live_text():
    transcriber = GatedTranscriber()
    queue = DecodeQueue(transcriber)
    turns = {"A": 4, "C": 4, "D": 4, "B": 1}

    async def busy_session(name: str) -> None:  # one final after another, as a client that commits all the time
        for index in range(turns[name]):
            await queue.decode(AUDIO, request(f"{name}{index}", final=True), session=name)

    def settled(done: int) -> bool:
        """`done` decodings ended, the next one runs, and every session with turns left has queued one."""
        left = sum(1 for name, count in turns.items() if count > sum(label[0] == name for label in transcriber.order))
        return (
            len(transcriber.order) == done
            and transcriber.entered == min(done + 1, 13)
            and queue.waiting == max(0, left - 1)
        )

    async with anyio.create_task_group() as tasks:
        for name in ("A", "C", "D"):  # one client's three sessions: some final is always waiting
            tasks.start_soon(busy_session, name)
        await until(lambda: transcriber.entered == 1 and queue.waiting == 2)
        # B's live hypothesis arrives while the others are decoding.
        tasks.start_soon(lambda: queue.decode(AUDIO, request("B-live", final=False), session="B"))
        await until(lambda: queue.waiting == 3)
        for done in range(1, 14):
            transcriber.gate.release()
            await until(lambda done=done: settled(done))
    assert len(transcriber.order) == 13
    assert transcriber.order.index("B-live") <= 4, transcriber.order  # one round, not after all twelve finals


@pytest.mark.anyio
async def test_within_a_round_a_finished_turn_goes_before_a_live_hypothesis():
    transcriber = GatedTranscriber()
    queue = DecodeQueue(transcriber)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: queue.decode(AUDIO, request("first", final=False), session="A"))
        await until(lambda: transcriber.entered == 1)
        tasks.start_soon(lambda: queue.decode(AUDIO, request("live", final=False), session="B"))
        tasks.start_soon(lambda: queue.decode(AUDIO, request("final", final=True), session="C"))
        await until(lambda: queue.waiting == 2)
        for done in range(1, 4):
            transcriber.gate.release()
            await until(lambda done=done: len(transcriber.order) == done)
    assert transcriber.order == ["first", "final", "live"]


@pytest.mark.anyio
async def test_a_decoding_waits_for_an_inference_slot_held_by_a_file_transcription():
    transcriber = GatedTranscriber()
    slots = anyio.CapacityLimiter(1)
    queue = DecodeQueue(transcriber, limiter=slots)
    holder = object()
    await slots.acquire_on_behalf_of(holder)  # a file transcription has the one slot
    for _ in range(2):
        transcriber.gate.release()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: queue.decode(AUDIO, request("live", final=True), session="A"))
        await until(lambda: slots.statistics().tasks_waiting == 1)
        assert transcriber.order == [] and transcriber.entered == 0  # waiting for the slot
        slots.release_on_behalf_of(holder)
    assert transcriber.order == ["live"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
