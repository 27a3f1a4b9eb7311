"""One realtime transcription session: OpenAI's Realtime protocol over a live audio stream.

A session takes client events (already parsed by the WebSocket edge) and sends server events. Audio
is converted to 16 kHz as it arrives and fed to a streaming VAD; with server VAD, a turn starts and
ends where the VAD says, otherwise the client commits the buffer. While a turn grows, a decoder loop
re-decodes it every `decode_interval_seconds` and sends, as deltas, the words two hypotheses a
second of audio apart agree on (domain/live.py); when the turn ends, the rest follows and `completed`
carries the whole transcript, which the deltas join to exactly. The audio itself is kept by
SessionAudio (audio.py), the configuration by SessionConfig (config.py); decodings go through the
shared DecodeQueue (decode_queue.py).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import numpy as np
import structlog

from app.domain.audio import REALTIME_BYTES_PER_SECOND, SAMPLE_RATE
from app.domain.errors import DomainError
from app.domain.live import (
    VAD_FRAME_SAMPLES,
    Agreement,
    Hypothesis,
    PauseStarted,
    SpeechStarted,
    SpeechStopped,
    StableToken,
    TurnDetection,
    TurnDetector,
    UtteranceRequest,
    ms,
)
from app.domain.models import Audio
from app.domain.ports import LiveAudio, PcmStream, SpeechStream
from app.schemas.realtime import (
    BufferClearedEvent,
    BufferCommittedEvent,
    DurationUsage,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    ItemAddedEvent,
    RealtimeClientEvent,
    RealtimeErrorBody,
    RealtimeErrorEvent,
    RealtimeItem,
    RealtimeServerEvent,
    RealtimeSessionView,
    SessionCreatedEvent,
    SessionUpdateEvent,
    SessionUpdatedEvent,
    SpeechStartedEvent,
    SpeechStoppedEvent,
    TranscriptionCompletedEvent,
    TranscriptionDeltaEvent,
    TranscriptionFailedEvent,
    TranscriptionPartialEvent,
    error_of,
    internal_error,
)
from app.schemas.transcription import LogProb
from app.services.realtime.audio import SessionAudio
from app.services.realtime.config import RealtimeEventError, RealtimeLimits, SessionClosed, SessionConfig
from app.services.realtime.decode_queue import DecodeQueue

logger = structlog.get_logger(__name__)
# An append is converted this many bytes at a time (10 s of `audio/pcm`, 40 s of G.711).
CONVERT_PIECE_BYTES = 480_000

Send = Callable[[RealtimeServerEvent], Awaitable[None]]
MIN_COMMIT_MS = 100  # OpenAI refuses to commit less than this
# A long turn is finished window by window, cut at the quietest VAD frame between these marks: each
# live decoding then reads at most the last window (its cost grows with the audio), and the window
# before passes its words on as context.
WINDOW_CUT_SECONDS = (10.0, 15.0)
# A turn's language, when the session does not name one, is settled by a detection this sure of
# itself or else the one made on this much audio; until then nothing of the turn is sent (on a second
# of audio, two detections in a row can agree on the wrong language).
LANGUAGE_CONFIDENCE = 0.8
LANGUAGE_AUDIO_SECONDS = 3.0
# Until a turn's first words are out, it is decoded again as soon as this much audio has come.
FIRST_WORDS_INTERVAL_SECONDS = 0.2
# What earlier windows of the same turn said, as the decoder's prompt. Not earlier turns: Whisper
# given a finished sentence as its prompt tends to repeat it over unclear audio.
PROMPT_CONTEXT_CHARS = 200


@dataclass(slots=True)
class LiveItem:
    """One turn (a conversation item): its audio span in session samples and what was sent of it."""

    id: str
    start: int
    end: int | None = None  # set when committed
    speech_end: int | None = None  # server VAD: the end of the last speech frame
    window_start: int = 0  # the Whisper window being decoded now starts here
    agreement: Agreement = field(default_factory=Agreement)
    heard_until: int = 0  # the audio `agreement.previous` was decoded from ends here
    heard_in_full: bool = False  # ... and it was decoded as a final one is (the full beam)
    language: str | None = None
    earlier_windows: list[StableToken] = field(default_factory=list)
    sent: str = ""  # the deltas so far, joined: `completed` carries exactly this
    added: bool = False
    failed: bool = False

    def __post_init__(self) -> None:
        self.window_start = self.start

    @property
    def tokens(self) -> list[StableToken]:
        return [*self.earlier_windows, *self.agreement.stable]


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
        default_language: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = session_id
        self.live_audio = live_audio
        self.decoder = decoder
        self.check_model = check_model
        self.limits = limits
        self._send = send
        self.clock = clock
        self.config = SessionConfig(language=default_language)
        self.expires_at = int(time.time() + limits.max_session_seconds)
        self._opened = clock()
        self._pcm: PcmStream = live_audio.pcm_stream(self.config.audio_format)
        self._vad: SpeechStream = live_audio.speech_stream()
        self._detector = self._new_detector(0, self.config.turn_detection)
        self.audio = SessionAudio(max(limits.max_buffer_seconds, WINDOW_CUT_SECONDS[1]) + WINDOW_CUT_SECONDS[1])
        self.current: LiveItem | None = None
        self.pending: deque[LiveItem] = deque()
        self._last_item_id: str | None = None
        self._wake = anyio.Event()
        self._events = itertools.count(1)

    # --- the edge's entry points ---

    async def serve(self, events: AsyncIterator[RealtimeClientEvent | RealtimeErrorBody]) -> None:
        """Run the session until the client leaves (the iterator ends) or a limit ends it: then it
        raises SessionClosed, after telling the client why in an `error` event."""
        closed: SessionClosed | None = None
        await self.send(SessionCreatedEvent, session=self._view())
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._transcribe_forever)
            try:
                with anyio.fail_after(self.limits.max_session_seconds):
                    await self._receive(events)
            except TimeoutError:
                closed = await self._closing(
                    1000,
                    "session_expired",
                    f"The session reached its maximum duration of {self.limits.max_session_seconds:g} seconds.",
                )
            except SessionClosed as exc:
                closed = exc
            finally:
                tasks.cancel_scope.cancel()
        if closed is not None:
            raise closed

    async def _receive(self, events: AsyncIterator[RealtimeClientEvent | RealtimeErrorBody]) -> None:
        iterator = events.__aiter__()
        while True:
            with anyio.move_on_after(self.limits.idle_timeout_seconds) as idle:
                try:
                    event = await iterator.__anext__()
                except StopAsyncIteration:
                    return
            if idle.cancelled_caught:
                raise await self._closing(
                    1000, "idle_timeout", f"No event from the client for {self.limits.idle_timeout_seconds:g} seconds."
                )
            await self.handle(event)

    async def handle(self, event: RealtimeClientEvent | RealtimeErrorBody) -> None:
        if isinstance(event, RealtimeErrorBody):  # the edge could not parse it
            await self.send(RealtimeErrorEvent, error=event)
            return
        try:
            if isinstance(event, SessionUpdateEvent):
                await self._update(event)
            elif isinstance(event, InputAudioBufferAppendEvent):
                await self._append(event)
            elif isinstance(event, InputAudioBufferCommitEvent):
                await self._commit_by_client(event)
            elif isinstance(event, InputAudioBufferClearEvent):
                await self._clear()
        except RealtimeEventError as exc:
            await self.send(RealtimeErrorEvent, error=error_of(exc, event.event_id))

    async def send(self, event_type: type[RealtimeServerEvent], **fields: object) -> None:
        await self._send(event_type(event_id=f"event_{self.id[5:13]}{next(self._events):06d}", **fields))

    # --- client events ---

    async def _update(self, event: SessionUpdateEvent) -> None:
        config = self.config.updated(event.session, self.check_model)
        if config.audio_format != self.config.audio_format:
            if self.audio.received or self.current is not None:
                raise RealtimeEventError(
                    "The input audio format cannot change once audio has been sent.",
                    param="session.audio.input.format.type",
                    code="invalid_value",
                )
            self._pcm = self.live_audio.pcm_stream(config.audio_format)
        if config.turn_detection != self.config.turn_detection:
            self._detector = self._new_detector(self.audio.received, config.turn_detection)
            if config.turn_detection is not None and self.current is not None:
                self._discard(self.current)  # an open manual buffer is not a VAD turn
        self.config = config
        await self.send(SessionUpdatedEvent, session=self._view())

    async def _append(self, event: InputAudioBufferAppendEvent) -> None:
        if len(event.audio) > self.limits.max_append_bytes * 4 // 3 + 4:
            raise RealtimeEventError(
                f"An append may carry at most {self.limits.max_append_bytes} bytes of audio.",
                param="audio",
                code="audio_too_large",
            )
        # Bounded before any of it is decoded: the append counts, and so does audio that ran ahead of
        # the clock (silence is trimmed as it comes, so the buffer alone would never fill).
        seconds = _decoded_size(event.audio) / REALTIME_BYTES_PER_SECOND.get(self.config.audio_format, SAMPLE_RATE * 2)
        limit = self.limits.max_buffer_seconds
        held = self.audio.held_seconds() + seconds
        if held > limit:
            raise RealtimeEventError(
                f"With this append the session would hold {held:.0f} s of audio not yet transcribed (the limit is "
                f"{limit:g} s): send audio no faster than it can be transcribed, or commit.",
                param="audio",
                code="input_audio_buffer_full",
            )
        ahead = self.audio.received / SAMPLE_RATE + seconds - (self.clock() - self._opened)
        if ahead > self.limits.max_ahead_seconds:
            raise RealtimeEventError(
                f"With this append the session would have received {ahead:.0f} s more audio than time has passed "
                f"(the limit is {self.limits.max_ahead_seconds:g} s, REALTIME__MAX_AHEAD_SECONDS): send audio no "
                "faster than real time.",
                param="audio",
                code="input_audio_buffer_full",
            )
        # Base64, conversion and the VAD are CPU work: in a thread, so no session stalls the event loop.
        samples, probabilities = await anyio.to_thread.run_sync(self._convert, event.audio)
        if not len(samples):
            return
        self.audio.append(samples, probabilities)
        if self._detector is not None:
            for turn_event in self._detector.feed(probabilities):
                await self._on_turn_event(turn_event)
        elif self.current is None:
            self.current = self._new_item(self.audio.received - len(samples))
        self._trim()  # between turns only the prefix padding is kept
        self._wake.set()

    def _convert(self, encoded: str) -> tuple[np.ndarray, list[float]]:
        """The append's 16 kHz samples and their speech probabilities, converted piece by piece: the
        working memory of the resampler and the VAD stays that of one piece, however large the append."""
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise RealtimeEventError("`audio` is not valid base64.", param="audio", code="invalid_value") from None
        samples: list[np.ndarray] = []
        probabilities: list[float] = []
        for start in range(0, len(data), CONVERT_PIECE_BYTES):
            piece = self._pcm.feed(data[start : start + CONVERT_PIECE_BYTES])
            if len(piece):
                samples.append(piece)
                probabilities += self._vad.feed(piece)
        return (np.concatenate(samples) if samples else np.zeros(0, np.float32)), probabilities

    async def _on_turn_event(self, event: SpeechStarted | PauseStarted | SpeechStopped) -> None:
        if isinstance(event, SpeechStarted):
            self.current = self._new_item(max(event.sample, self.audio.start))
            await self.send(SpeechStartedEvent, audio_start_ms=ms(self.current.start), item_id=self.current.id)
        elif isinstance(event, PauseStarted):
            self._wake.set()  # decode what was said up to here now: the turn may be over
        elif self.current is not None:
            item = self.current
            await self.send(SpeechStoppedEvent, audio_end_ms=ms(event.sample), item_id=item.id)
            item.speech_end = event.speech_end
            await self._commit(item, event.sample)

    async def _commit_by_client(self, event: InputAudioBufferCommitEvent) -> None:
        item = self.current
        held = 0 if item is None else self.audio.received - item.start
        if item is None or ms(held) < MIN_COMMIT_MS:
            raise RealtimeEventError(
                f"Error committing input audio buffer: buffer too small. Expected at least {MIN_COMMIT_MS}ms of "
                f"audio, but buffer only has {ms(held)}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        if self._queue_full():
            raise self._queue_full_error()
        if self._detector is not None:
            self._detector.restart_at(self.audio.received)
        await self._commit(item, self.audio.received)

    def _queue_full(self) -> bool:
        return self.config.transcribe and len(self.pending) >= self.limits.max_pending_turns

    def _queue_full_error(self) -> RealtimeEventError:
        return RealtimeEventError(
            f"{len(self.pending)} turns are waiting to be transcribed (the limit is "
            f"{self.limits.max_pending_turns}, REALTIME__MAX_PENDING_TURNS): commit less often.",
            code="too_many_pending_turns",
        )

    async def _commit(self, item: LiveItem, end: int) -> None:
        if self._queue_full():  # a VAD turn while the queue is full: dropped, and the client told
            self._discard(item)
            await self.send(RealtimeErrorEvent, error=error_of(self._queue_full_error()))
            return
        item.end = end
        self.current = None
        await self.send(BufferCommittedEvent, item_id=item.id, previous_item_id=self._last_item_id)
        await self._add(item)
        self._last_item_id = item.id
        if self.config.transcribe:
            self.pending.append(item)
        self._wake.set()

    async def _clear(self) -> None:
        if self.current is not None:
            self._discard(self.current)
        if self._detector is not None:
            self._detector.restart_at(self.audio.received)
        self._trim()
        await self.send(BufferClearedEvent)

    def _discard(self, item: LiveItem) -> None:
        self.current = None
        item.failed = True  # a live decoding of it still in flight sends nothing

    # --- transcription ---

    async def _transcribe_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            while await self._step():
                pass

    async def _step(self) -> bool:
        """Do the most urgent piece of decoding; False when there is none."""
        if self.pending:
            item = self.pending[0]
            await self._finish(item)
            self.pending.popleft()
            self._trim()
            return True
        item = self.current
        if item is None or not self.config.transcribe:
            return False
        if (self.audio.received - item.window_start) / SAMPLE_RATE > WINDOW_CUT_SECONDS[1]:
            await self._finish_window(item, self._quietest_cut(item))
            return True
        new_audio = self.audio.received - max(item.heard_until, item.window_start)
        interval = self.limits.decode_interval_seconds if item.sent else FIRST_WORDS_INTERVAL_SECONDS
        paused = self._detector is not None and self._detector.paused_at is not None
        if new_audio >= interval * SAMPLE_RATE or paused and new_audio > 0:
            # In a pause the turn may be over: decode as for the final text, which can then be sent at once.
            await self._hypothesize(item, final=paused)
            return True
        return False

    async def _hypothesize(self, item: LiveItem, *, final: bool) -> None:
        until = self.audio.received
        hypothesis = await self._decode(item, item.window_start, until, final=final)
        if hypothesis is None or item.failed or hypothesis.repetitive:
            return
        item.heard_until, item.heard_in_full = until, final
        if item.language is None and not self.config.language:
            heard = (until - item.window_start) / SAMPLE_RATE
            if hypothesis.language_probability < LANGUAGE_CONFIDENCE and heard < LANGUAGE_AUDIO_SECONDS:
                return
            item.language = hypothesis.language
        await self._send_delta(item, item.agreement.offer(hypothesis, until))
        if self.config.partials and item.agreement.previous is not None and item.end is None:
            tail = item.agreement.previous.text
            await self._add(item)
            await self.send(
                TranscriptionPartialEvent,
                item_id=item.id,
                content_index=0,
                text=tail.lstrip() if not item.sent else tail,
            )

    async def _finish(self, item: LiveItem) -> None:
        """The turn is committed: decode what is left of it and send `completed`."""
        assert item.end is not None
        heard_all = (
            item.agreement.previous is not None
            and item.heard_in_full
            and item.heard_until >= (item.speech_end or item.end)
        )
        if heard_all:
            last = item.agreement.previous
        else:
            last = await self._decode(item, item.window_start, item.end, final=True)
        if last is None:
            return
        await self._send_delta(item, item.agreement.finish(last))
        tokens = item.tokens
        logprobs = [_logprob(t) for t in tokens] if self.config.logprobs else None
        await self.send(
            TranscriptionCompletedEvent,
            item_id=item.id,
            content_index=0,
            transcript=item.sent,
            usage=DurationUsage(seconds=round((item.end - item.start) / SAMPLE_RATE, 3)),
            logprobs=logprobs,
        )

    async def _finish_window(self, item: LiveItem, cut: int) -> None:
        """A turn outgrew Whisper's window: the window ends at `cut`, its text is final, a new one begins."""
        last = await self._decode(item, item.window_start, cut, final=True)
        if last is not None:
            await self._send_delta(item, item.agreement.finish(last))
        item.earlier_windows.extend(item.agreement.stable)
        item.agreement.restart()
        item.window_start = item.heard_until = cut
        self._trim()

    async def _decode(self, item: LiveItem, start: int, end: int, *, final: bool) -> Hypothesis | None:
        context = "".join(t.piece for t in item.earlier_windows).strip()[-PROMPT_CONTEXT_CHARS:]
        prompt = " ".join(p for p in (self.config.prompt, context) if p) or None
        request = UtteranceRequest(
            model=self.config.model or "",
            language=self.config.language or item.language,
            prompt=prompt,
            prefix=item.agreement.prefix,
            final=final,
            logprobs=self.config.logprobs,
        )
        samples = self.audio.between(start, end)
        try:
            return await self.decoder.decode(
                Audio(samples=samples, duration=len(samples) / SAMPLE_RATE), request, session=self.id
            )
        except Exception as exc:  # noqa: BLE001 - reported to the client as the item's failure
            if not final:
                logger.warning("live hypothesis failed", session=self.id, item=item.id, error=str(exc)[:300])
                return None
            item.failed = True
            known = isinstance(exc, DomainError)
            await self.send(
                TranscriptionFailedEvent,
                item_id=item.id,
                content_index=0,
                error=error_of(exc)
                if known
                else internal_error("The server had an error while transcribing this item."),
            )
            if not known:
                logger.exception("realtime transcription failed", session=self.id, item=item.id)
            return None

    async def _send_delta(self, item: LiveItem, tokens: list[StableToken]) -> None:
        delta = "".join(t.piece for t in tokens)
        if not item.sent:
            delta = delta.lstrip()  # a transcript does not start with a space, so neither does its first delta
        if not delta or item.failed:
            return
        item.sent += delta
        await self._add(item)
        await self.send(
            TranscriptionDeltaEvent,
            item_id=item.id,
            content_index=0,
            delta=delta,
            logprobs=[_logprob(t) for t in tokens] if self.config.logprobs else None,
        )

    async def _add(self, item: LiveItem) -> None:
        if item.added:
            return
        item.added = True
        await self.send(
            ItemAddedEvent,
            item=RealtimeItem(id=item.id, status="completed" if item.end else "in_progress"),
            previous_item_id=self._last_item_id,
        )

    # --- audio bookkeeping ---

    def _new_item(self, start: int) -> LiveItem:
        return LiveItem(id=f"item_{secrets.token_hex(10)}", start=start, heard_until=start)

    @staticmethod
    def _new_detector(at: int, settings: TurnDetection | None) -> TurnDetector | None:
        if settings is None:
            return None
        detector = TurnDetector(settings, frames=at // VAD_FRAME_SAMPLES)
        detector.restart_at(at)
        return detector

    def _quietest_cut(self, item: LiveItem) -> int:
        """The least speech-like VAD frame 10 to 15 s into the window: a pause between words."""
        first, last = (item.window_start + int(s * SAMPLE_RATE) for s in WINDOW_CUT_SECONDS)
        return self.audio.quietest_frame(first, last)

    def _trim(self) -> None:
        """Drop audio nothing needs any more: before every open window, keeping what a turn heard in
        the next frames would reach back to (its prefix padding, from a frame not yet complete)."""
        padding = (
            (self.config.turn_detection.prefix_padding_ms if self.config.turn_detection else 0) * SAMPLE_RATE // 1000
        )
        keep = self.audio.received - padding - VAD_FRAME_SAMPLES
        for item in (*self.pending, *([self.current] if self.current else [])):
            keep = min(keep, item.window_start)
        self.audio.drop_before(keep)

    def _view(self) -> RealtimeSessionView:
        return self.config.view(self.id, self.expires_at)

    async def _closing(self, code: int, error_code: str, message: str) -> SessionClosed:
        await self.send(
            RealtimeErrorEvent, error=RealtimeErrorBody(type="invalid_request_error", code=error_code, message=message)
        )
        return SessionClosed(code, message)


def _logprob(token: StableToken) -> LogProb:
    return LogProb(
        token=token.piece, bytes=list(token.data), logprob=token.logprob if token.logprob is not None else 0.0
    )


def _decoded_size(encoded: str) -> int:
    """The bytes a base64 text decodes to, without decoding it (an invalid one is refused when decoded)."""
    return len(encoded) * 3 // 4 - (2 if encoded.endswith("==") else 1 if encoded.endswith("=") else 0)
