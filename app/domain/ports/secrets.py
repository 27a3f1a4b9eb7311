"""Client secrets (OpenAI's ephemeral `ek_` keys): what a backend lets a browser open a realtime session with."""

from __future__ import annotations

from typing import Protocol

from app.domain.models import ClientSecret


class ClientSecretStore(Protocol):
    """Secrets by the digest of their value (the value itself is never stored), beside the jobs."""

    def add(self, secret: ClientSecret) -> None: ...

    def get(self, digest: str, now: float) -> ClientSecret | None:
        """The secret, or None when there is none or it expired by `now`."""
        ...
