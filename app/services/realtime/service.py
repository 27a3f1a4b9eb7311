"""Realtime sessions of the whole server: how many may be open, per key, and on which model."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.domain.model_policy import ModelPolicy
from app.domain.ports.audio import LiveAudio
from app.services.errors import TooManySessions
from app.services.realtime.config import RealtimeLimits
from app.services.realtime.decode_queue import DecodeQueue
from app.services.realtime.session import RealtimeSession, Send


class RealtimeService:
    """Opens sessions within REALTIME__MAX_SESSIONS; the WebSocket edge runs each one."""

    def __init__(
        self,
        *,
        live_audio: LiveAudio,
        decoder: DecodeQueue,
        limits: RealtimeLimits,
        model_policy: ModelPolicy | None = None,
        default_language: str | None = None,
    ) -> None:
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
            yield RealtimeSession(
                session_id=session_id,
                live_audio=self.live_audio,
                decoder=self.decoder,
                check_model=self._check_model,
                limits=self.limits,
                send=send,
                default_language=self.default_language,
            )
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
