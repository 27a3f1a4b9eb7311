"""OpenAI's client secrets: a backend holding a real API key mints a short-lived `ek_` key for a
browser, which opens realtime sessions with it (configured as the secret says) and nothing else."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from app.domain.models import ClientSecret
from app.domain.ports.secrets import ClientSecretStore
from app.services.errors import ApiKeyRefused

PREFIX = "ek_"
DEFAULT_SECONDS = 600  # OpenAI's default lifetime
MIN_SECONDS, MAX_SECONDS = 10, 7200  # OpenAI's bounds


def is_client_secret(key: str | None) -> bool:
    return key is not None and key.startswith(PREFIX)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ClientSecrets:
    def __init__(self, store: ClientSecretStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def create(self, owner: str, session: bytes, seconds: int = DEFAULT_SECONDS) -> tuple[str, int]:
        """A new secret acting for `owner` and opening sessions configured by `session` (JSON); its value
        (given out once) and when it expires (seconds since the epoch)."""
        value = PREFIX + secrets.token_urlsafe(32)
        expires_at = int(self.clock()) + seconds
        self.store.add(ClientSecret(_digest(value), owner, session, expires_at))
        return value, expires_at

    def redeem(self, value: str) -> ClientSecret:
        """The secret behind `value`; ApiKeyRefused when there is none or it expired."""
        found = self.store.get(_digest(value), self.clock())
        if found is None:
            raise ApiKeyRefused("This client secret is unknown or has expired: ask your backend for a new one.")
        return found
