"""Realtime sessions of the whole server: how many may be open, per key, and on which model."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from app.domain.errors import InvalidRequest
from app.domain.model_policy import ModelPolicy
from app.domain.models import KnownSpeaker
from app.domain.ports.audio import LiveAudio
from app.domain.ports.speakers import VoicePrinter
from app.schemas.realtime import RealtimeSessionUpdate, RealtimeSessionView
from app.services.errors import TooManySessions
from app.services.realtime.config import RealtimeLimits, SessionConfig
from app.services.realtime.decode_queue import DecodeQueue
from app.services.realtime.session import RealtimeSession, Send
from app.services.realtime.speakers import LiveSpeakers
from app.services.speakers import SpeakerService


class RealtimeService:
    """Opens sessions within REALTIME__MAX_SESSIONS; the WebSocket edge runs each one."""

    def __init__(
        self,
        *,
        live_audio: LiveAudio,
        decoder: DecodeQueue,
        limits: RealtimeLimits,
        voice_printer: VoicePrinter,
        speakers: SpeakerService,
        model_policy: ModelPolicy | None = None,
        default_language: str | None = None,
    ) -> None:
        self.live_audio = live_audio
        self.voice_printer = voice_printer
        self.speakers = speakers
        self.decoder = decoder
        self.limits = limits
        self.model_policy = model_policy or ModelPolicy(allowed=(), default="")
        self.default_language = default_language
        self.open_sessions = 0  # mutated on the event loop only
        self._per_owner: dict[str, int] = {}

    @asynccontextmanager
    async def session(
        self, send: Send, owner: str | None = None, registry_owner: str | None = None
    ) -> AsyncIterator[RealtimeSession]:
        """A new session; `owner` is the API key's owner id (None without keys: only the total counts),
        `registry_owner` whose enrolled voices `known_speaker_names` names (the same, or the anonymous
        owner without keys)."""
        if self.open_sessions >= self.limits.max_sessions:
            raise TooManySessions(self.limits.max_sessions)
        if owner is not None and self._per_owner.get(owner, 0) >= self.limits.max_sessions_per_key:
            raise TooManySessions(self.limits.max_sessions_per_key, per_key=True)
        self.open_sessions += 1
        if owner is not None:
            self._per_owner[owner] = self._per_owner.get(owner, 0) + 1
        session_id = f"sess_{secrets.token_hex(12)}"
        try:
            yield RealtimeSession(
                session_id=session_id,
                live_audio=self.live_audio,
                decoder=self.decoder,
                check_model=self._check_model,
                limits=self.limits,
                send=send,
                speakers=LiveSpeakers(self.voice_printer, self.decoder.limiter),
                known_speakers=functools.partial(self._known_speakers, registry_owner),
                default_language=self.default_language,
            )
        finally:
            self.open_sessions -= 1
            self.decoder.forget(session_id)
            if owner is not None:
                self._per_owner[owner] -= 1
                if not self._per_owner[owner]:
                    del self._per_owner[owner]

    async def _known_speakers(self, owner: str | None, names: tuple[str, ...]) -> tuple[KnownSpeaker, ...]:
        if not names:
            return ()
        if owner is None:
            raise InvalidRequest("This session has no speaker registry to name voices from.")
        return await anyio.to_thread.run_sync(self.speakers.known_speakers, names, (), owner)

    def configured(self, update: RealtimeSessionUpdate) -> RealtimeSessionView:
        """How a session opened with this configuration starts; RealtimeEventError for a value it refuses."""
        config = SessionConfig(language=self.default_language).updated(update, self._check_model)
        return config.view(f"sess_{secrets.token_hex(12)}", int(time.time() + self.limits.max_session_seconds))

    def _check_model(self, name: str | None) -> None:
        """The operator's allow-list first (as HTTP answers 403), then whether the name exists."""
        self.model_policy.check(name)
        self.decoder.transcriber.check_model(name)
