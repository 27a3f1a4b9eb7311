"""API keys (`Authorization: Bearer`), admin keys for model management, and the model allow-list."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from app.config.settings import Settings, SettingsError
from app.domain.model_policy import ModelPolicy


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


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _host_name(netloc: str) -> str:
    try:
        return (urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:
        return ""


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def foreign_browser_refusal(connection: ASGIConnection, keys: ApiKeys, trusted_hosts: Collection[str]) -> str | None:
    """Why a request to a server without keys may come from someone else's web page, or None.

    Without keys, nothing tells the user's own tools from a page the user happens to open: such a page
    can open a WebSocket to localhost (no CORS for sockets) or reach it through a DNS name that
    rebinds to 127.0.0.1. So the Host must be an IP address, localhost or a TRUSTED_HOSTS name (a
    rebinding name is none of these), and a browser's Origin must be the server itself or trusted.
    With keys, the key is what counts: a page cannot know it."""
    if keys.enabled:
        return None
    trusted = {h.lower() for h in trusted_hosts}
    host = connection.headers.get("host", "")
    name = _host_name(host)
    if not (name in LOOPBACK_NAMES or _is_address(name) or name in trusted):
        return (f"Host '{host[:100]}' is not this server's: a server without API keys answers to IP addresses, "
                "localhost and TRUSTED_HOSTS only.")
    origin = connection.headers.get("origin")
    if origin is not None and origin != "null":
        netloc = urlsplit(origin).netloc if "://" in origin else ""
        if netloc.lower() != host.lower() and _host_name(netloc) not in trusted:
            return (f"Origin '{origin[:100]}' is another site: a server without API keys takes browser requests "
                    "from its own pages and TRUSTED_HOSTS only.")
    elif origin == "null":
        return "Origin 'null' (a sandboxed page or a file) is refused by a server without API keys."
    return None


def model_policy(settings: Settings) -> ModelPolicy:
    """MODELS__ALLOWED, when set, lists the only model names a client may use (besides the default)."""
    return ModelPolicy(allowed=tuple(settings.models.allowed), default=settings.whisper.model)


def is_model_allowed(settings: Settings, name: str | None) -> bool:
    return model_policy(settings).allows(name)


def check_model_allowed(settings: Settings, name: str | None) -> None:
    model_policy(settings).check(name)
