"""A realtime session's limits and configuration: what `session.update` may change, and how."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

import msgspec

from app.domain.errors import DomainError, InvalidRequest
from app.domain.languages import validated_language
from app.domain.live import DEFAULT_DELAY, TurnDetection
from app.domain.models import DIARIZE_MODEL_ALIASES
from app.schemas.realtime import (
    Eagerness,
    NoiseReductionType,
    RealtimeAudio,
    RealtimeAudioFormat,
    RealtimeAudioInput,
    RealtimeFormatType,
    RealtimeNoiseReduction,
    RealtimeSessionUpdate,
    RealtimeSessionView,
    RealtimeTranscriptionConfig,
    RealtimeTurnDetection,
)

LOGPROBS = "item.input_audio_transcription.logprobs"
PARTIALS = "item.input_audio_transcription.partial"
# semantic_vad has no model here: its eagerness picks how long a silence ends the turn.
EAGERNESS_SILENCE_MS = {"low": 1200, "medium": 700, "auto": 700, "high": 350}


class RealtimeLimits(Protocol):
    """What sessions are held to: REALTIME__* (RealtimeSettings in app/config/settings.py, with the defaults)."""

    @property
    def max_sessions(self) -> int: ...
    @property
    def max_session_seconds(self) -> float: ...
    @property
    def idle_timeout_seconds(self) -> float: ...
    @property
    def max_append_bytes(self) -> int: ...
    @property
    def max_buffer_seconds(self) -> float: ...  # audio held and not yet transcribed, per session
    @property
    def decode_interval_seconds(self) -> float: ...
    @property
    def max_ahead_seconds(self) -> float: ...  # how far the audio received may run ahead of the session's clock
    @property
    def max_sessions_per_key(self) -> int: ...
    @property
    def max_pending_turns(self) -> int: ...  # committed turns waiting for their final decoding, per session


class RealtimeEventError(DomainError):
    """A client event the session cannot take; the session answers with `error` and goes on."""

    status = 400


class SessionClosed(Exception):
    """The session has to end: `reason` went to the client as an `error` event first."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SessionConfig:
    audio_format: RealtimeFormatType = "audio/pcm"
    noise_reduction: NoiseReductionType | None = None
    transcribe: bool = True
    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    turn_detection: TurnDetection | None = TurnDetection()
    semantic_eagerness: Eagerness | None = None
    logprobs: bool = False
    partials: bool = False
    known_speaker_names: tuple[str, ...] = ()  # our extension: enrolled voices segments may be named after
    delay: str = DEFAULT_DELAY  # what text waits for (domain/live.py's DELAYS)
    keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def diarize(self) -> bool:
        """Whether turns are told apart by speaker (`gpt-4o-transcribe-diarize`, as OpenAI's)."""
        return self.transcribe and (self.model or "").strip() in DIARIZE_MODEL_ALIASES

    @property
    def prefix_padding_ms(self) -> int:
        """Audio kept before a detected turn's start (none when the client commits turns)."""
        return self.turn_detection.prefix_padding_ms if self.turn_detection is not None else 0

    def view(self, session_id: str, expires_at: int) -> RealtimeSessionView:
        turn = None
        if self.turn_detection is not None:
            turn = RealtimeTurnDetection(
                type="semantic_vad" if self.semantic_eagerness else "server_vad",
                threshold=self.turn_detection.threshold,
                prefix_padding_ms=self.turn_detection.prefix_padding_ms,
                silence_duration_ms=self.turn_detection.silence_duration_ms,
                eagerness=self.semantic_eagerness,
            )
        return RealtimeSessionView(
            id=session_id,
            expires_at=expires_at,
            audio=RealtimeAudio(
                input=RealtimeAudioInput(
                    format=RealtimeAudioFormat(
                        type=self.audio_format, rate=24000 if self.audio_format == "audio/pcm" else None
                    ),
                    noise_reduction=RealtimeNoiseReduction(type=self.noise_reduction) if self.noise_reduction else None,
                    transcription=RealtimeTranscriptionConfig(
                        model=self.model or "whisper-1",
                        language=self.language,
                        prompt=self.prompt,
                        known_speaker_names=list(self.known_speaker_names) or msgspec.UNSET,
                        delay=cast(Any, self.delay),
                        keywords=list(self.keywords) or None,
                        languages=list(self.languages) or None,
                    )
                    if self.transcribe
                    else None,
                    turn_detection=turn,
                )
            ),
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
            config = replace(
                config, logprobs=LOGPROBS in (update.include or []), partials=PARTIALS in (update.include or [])
            )
        return config

    def _with_transcription(
        self, value: RealtimeTranscriptionConfig | None, check_model: Callable[[str | None], None]
    ) -> SessionConfig:
        if value is None:
            return replace(self, transcribe=False)
        param = "session.audio.input.transcription"
        try:
            language = validated_language(value.language, param=f"{param}.language")
            languages = tuple(
                dict.fromkeys(
                    filter(None, (validated_language(c, param=f"{param}.languages") for c in value.languages or ()))
                )
            )
            if language is not None and languages and language not in languages:
                raise InvalidRequest(
                    f"'language' is '{language}', which 'languages' does not list.", param=f"{param}.languages"
                )
            check_model(value.model)
        except DomainError as exc:
            raise RealtimeEventError(
                exc.message,
                param=exc.param if exc.param and exc.param.startswith("session") else f"{param}.model",
                code=exc.code,
            ) from None
        names = tuple(name.strip() for name in value.known_speaker_names or ())
        if len(set(names)) != len(names) or not all(names):
            raise RealtimeEventError(
                "`known_speaker_names` must be distinct, non-empty names.",
                param=f"{param}.known_speaker_names",
                code="invalid_value",
            )
        return replace(
            self,
            transcribe=True,
            model=value.model,
            language=language,
            prompt=value.prompt,
            known_speaker_names=names,
            delay=value.delay or DEFAULT_DELAY,
            keywords=tuple(k.strip() for k in value.keywords or () if k.strip()),
            languages=languages,
        )

    def _with_turn_detection(self, value: RealtimeTurnDetection | None) -> SessionConfig:
        if value is None:
            return replace(self, turn_detection=None, semantic_eagerness=None)
        defaults = TurnDetection()
        if value.type == "semantic_vad":
            eagerness = value.eagerness or "auto"
            return replace(
                self,
                semantic_eagerness=eagerness,
                turn_detection=TurnDetection(
                    threshold=defaults.threshold,
                    prefix_padding_ms=defaults.prefix_padding_ms,
                    silence_duration_ms=EAGERNESS_SILENCE_MS[eagerness],
                ),
            )
        return replace(
            self,
            semantic_eagerness=None,
            turn_detection=TurnDetection(
                threshold=value.threshold if value.threshold is not None else defaults.threshold,
                prefix_padding_ms=value.prefix_padding_ms
                if value.prefix_padding_ms is not None
                else defaults.prefix_padding_ms,
                silence_duration_ms=value.silence_duration_ms
                if value.silence_duration_ms is not None
                else defaults.silence_duration_ms,
            ),
        )
