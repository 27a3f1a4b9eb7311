"""The edge's access checks: API keys (`Authorization: Bearer`), admin keys for model management, and
the browser checks of a server without keys."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from app.config.api_keys import ApiKeys
from app.domain.models import ClientSecret
from app.services.errors import ApiKeyRefused, ForeignPage


def bearer(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


ANONYMOUS = "anonymous"  # the owner of every job when no keys are configured


def owner_of(key: str) -> str:
    """A stable id for an API key that does not reveal it: jobs are owned per key, not per client name."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def authenticate(keys: ApiKeys, presented: str | None, how: str = "as 'Authorization: Bearer <key>'") -> str:
    """The one key check, for HTTP and WebSocket alike: the owner id of a caller presenting `presented`
    (ANONYMOUS when the server has no keys), else ApiKeyRefused. `how` tells a caller how to send one."""
    if not keys.enabled:
        return ANONYMOUS
    if presented is None:
        raise ApiKeyRefused(f"Missing API key: send it {how}.", code="missing_api_key")
    if keys.client_of(presented) is None:
        raise ApiKeyRefused("Incorrect API key provided.")
    return owner_of(presented)


def api_key_guard(keys: Callable[[], ApiKeys]):
    """`keys` is asked on each request, so the keys the container provides now are the ones checked."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        try:
            connection.state.owner = authenticate(keys(), bearer(connection))
        except ApiKeyRefused as refused:
            # OpenAI answers every refused key over HTTP with code `invalid_api_key`.
            raise NotAuthorizedException(refused.message) from None

    return guard


def admin_guard(keys: Callable[[], ApiKeys]):
    """Model management: with any key configured, admin keys only (none configured: nobody); with no
    keys at all (a server on localhost), anyone, within the model allow-lists."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        current = keys()
        if current.enabled and not current.is_admin(bearer(connection)):
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
        return (
            f"Host '{host[:100]}' is not this server's: a server without API keys answers to IP addresses, "
            "localhost and TRUSTED_HOSTS only."
        )
    origin = connection.headers.get("origin")
    if origin is not None and origin != "null":
        netloc = urlsplit(origin).netloc if "://" in origin else ""
        if netloc.lower() != host.lower() and _host_name(netloc) not in trusted:
            return (
                f"Origin '{origin[:100]}' is another site: a server without API keys takes browser requests "
                "from its own pages and TRUSTED_HOSTS only."
            )
    elif origin == "null":
        return "Origin 'null' (a sandboxed page or a file) is refused by a server without API keys."
    return None


def realtime_owner(
    connection: ASGIConnection,
    keys: ApiKeys,
    trusted_hosts: Collection[str],
    key: str | None,
    secret: ClientSecret | None,
    how: str = "as 'Authorization: Bearer <key>'",
) -> str | None:
    """Who opens a realtime session (WebSocket or WebRTC call): the owner id its sessions count against
    (None on a server without keys), else ApiKeyRefused or ForeignPage. A client secret (already
    redeemed) stands for the key that made it, wherever the page comes from."""
    if secret is not None:
        return secret.owner if keys.enabled else None
    if not keys.enabled:
        foreign = foreign_browser_refusal(connection, keys, trusted_hosts)
        if foreign is not None:
            raise ForeignPage(foreign)
        return None
    return authenticate(keys, key, how=how)
