"""The realtime decoder queue: one decoding at a time, in an inference slot, fair across sessions."""

from __future__ import annotations

import threading

import anyio
import pytest

from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import Audio
from app.services.realtime import DecodeQueue


class GatedTranscriber:
    """Records which session's decoding ran, in order; each waits until the test opens the gate."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.gate = threading.Semaphore(0)

    def decode(self, audio: Audio, request: UtteranceRequest) -> Hypothesis:
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

    async def busy_session(name: str) -> None:  # one final after another, as a client that commits all the time
        for index in range(4):
            await queue.decode(AUDIO, request(f"{name}{index}", final=True), session=name)

    async def live_session() -> None:
        await anyio.sleep(0.05)  # arrives while the others are decoding
        await queue.decode(AUDIO, request("B-live", final=False), session="B")

    async with anyio.create_task_group() as tasks:
        for name in ("A", "C", "D"):  # one client's three sessions: some final is always waiting
            tasks.start_soon(busy_session, name)
        tasks.start_soon(live_session)
        await anyio.sleep(0.1)
        for _ in range(13):
            transcriber.gate.release()
            await anyio.sleep(0.05)
    assert len(transcriber.order) == 13
    assert transcriber.order.index("B-live") <= 4, transcriber.order  # one round, not after all twelve finals


@pytest.mark.anyio
async def test_within_a_round_a_finished_turn_goes_before_a_live_hypothesis():
    transcriber = GatedTranscriber()
    queue = DecodeQueue(transcriber)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: queue.decode(AUDIO, request("first", final=False), session="A"))
        await anyio.sleep(0.05)
        tasks.start_soon(lambda: queue.decode(AUDIO, request("live", final=False), session="B"))
        tasks.start_soon(lambda: queue.decode(AUDIO, request("final", final=True), session="C"))
        await anyio.sleep(0.05)
        for _ in range(3):
            transcriber.gate.release()
            await anyio.sleep(0.05)
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
        await anyio.sleep(0.2)
        assert transcriber.order == []  # waiting for the slot
        slots.release_on_behalf_of(holder)
    assert transcriber.order == ["live"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
