"""One decoder for every realtime session, shared fairly and inside the server's inference slots."""

from __future__ import annotations

import heapq
import itertools

import anyio

from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import Audio
from app.domain.ports.transcription import UtteranceTranscriber


class DecodeQueue:
    """Runs one decoding at a time (more would only share the same cores), fairly across sessions.

    Each decoding also holds one of the server's inference slots (MAX_CONCURRENT_TRANSCRIPTIONS),
    like a file transcription. The order is start-time fair queueing: a session's next decoding
    is tagged one round after its last, so a session with many finished turns cannot keep the
    others' live text waiting; within a round, finished turns go before live hypotheses.
    """

    FINAL, LIVE = 0, 1

    def __init__(self, transcriber: UtteranceTranscriber, limiter: anyio.CapacityLimiter | None = None) -> None:
        self.transcriber = transcriber
        self.limiter = limiter or anyio.CapacityLimiter(1)
        self._busy = False
        self._waiting: list[tuple[int, int, int, anyio.Event]] = []
        self._order = itertools.count()
        self._round = 0  # the tag of the decoding that started last
        self._last_tag: dict[str, int] = {}  # per session

    async def decode(self, audio: Audio, request: UtteranceRequest, session: str = "") -> Hypothesis:
        tag = max(self._round, self._last_tag.get(session, 0)) + 1
        self._last_tag[session] = tag
        await self._acquire(tag, self.FINAL if request.final else self.LIVE)
        try:
            async with self.limiter:
                return await anyio.to_thread.run_sync(self.transcriber.decode, audio, request)
        finally:
            self._release()

    @property
    def waiting(self) -> int:
        """Decodings waiting for their turn (not the one running)."""
        return len(self._waiting)

    def forget(self, session: str) -> None:
        self._last_tag.pop(session, None)

    async def _acquire(self, tag: int, priority: int) -> None:
        if not self._busy:
            self._busy, self._round = True, tag
            return
        waiter = (tag, priority, next(self._order), anyio.Event())
        heapq.heappush(self._waiting, waiter)
        try:
            await waiter[3].wait()
        except BaseException:
            if waiter[3].is_set():  # handed the turn just as it was cancelled: pass it on
                self._release()
            else:
                self._waiting.remove(waiter)
                heapq.heapify(self._waiting)
            raise

    def _release(self) -> None:
        if self._waiting:
            tag, _, _, ready = heapq.heappop(self._waiting)
            self._round = tag
            ready.set()  # still busy: the turn goes to the next waiter
        else:
            self._busy = False
