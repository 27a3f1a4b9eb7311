"""One realtime transcription session: OpenAI's Realtime protocol over a live audio stream.

A session takes client events (already parsed by the WebSocket edge) and answers them. Its parts:
the incoming audio (intake.py: bounded, converted to 16 kHz and scored by a streaming VAD), the
turns (turns.py: with server VAD a turn starts and ends where the VAD says, otherwise the client
commits the buffer), their decoding (transcribing.py, through the DecodeQueue every session shares)
and the events sent about them (emission.py). The configuration is SessionConfig (config.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import numpy as np
import numpy.typing as npt

from app.domain.errors import DomainError
from app.domain.live import DELAYS, PauseStarted, SpeechStarted, SpeechStopped, ms
from app.domain.models import KnownSpeaker
from app.domain.ports.audio import LiveAudio
from app.schemas.realtime import (
    BufferClearedEvent,
    BufferCommittedEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    RealtimeErrorBody,
    RealtimeErrorEvent,
    RealtimeServerEvent,
    RealtimeSessionView,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
    SpeechStartedEvent,
    SpeechStoppedEvent,
    error_of,
)
from app.services.realtime.audio import SessionAudio
from app.services.realtime.config import RealtimeEventError, RealtimeLimits, SessionClosed, SessionConfig
from app.services.realtime.decode_queue import DecodeQueue
from app.services.realtime.emission import Emitter, Send
from app.services.realtime.intake import AudioIntake
from app.services.realtime.protocol import MediaAudio, SessionInput
from app.services.realtime.speakers import LiveSpeakers
from app.services.realtime.transcribing import TurnTranscriber
from app.services.realtime.turns import WINDOW_CUT_SECONDS, LiveItem, Turns

__all__ = ["KnownSpeakers", "RealtimeSession", "Send"]
# The voices enrolled under these names (the session's API key's), or a DomainError.
KnownSpeakers = Callable[[tuple[str, ...]], Awaitable[tuple[KnownSpeaker, ...]]]
MIN_COMMIT_MS = 100  # OpenAI refuses to commit less than this


class RealtimeSession:
    def __init__(
        self,
        *,
        session_id: str,
        live_audio: LiveAudio,
        decoder: DecodeQueue,
        check_model: Callable[[str | None], None],
        limits: RealtimeLimits,
        send: Send,
        speakers: LiveSpeakers,
        known_speakers: KnownSpeakers,
        default_language: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = session_id
        self.check_model = check_model
        self.known_speakers = known_speakers
        self.limits = limits
        self.config = SessionConfig(language=default_language)
        self.expires_at = int(time.time() + limits.max_session_seconds)
        # The buffer holds what may wait to be transcribed, plus the window a long turn is cut in.
        self.audio = SessionAudio(max(limits.max_buffer_seconds, WINDOW_CUT_SECONDS[1]) + WINDOW_CUT_SECONDS[1])
        self.intake = AudioIntake(live_audio, self.audio, limits, self.config.audio_format, clock)
        self.turns = Turns(self.audio, limits.max_pending_turns)
        self.turns.detect(self.config.turn_detection, 0)
        self.emitter = Emitter(session_id, send)
        self.transcriber = TurnTranscriber(
            session_id, self.turns, decoder, limits, self.emitter, lambda: self.config, speakers
        )

    async def serve(
        self,
        events: AsyncIterator[SessionInput],
        configured: SessionInput | None = None,
    ) -> None:
        """Run the session until the client leaves (the iterator ends) or a limit ends it: then it
        raises SessionClosed, after telling the client why in an `error` event. `configured`: a
        `session.update` taken right after `session.created` (a client secret's configuration)."""
        closed: SessionClosed | None = None
        await self.send(SessionCreatedEvent, session=self._view())
        if configured is not None:
            await self.handle(configured)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self.transcriber.run)
            try:
                with anyio.fail_after(self.limits.max_session_seconds):
                    await self._receive(events)
            except TimeoutError:
                closed = await self._closing(
                    "session_expired",
                    f"The session reached its maximum duration of {self.limits.max_session_seconds:g} seconds.",
                )
            except SessionClosed as exc:
                closed = exc
            finally:
                tasks.cancel_scope.cancel()
        if closed is not None:
            raise closed

    async def _receive(self, events: AsyncIterator[SessionInput]) -> None:
        iterator = events.__aiter__()
        while True:
            with anyio.move_on_after(self.limits.idle_timeout_seconds) as idle:
                try:
                    event = await iterator.__anext__()
                except StopAsyncIteration:
                    return
            if idle.cancelled_caught:
                raise await self._closing(
                    "idle_timeout", f"No event from the client for {self.limits.idle_timeout_seconds:g} seconds."
                )
            await self.handle(event)

    async def handle(self, event: SessionInput) -> None:
        if isinstance(event, RealtimeErrorBody):  # the edge could not parse it
            await self.send(RealtimeErrorEvent, error=event)
            return
        try:
            if isinstance(event, SessionUpdateEvent):
                await self._update(event)
            elif isinstance(event, InputAudioBufferAppendEvent):
                await self._append(event)
            elif isinstance(event, MediaAudio):
                await self._take(*await self.intake.take_samples(event.samples))
            elif isinstance(event, InputAudioBufferCommitEvent):
                await self._commit_by_client()
            elif isinstance(event, InputAudioBufferClearEvent):
                await self._clear()
        except RealtimeEventError as exc:
            await self.send(
                RealtimeErrorEvent, error=error_of(exc, None if isinstance(event, MediaAudio) else event.event_id)
            )

    async def send(self, event_type: type[RealtimeServerEvent], **fields: object) -> None:
        await self.emitter.send(event_type, **fields)

    async def _update(self, event: SessionUpdateEvent) -> None:
        config = self.config.updated(event.session, self.check_model)
        if config.audio_format != self.config.audio_format:
            if self.audio.received or self.turns.current is not None:
                raise RealtimeEventError(
                    "The input audio format cannot change once audio has been sent.",
                    param="session.audio.input.format.type",
                    code="invalid_value",
                )
            self.intake.change_format(config.audio_format)
        if config.known_speaker_names != self.config.known_speaker_names:
            try:
                known = await self.known_speakers(config.known_speaker_names)
            except DomainError as exc:
                raise RealtimeEventError(
                    exc.message, param="session.audio.input.transcription.known_speaker_names", code=exc.code
                ) from None
            self.transcriber.speakers.know(known)
        self.turns.agreement_gap = DELAYS[config.delay].gap  # for the turns to come
        if config.turn_detection != self.config.turn_detection:
            self.turns.detect(config.turn_detection, self.audio.received)
            if config.turn_detection is not None and self.turns.current is not None:
                self.turns.discard(self.turns.current)  # an open manual buffer is not a VAD turn
        self.config = config
        await self.send(SessionUpdatedEvent, session=self._view())

    async def _append(self, event: InputAudioBufferAppendEvent) -> None:
        await self._take(*await self.intake.take(event.audio))

    async def _take(self, samples: npt.NDArray[np.float32], probabilities: list[float]) -> None:
        if not len(samples):
            return
        self.audio.append(samples, probabilities)
        if self.turns.detector is not None:
            for turn_event in self.turns.detector.feed(probabilities):
                await self._on_turn_event(turn_event)
        elif self.turns.current is None:
            self.turns.open(self.audio.received - len(samples))
        self.turns.trim(self.config.prefix_padding_ms)  # between turns only the prefix padding is kept
        self.transcriber.wake()

    async def _on_turn_event(self, event: SpeechStarted | PauseStarted | SpeechStopped) -> None:
        if isinstance(event, SpeechStarted):
            item = self.turns.open(max(event.sample, self.audio.start))
            await self.send(SpeechStartedEvent, audio_start_ms=ms(item.start), item_id=item.id)
        elif isinstance(event, PauseStarted):
            self.transcriber.wake()  # decode what was said up to here now: the turn may be over
        elif self.turns.current is not None:
            item = self.turns.current
            await self.send(SpeechStoppedEvent, audio_end_ms=ms(event.sample), item_id=item.id)
            item.speech_end = event.speech_end
            await self._commit(item, event.sample)

    async def _commit_by_client(self) -> None:
        item = self.turns.current
        held = 0 if item is None else self.audio.received - item.start
        if item is None or ms(held) < MIN_COMMIT_MS:
            raise RealtimeEventError(
                f"Error committing input audio buffer: buffer too small. Expected at least {MIN_COMMIT_MS}ms of "
                f"audio, but buffer only has {ms(held)}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        full = self.turns.queue_full_error(self.config.transcribe)
        if full is not None:
            raise full
        if self.turns.detector is not None:
            self.turns.detector.restart_at(self.audio.received)
        await self._commit(item, self.audio.received)

    async def _commit(self, item: LiveItem, end: int) -> None:
        full = self.turns.queue_full_error(self.config.transcribe)
        if full is not None:  # a VAD turn while the queue is full: dropped, and the client told
            self.turns.discard(item)
            await self.send(RealtimeErrorEvent, error=error_of(full))
            return
        previous = self.turns.commit(item, end, transcribing=self.config.transcribe)
        await self.send(BufferCommittedEvent, item_id=item.id, previous_item_id=previous)
        await self.emitter.added(item, previous)
        self.transcriber.wake()

    async def _clear(self) -> None:
        if self.turns.current is not None:
            self.turns.discard(self.turns.current)
        if self.turns.detector is not None:
            self.turns.detector.restart_at(self.audio.received)
        self.turns.trim(self.config.prefix_padding_ms)
        await self.send(BufferClearedEvent)

    def _view(self) -> RealtimeSessionView:
        return self.config.view(self.id, self.expires_at)

    async def _closing(self, error_code: str, message: str) -> SessionClosed:
        await self.send(
            RealtimeErrorEvent, error=RealtimeErrorBody(type="invalid_request_error", code=error_code, message=message)
        )
        return SessionClosed(1000, message)
