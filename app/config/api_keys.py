"""The API keys a server accepts: API_KEY, API_KEYS_FILE and ADMIN_API_KEYS, read once."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.config.settings import Settings, SettingsError


@dataclass(frozen=True)
class ApiKeys:
    clients: dict[str, str] = field(default_factory=dict)  # key -> client name
    admins: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return bool(self.clients)

    def client_of(self, presented: str | None) -> str | None:
        """The client's name, comparing against every key in constant time (no early exit)."""
        found = None
        for key, name in self.clients.items():
            if _same(key, presented):
                found = name
        return found

    def is_admin(self, presented: str | None) -> bool:
        return any([_same(key, presented) for key in self.admins])  # a list: no early exit either


def _same(key: str, presented: str | None) -> bool:
    return hmac.compare_digest(key.encode(), (presented or "").encode())


def load_api_keys(settings: Settings) -> ApiKeys:
    clients: dict[str, str] = {}
    if settings.api_key:
        clients[settings.api_key] = "default"
    if settings.api_keys_file:
        try:
            loaded = json.loads(Path(settings.api_keys_file).expanduser().read_text())
        except (OSError, ValueError) as exc:
            raise SettingsError(f"API_KEYS_FILE could not be read as JSON {{key: client name}}: {exc}") from exc
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
        ):
            raise SettingsError("API_KEYS_FILE must be a JSON object of key -> client name.")
        clients.update(loaded)
    admins = frozenset(k.strip() for k in (settings.admin_api_keys or "").split(",") if k.strip())
    for key in admins:
        clients.setdefault(key, "admin")
    if settings.auth_required and not clients:
        raise SettingsError("AUTH_REQUIRED is true but no API_KEY, API_KEYS_FILE or ADMIN_API_KEYS is set.")
    return ApiKeys(clients=clients, admins=admins)
