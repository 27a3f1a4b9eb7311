"""API keys (`Authorization: Bearer`), admin keys for model management, and the model allow-list."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from app.config.settings import Settings, SettingsError
from app.domain.models import DEFAULT_MODEL_ALIASES


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
        if not isinstance(loaded, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
            raise SettingsError("API_KEYS_FILE must be a JSON object of key -> client name.")
        clients.update(loaded)
    admins = frozenset(k.strip() for k in (settings.admin_api_keys or "").split(",") if k.strip())
    for key in admins:
        clients.setdefault(key, "admin")
    if settings.auth_required and not clients:
        raise SettingsError("AUTH_REQUIRED is true but no API_KEY, API_KEYS_FILE or ADMIN_API_KEYS is set.")
    return ApiKeys(clients=clients, admins=admins)


def bearer(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


ANONYMOUS = "anonymous"  # the owner of every job when no keys are configured


def owner_of(key: str) -> str:
    """A stable id for an API key that does not reveal it: jobs are owned per key, not per client name."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def api_key_guard(keys: ApiKeys):
    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if not keys.enabled:
            connection.state.owner = ANONYMOUS
            return
        presented = bearer(connection)
        if presented is None:
            raise NotAuthorizedException("Missing API key: send it as 'Authorization: Bearer <key>'.")
        if keys.client_of(presented) is None:
            raise NotAuthorizedException("Incorrect API key provided.")
        connection.state.owner = owner_of(presented)
    return guard


def admin_guard(keys: ApiKeys):
    """Model management: with any key configured, admin keys only (none configured: nobody); with no
    keys at all (a server on localhost), anyone, within the model allow-lists."""
    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if keys.enabled and not keys.is_admin(bearer(connection)):
            raise PermissionDeniedException("Loading and unloading models needs an admin key (ADMIN_API_KEYS).")
    return guard


def is_model_allowed(settings: Settings, name: str | None) -> bool:
    """MODELS__ALLOWED, when set, lists the only model names a client may use (besides the default)."""
    allowed = settings.models.allowed
    name = (name or "").strip()
    return not allowed or name in DEFAULT_MODEL_ALIASES or name == settings.whisper.model or name in allowed


def check_model_allowed(settings: Settings, name: str | None) -> None:
    if not is_model_allowed(settings, name):
        allowed = ", ".join(settings.models.allowed)
        raise PermissionDeniedException(f"Model '{(name or '')[:200]}' is not in this server's allowed models: {allowed}.")
