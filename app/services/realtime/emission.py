"""What a session sends about its turns: items, deltas, partials, `completed` and failures, as OpenAI's
Realtime server events, each with its own event id."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from app.domain.audio import SAMPLE_RATE
from app.domain.errors import DomainError
from app.domain.live import StableToken
from app.schemas.realtime import (
    DurationUsage,
    ItemAddedEvent,
    RealtimeItem,
    RealtimeServerEvent,
    TranscriptionCompletedEvent,
    TranscriptionDeltaEvent,
    TranscriptionFailedEvent,
    TranscriptionPartialEvent,
    TranscriptionSegmentEvent,
    error_of,
    internal_error,
)
from app.schemas.transcription import LogProb, TranscriptionLanguage
from app.services.realtime.turns import LiveItem

Send = Callable[[RealtimeServerEvent], Awaitable[None]]


class Emitter:
    def __init__(self, session_id: str, send: Send) -> None:
        self.session_id = session_id
        self._send = send
        self._events = itertools.count(1)
        self._segments = 0  # segment ids are unique in the session

    async def send(self, event_type: type[RealtimeServerEvent], **fields: object) -> None:
        await self._send(event_type(event_id=f"event_{self.session_id[5:13]}{next(self._events):06d}", **fields))

    async def added(self, item: LiveItem, previous_item_id: str | None) -> None:
        """`conversation.item.added`, once per item, before anything else is said of it."""
        if item.added:
            return
        item.added = True
        await self.send(
            ItemAddedEvent,
            item=RealtimeItem(id=item.id, status="completed" if item.end else "in_progress"),
            previous_item_id=previous_item_id,
        )

    async def delta(
        self, item: LiveItem, tokens: list[StableToken], *, logprobs: bool, previous_item_id: str | None
    ) -> None:
        text = "".join(t.piece for t in tokens)
        if not item.sent:
            text = text.lstrip()  # a transcript does not start with a space, so neither does its first delta
        if not text or item.failed:
            return
        item.sent += text
        await self.added(item, previous_item_id)
        await self.send(
            TranscriptionDeltaEvent,
            item_id=item.id,
            content_index=0,
            delta=text,
            logprobs=[_logprob(t) for t in tokens] if logprobs else None,
        )

    async def partial(self, item: LiveItem, tail: str, previous_item_id: str | None) -> None:
        """Our extension: what the newest decoding says beyond the deltas, which may still change."""
        await self.added(item, previous_item_id)
        await self.send(
            TranscriptionPartialEvent, item_id=item.id, content_index=0, text=tail.lstrip() if not item.sent else tail
        )

    async def completed(self, item: LiveItem, *, logprobs: bool, language: str | None) -> None:
        """The turn's final text: its finished windows' tokens (the deltas, or their correction)."""
        assert item.end is not None
        await self.send(
            TranscriptionCompletedEvent,
            item_id=item.id,
            content_index=0,
            transcript="".join(t.piece for t in item.final).strip(),
            usage=DurationUsage(seconds=round((item.end - item.start) / SAMPLE_RATE, 3)),
            logprobs=[_logprob(t) for t in item.final] if logprobs else None,
            languages=[TranscriptionLanguage(code=language)] if language else None,
        )

    async def segment(self, item: LiveItem, start: float, end: float, speaker: str, text: str) -> None:
        """One speaker's stretch of the turn (`gpt-4o-transcribe-diarize`)."""
        self._segments += 1
        await self.send(
            TranscriptionSegmentEvent,
            item_id=item.id,
            content_index=0,
            id=f"seg_{self._segments:04d}",
            start=start,
            end=end,
            speaker=speaker,
            text=text,
        )

    async def failed(self, item: LiveItem, error: Exception) -> None:
        body = (
            error_of(error)
            if isinstance(error, DomainError)
            else internal_error("The server had an error while transcribing this item.")
        )
        await self.send(TranscriptionFailedEvent, item_id=item.id, content_index=0, error=body)


def _logprob(token: StableToken) -> LogProb:
    return LogProb(
        token=token.piece, bytes=list(token.data), logprob=token.logprob if token.logprob is not None else 0.0
    )
