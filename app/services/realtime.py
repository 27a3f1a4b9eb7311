"""Realtime transcription sessions: OpenAI's Realtime protocol over a live audio stream.

A session takes client events (already parsed by the WebSocket edge) and sends server events. Audio
is converted to 16 kHz as it arrives and fed to a streaming VAD; with server VAD, a turn starts and
ends where the VAD says, otherwise the client commits the buffer. While a turn grows, a decoder loop
re-decodes it every `decode_interval_seconds` and sends, as deltas, the words two hypotheses a
second of audio apart agree on (domain/live.py); when the turn ends, the rest follows and `completed` carries
the whole transcript, which the deltas join to exactly.

Every session decodes through one shared DecodeQueue: finished turns before live hypotheses, so a
busy server delays the live text, not the final one.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import anyio
import msgspec
import numpy as np
import structlog

from app.domain.audio import REALTIME_BYTES_PER_SECOND, SAMPLE_RATE
from app.domain.errors import DomainError, TooManySessions
from app.domain.languages import validated_language
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
from app.domain.model_policy import ModelPolicy
from app.domain.models import Audio
from app.domain.ports import LiveAudio, PcmStream, SpeechStream, UtteranceTranscriber
from app.schemas.realtime import (
    BufferClearedEvent,
    BufferCommittedEvent,
    DurationUsage,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    ItemAddedEvent,
    RealtimeAudio,
    RealtimeAudioFormat,
    RealtimeAudioInput,
    RealtimeClientEvent,
    RealtimeErrorBody,
    RealtimeErrorEvent,
    RealtimeItem,
    RealtimeNoiseReduction,
    RealtimeServerEvent,
    RealtimeSessionUpdate,
    RealtimeSessionView,
    RealtimeTranscriptionConfig,
    RealtimeTurnDetection,
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

logger = structlog.get_logger(__name__)

Send = Callable[[RealtimeServerEvent], Awaitable[None]]
LOGPROBS = "item.input_audio_transcription.logprobs"
PARTIALS = "item.input_audio_transcription.partial"
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
# semantic_vad has no model here: its eagerness picks how long a silence ends the turn.
EAGERNESS_SILENCE_MS = {"low": 1200, "medium": 700, "auto": 700, "high": 350}


@dataclass(frozen=True, slots=True)
class RealtimeLimits:
    max_sessions: int = 4
    max_session_seconds: float = 3600
    idle_timeout_seconds: float = 120
    max_append_bytes: int = 15 * 1024 * 1024
    max_buffer_seconds: float = 120  # audio held and not yet transcribed, per session
    decode_interval_seconds: float = 0.5
    max_ahead_seconds: float = 120  # how far the audio received may run ahead of the session's clock
    max_sessions_per_key: int = 2  # with API keys: one key's sessions, so one client cannot take them all
    max_pending_turns: int = 8  # committed turns waiting for their final decoding, per session


class RealtimeEventError(DomainError):
    """A client event the session cannot take; the session answers with `error` and goes on."""

    status = 400


class SessionClosed(Exception):
    """The session has to end: `reason` went to the client as an `error` event first."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# --- one decoder for every session ----------------------------------------------------------------


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


# --- a session's configuration --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionConfig:
    audio_format: str = "audio/pcm"
    noise_reduction: str | None = None
    transcribe: bool = True
    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    turn_detection: TurnDetection | None = TurnDetection()
    semantic_eagerness: str | None = None
    logprobs: bool = False
    partials: bool = False

    def view(self, session_id: str, expires_at: int) -> RealtimeSessionView:
        turn = None
        if self.turn_detection is not None:
            turn = RealtimeTurnDetection(
                type="semantic_vad" if self.semantic_eagerness else "server_vad",
                threshold=self.turn_detection.threshold, prefix_padding_ms=self.turn_detection.prefix_padding_ms,
                silence_duration_ms=self.turn_detection.silence_duration_ms, eagerness=self.semantic_eagerness)
        return RealtimeSessionView(
            id=session_id,
            expires_at=expires_at,
            audio=RealtimeAudio(input=RealtimeAudioInput(
                format=RealtimeAudioFormat(type=self.audio_format, rate=24000 if self.audio_format == "audio/pcm" else None),
                noise_reduction=RealtimeNoiseReduction(type=self.noise_reduction) if self.noise_reduction else None,
                transcription=RealtimeTranscriptionConfig(model=self.model or "whisper-1", language=self.language,
                                                          prompt=self.prompt) if self.transcribe else None,
                turn_detection=turn,
            )),
            include=[name for name, on in ((LOGPROBS, self.logprobs), (PARTIALS, self.partials)) if on],
        )

    def updated(self, update: RealtimeSessionUpdate, check_model: Callable[[str | None], None]) -> SessionConfig:
        """This configuration with `update` applied; RealtimeEventError (naming the param) for a bad value."""
        config = self
        audio_input = update.audio.input if update.audio is not msgspec.UNSET else msgspec.UNSET
        if audio_input is not msgspec.UNSET:
            if audio_input.format is not msgspec.UNSET:
                config = replace(config, audio_format=audio_input.format.type)
            if audio_input.noise_reduction is not msgspec.UNSET:
                reduction = audio_input.noise_reduction
                config = replace(config, noise_reduction=(reduction.type or "near_field") if reduction else None)
            if audio_input.transcription is not msgspec.UNSET:
                config = config._with_transcription(audio_input.transcription, check_model)
            if audio_input.turn_detection is not msgspec.UNSET:
                config = config._with_turn_detection(audio_input.turn_detection)
        if update.include is not msgspec.UNSET:
            config = replace(config, logprobs=LOGPROBS in (update.include or []),
                             partials=PARTIALS in (update.include or []))
        return config

    def _with_transcription(self, value: RealtimeTranscriptionConfig | None,
                            check_model: Callable[[str | None], None]) -> SessionConfig:
        if value is None:
            return replace(self, transcribe=False)
        param = "session.audio.input.transcription"
        try:
            language = validated_language(value.language, param=f"{param}.language")
            check_model(value.model)
        except DomainError as exc:
            raise RealtimeEventError(exc.message, param=exc.param if exc.param and exc.param.startswith("session")
                                     else f"{param}.model", code=exc.code) from None
        return replace(self, transcribe=True, model=value.model, language=language, prompt=value.prompt)

    def _with_turn_detection(self, value: RealtimeTurnDetection | None) -> SessionConfig:
        if value is None:
            return replace(self, turn_detection=None, semantic_eagerness=None)
        defaults = TurnDetection()
        if value.type == "semantic_vad":
            eagerness = value.eagerness or "auto"
            return replace(self, semantic_eagerness=eagerness, turn_detection=TurnDetection(
                threshold=defaults.threshold, prefix_padding_ms=defaults.prefix_padding_ms,
                silence_duration_ms=EAGERNESS_SILENCE_MS[eagerness]))
        return replace(self, semantic_eagerness=None, turn_detection=TurnDetection(
            threshold=value.threshold if value.threshold is not None else defaults.threshold,
            prefix_padding_ms=value.prefix_padding_ms if value.prefix_padding_ms is not None else defaults.prefix_padding_ms,
            silence_duration_ms=value.silence_duration_ms if value.silence_duration_ms is not None
            else defaults.silence_duration_ms))


# --- items -------------------------------------------------------------------------------------------


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



# --- the session ----------------------------------------------------------------------------------------


class RealtimeSession:
    def __init__(self, *, session_id: str, live_audio: LiveAudio, decoder: DecodeQueue,
                 check_model: Callable[[str | None], None], limits: RealtimeLimits, send: Send,
                 default_language: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
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
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # session sample of _buffer[0]
        self._received = 0  # session samples received so far
        # Every VAD frame the buffer may hold: a decoder that lags behind the audio still finds the
        # quietest cut among the frames of its window, not only among the newest ones.
        self._probabilities: deque[float] = deque(maxlen=int(
            (max(limits.max_buffer_seconds, WINDOW_CUT_SECONDS[1]) + WINDOW_CUT_SECONDS[1]) * SAMPLE_RATE
            / VAD_FRAME_SAMPLES) + 1)
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
                closed = await self._closing(1000, "session_expired", "The session reached its maximum duration of "
                                             f"{self.limits.max_session_seconds:g} seconds.")
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
                raise await self._closing(1000, "idle_timeout", "No event from the client for "
                                          f"{self.limits.idle_timeout_seconds:g} seconds.")
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
            if self._received or self.current is not None:
                raise RealtimeEventError("The input audio format cannot change once audio has been sent.",
                                         param="session.audio.input.format.type", code="invalid_value")
            self._pcm = self.live_audio.pcm_stream(config.audio_format)
        if config.turn_detection != self.config.turn_detection:
            self._detector = self._new_detector(self._received, config.turn_detection)
            if config.turn_detection is not None and self.current is not None:
                self._discard(self.current)  # an open manual buffer is not a VAD turn
        self.config = config
        await self.send(SessionUpdatedEvent, session=self._view())

    async def _append(self, event: InputAudioBufferAppendEvent) -> None:
        if len(event.audio) > self.limits.max_append_bytes * 4 // 3 + 4:
            raise RealtimeEventError(f"An append may carry at most {self.limits.max_append_bytes} bytes of audio.",
                                     param="audio", code="audio_too_large")
        try:
            data = base64.b64decode(event.audio, validate=True)
        except (binascii.Error, ValueError):
            raise RealtimeEventError("`audio` is not valid base64.", param="audio", code="invalid_value") from None
        # Bounded before any of it is converted: the append counts, and so does audio that ran ahead of
        # the clock (silence is trimmed as it comes, so the buffer alone would never fill).
        seconds = len(data) / REALTIME_BYTES_PER_SECOND.get(self.config.audio_format, SAMPLE_RATE * 2)
        limit = self.limits.max_buffer_seconds
        held = (self._received - self._buffer_start) / SAMPLE_RATE + seconds
        if held > limit:
            raise RealtimeEventError(
                f"With this append the session would hold {held:.0f} s of audio not yet transcribed (the limit is "
                f"{limit:g} s): send audio no faster than it can be transcribed, or commit.",
                param="audio", code="input_audio_buffer_full")
        ahead = self._received / SAMPLE_RATE + seconds - (self.clock() - self._opened)
        if ahead > self.limits.max_ahead_seconds:
            raise RealtimeEventError(
                f"With this append the session would have received {ahead:.0f} s more audio than time has passed "
                f"(the limit is {self.limits.max_ahead_seconds:g} s, REALTIME__MAX_AHEAD_SECONDS): send audio no "
                "faster than real time.", param="audio", code="input_audio_buffer_full")
        # Conversion and the VAD are CPU work: in a thread, so no session stalls the event loop.
        samples, probabilities = await anyio.to_thread.run_sync(self._convert, data)
        if not len(samples):
            return
        self._buffer = np.concatenate([self._buffer, samples])
        self._received += len(samples)
        self._probabilities.extend(probabilities)
        if self._detector is not None:
            for turn_event in self._detector.feed(probabilities):
                await self._on_turn_event(turn_event)
        elif self.current is None:
            self.current = self._new_item(self._received - len(samples))
        self._trim()  # between turns only the prefix padding is kept
        self._wake.set()

    def _convert(self, data: bytes) -> tuple[np.ndarray, list[float]]:
        samples = self._pcm.feed(data)
        return samples, (self._vad.feed(samples) if len(samples) else [])

    async def _on_turn_event(self, event: SpeechStarted | PauseStarted | SpeechStopped) -> None:
        if isinstance(event, SpeechStarted):
            self.current = self._new_item(max(event.sample, self._buffer_start))
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
        held = 0 if item is None else self._received - item.start
        if item is None or ms(held) < MIN_COMMIT_MS:
            raise RealtimeEventError(
                f"Error committing input audio buffer: buffer too small. Expected at least {MIN_COMMIT_MS}ms of "
                f"audio, but buffer only has {ms(held)}ms of audio.", code="input_audio_buffer_commit_empty")
        if self._queue_full():
            raise self._queue_full_error()
        if self._detector is not None:
            self._detector.restart_at(self._received)
        await self._commit(item, self._received)

    def _queue_full(self) -> bool:
        return self.config.transcribe and len(self.pending) >= self.limits.max_pending_turns

    def _queue_full_error(self) -> RealtimeEventError:
        return RealtimeEventError(f"{len(self.pending)} turns are waiting to be transcribed (the limit is "
                                  f"{self.limits.max_pending_turns}, REALTIME__MAX_PENDING_TURNS): commit less often.",
                                  code="too_many_pending_turns")

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
            self._detector.restart_at(self._received)
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
        if (self._received - item.window_start) / SAMPLE_RATE > WINDOW_CUT_SECONDS[1]:
            await self._finish_window(item, self._quietest_cut(item))
            return True
        new_audio = self._received - max(item.heard_until, item.window_start)
        interval = self.limits.decode_interval_seconds if item.sent else FIRST_WORDS_INTERVAL_SECONDS
        paused = self._detector is not None and self._detector.paused_at is not None
        if new_audio >= interval * SAMPLE_RATE or paused and new_audio > 0:
            # In a pause the turn may be over: decode as for the final text, which can then be sent at once.
            await self._hypothesize(item, final=paused)
            return True
        return False

    async def _hypothesize(self, item: LiveItem, *, final: bool) -> None:
        until = self._received
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
            await self.send(TranscriptionPartialEvent, item_id=item.id, content_index=0,
                            text=tail.lstrip() if not item.sent else tail)

    async def _finish(self, item: LiveItem) -> None:
        """The turn is committed: decode what is left of it and send `completed`."""
        assert item.end is not None
        heard_all = (item.agreement.previous is not None and item.heard_in_full
                     and item.heard_until >= (item.speech_end or item.end))
        if heard_all:
            last = item.agreement.previous
        else:
            last = await self._decode(item, item.window_start, item.end, final=True)
        if last is None:
            return
        await self._send_delta(item, item.agreement.finish(last))
        tokens = item.tokens
        logprobs = [_logprob(t) for t in tokens] if self.config.logprobs else None
        await self.send(TranscriptionCompletedEvent, item_id=item.id, content_index=0, transcript=item.sent,
                        usage=DurationUsage(seconds=round((item.end - item.start) / SAMPLE_RATE, 3)), logprobs=logprobs)

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
        request = UtteranceRequest(model=self.config.model or "", language=self.config.language or item.language,
                                   prompt=prompt, prefix=item.agreement.prefix, final=final,
                                   logprobs=self.config.logprobs)
        samples = self._buffer[start - self._buffer_start : end - self._buffer_start]
        try:
            return await self.decoder.decode(Audio(samples=samples, duration=len(samples) / SAMPLE_RATE), request,
                                             session=self.id)
        except Exception as exc:  # noqa: BLE001 - reported to the client as the item's failure
            if not final:
                logger.warning("live hypothesis failed", session=self.id, item=item.id, error=str(exc)[:300])
                return None
            item.failed = True
            known = isinstance(exc, DomainError)
            await self.send(TranscriptionFailedEvent, item_id=item.id, content_index=0, error=error_of(exc) if known
                            else internal_error("The server had an error while transcribing this item."))
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
        await self.send(TranscriptionDeltaEvent, item_id=item.id, content_index=0, delta=delta,
                        logprobs=[_logprob(t) for t in tokens] if self.config.logprobs else None)

    async def _add(self, item: LiveItem) -> None:
        if item.added:
            return
        item.added = True
        await self.send(ItemAddedEvent, item=RealtimeItem(id=item.id, status="completed" if item.end else "in_progress"),
                        previous_item_id=self._last_item_id)

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
        """The least speech-like VAD frame between 24 and 28 s into the window: a pause between words."""
        first, last = (item.window_start + int(s * SAMPLE_RATE) for s in WINDOW_CUT_SECONDS)
        frames_seen = self._received // VAD_FRAME_SAMPLES
        best, best_probability = last, 2.0
        for back, probability in enumerate(reversed(self._probabilities)):
            sample = (frames_seen - 1 - back) * VAD_FRAME_SAMPLES
            if sample < first:
                break
            if sample <= last and probability < best_probability:
                best, best_probability = sample, probability
        return best

    def _trim(self) -> None:
        """Drop audio nothing needs any more: before every open window, keeping what a turn heard in
        the next frames would reach back to (its prefix padding, from a frame not yet complete)."""
        padding = (self.config.turn_detection.prefix_padding_ms if self.config.turn_detection else 0) * SAMPLE_RATE // 1000
        keep = self._received - padding - VAD_FRAME_SAMPLES
        for item in (*self.pending, *([self.current] if self.current else [])):
            keep = min(keep, item.window_start)
        if keep > self._buffer_start:
            self._buffer = self._buffer[keep - self._buffer_start :].copy()
            self._buffer_start = keep

    def _view(self) -> RealtimeSessionView:
        return self.config.view(self.id, self.expires_at)

    async def _closing(self, code: int, error_code: str, message: str) -> SessionClosed:
        await self.send(RealtimeErrorEvent, error=RealtimeErrorBody(type="invalid_request_error", code=error_code,
                                                                     message=message))
        return SessionClosed(code, message)


def _logprob(token: StableToken) -> LogProb:
    return LogProb(token=token.piece, bytes=list(token.data), logprob=token.logprob if token.logprob is not None else 0.0)


class RealtimeService:
    """Opens sessions within REALTIME__MAX_SESSIONS; the WebSocket edge runs each one."""

    def __init__(self, *, live_audio: LiveAudio, decoder: DecodeQueue, limits: RealtimeLimits,
                 model_policy: ModelPolicy | None = None, default_language: str | None = None) -> None:
        self.live_audio = live_audio
        self.decoder = decoder
        self.limits = limits
        self.model_policy = model_policy or ModelPolicy(allowed=(), default="")
        self.default_language = default_language
        self.open_sessions = 0  # mutated on the event loop only
        self._per_owner: dict[str, int] = {}

    @asynccontextmanager
    async def session(self, send: Send, owner: str | None = None) -> AsyncIterator[RealtimeSession]:
        """A new session; `owner` is the API key's owner id (None without keys: only the total counts)."""
        if self.open_sessions >= self.limits.max_sessions:
            raise TooManySessions(self.limits.max_sessions)
        if owner is not None and self._per_owner.get(owner, 0) >= self.limits.max_sessions_per_key:
            raise TooManySessions(self.limits.max_sessions_per_key, per_key=True)
        self.open_sessions += 1
        if owner is not None:
            self._per_owner[owner] = self._per_owner.get(owner, 0) + 1
        session_id = f"sess_{secrets.token_hex(12)}"
        try:
            yield RealtimeSession(session_id=session_id, live_audio=self.live_audio,
                                  decoder=self.decoder, check_model=self._check_model, limits=self.limits,
                                  send=send, default_language=self.default_language)
        finally:
            self.open_sessions -= 1
            self.decoder.forget(session_id)
            if owner is not None:
                self._per_owner[owner] -= 1
                if not self._per_owner[owner]:
                    del self._per_owner[owner]

    def _check_model(self, name: str | None) -> None:
        """The operator's allow-list first (as HTTP answers 403), then whether the name exists."""
        self.model_policy.check(name)
        self.decoder.transcriber.check_model(name)
