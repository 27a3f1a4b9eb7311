"""Job callbacks: one signed POST when a job ends, from a persisted outbox, never to internal addresses.

- Where: every address the callback host resolves to must be globally routable — not loopback,
  private, link-local, CGNAT (100.64/10), multicast, reserved, nor an IPv6 form that embeds an IPv4
  address (mapped, compatible, NAT64, 6to4, Teredo) — unless the host is in WEBHOOK_ALLOWED_HOSTS.
  The check runs at submit and again before each attempt, and the request then goes to the very
  address that was checked (the name is not resolved a second time, so DNS rebinding cannot turn it
  inward), with TLS still verified for the host name. Redirects are not followed and proxy variables
  from the environment are ignored.
- How: signed as Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`,
  `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so a
  receiver can refuse replays and duplicates.
- When: the delivery is written to the outbox when the job ends; any API or worker process sends it,
  retrying failures (network errors, 5xx, 429) with exponential backoff; a restart loses nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog

from app.domain.errors import InvalidRequest
from app.domain.models import Delivery, Job
from app.domain.ports import DeliveryOutbox

logger = structlog.get_logger(__name__)
MAX_URL_LENGTH = 2048
LEASE_SECONDS = 60.0  # a claimed delivery is someone else's again after this (its sender died)
Resolver = Callable[[str, int], list[str]]

# IPv6 ranges that carry an IPv4 address inside: judged as what they embed, they could reach
# 127.0.0.1 or 10.x through a translator, so they are refused outright.
_EMBEDDING_V4 = tuple(ipaddress.ip_network(n) for n in (
    "::ffff:0:0/96",  # IPv4-mapped
    "::/96",  # IPv4-compatible (deprecated)
    "::ffff:0:0:0/96",  # IPv4-translated
    "64:ff9b::/96",  # NAT64, well-known prefix
    "64:ff9b:1::/48",  # NAT64, local-use prefix
    "2002::/16",  # 6to4
    "2001::/32",  # Teredo
))


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """A checked callback URL and the address it was checked at."""

    url: str
    host: str
    address: str

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and any(ip in network for network in _EMBEDDING_V4):
        return False
    return ip.is_global and not ip.is_multicast


def _refuse(message: str) -> InvalidRequest:
    return InvalidRequest(message, param="callback_url")


def check_callback_url(url: str, allowed_hosts: Collection[str], resolve: Resolver | None = None) -> CallbackTarget:
    """The target to call back, or InvalidRequest (param `callback_url`) when `url` may not be called."""
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"'callback_url' is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError as exc:  # "http://[::1/", "http://example.com:99999/"
        raise _refuse(f"'callback_url' is not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https") or not host:
        raise _refuse("'callback_url' must be an absolute http(s) URL.")
    if parts.username is not None or parts.password is not None:
        raise _refuse("'callback_url' must not carry credentials.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = (resolve or _resolve)(host, port)
    except (OSError, UnicodeError, ValueError):  # no such host, or a name no resolver takes (a 64-char label)
        raise _refuse(f"'callback_url' host '{host[:100]}' does not resolve.") from None
    if not addresses:
        raise _refuse(f"'callback_url' host '{host[:100]}' does not resolve.")
    if host not in allowed_hosts and not all(is_public(a) for a in addresses):
        raise _refuse(f"'callback_url' host '{host[:100]}' resolves to a non-public address; callbacks go to "
                      "public hosts only (an operator can allow a host with WEBHOOK_ALLOWED_HOSTS).")
    return CallbackTarget(url=url, host=host, address=addresses[0])


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))  # resolver order, without repeats


def signing_key(secret: str) -> bytes:
    """Standard Webhooks secrets are `whsec_<base64>`; any other string is used as its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            pass
    return secret.encode()


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookNotifier:
    """JobNotifier: checks callback URLs, writes deliveries to the outbox, and sends what is due."""

    def __init__(self, outbox: DeliveryOutbox, secret: str | None, allowed_hosts: Collection[str],
                 envelope: Callable[[Job], bytes], max_attempts: int = 8, first_retry_seconds: float = 1.0,
                 timeout: float = 10.0, resolve: Resolver | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.secret = secret
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.envelope = envelope  # the job's status object with its rendered result
        self.max_attempts = max_attempts
        self.first_retry_seconds = first_retry_seconds
        self.timeout = timeout
        self.resolve = resolve
        self.clock = clock

    def check(self, url: str) -> None:
        check_callback_url(url, self.allowed_hosts, self.resolve)

    def notify(self, job: Job) -> None:
        assert job.callback_url is not None
        now = self.clock()
        self.outbox.add(Delivery(id=f"msg_{uuid.uuid4().hex}", job_id=job.id, url=job.callback_url,
                                 body=self.envelope(job), created_at=now, next_attempt_at=now))

    def deliver_due(self) -> int:
        """Send every delivery whose time has come; returns how many were attempted."""
        attempted = 0
        while (delivery := self.outbox.claim_due(self.clock(), LEASE_SECONDS)) is not None:
            self._attempt(delivery)
            attempted += 1
        return attempted

    def _attempt(self, delivery: Delivery) -> None:
        attempt = delivery.attempts + 1
        try:
            target = check_callback_url(delivery.url, self.allowed_hosts, self.resolve)
        except InvalidRequest as exc:
            if "does not resolve" in exc.message:  # DNS may be back in a moment: transient
                self._retry_or_drop(delivery, attempt, "host does not resolve")
            else:  # the host turned internal: retrying will not make it safe
                logger.warning("callback refused", job_id=delivery.job_id, reason=exc.message)
                self.outbox.remove(delivery.id)
            return
        try:
            response = self._post(target, delivery)
        except httpx.HTTPError as exc:
            self._retry_or_drop(delivery, attempt, type(exc).__name__)
            return
        if response.is_success:
            logger.info("callback delivered", job_id=delivery.job_id, attempt=attempt)
            self.outbox.remove(delivery.id)
        elif response.status_code >= 500 or response.status_code in (408, 429):
            self._retry_or_drop(delivery, attempt, f"HTTP {response.status_code}")
        else:  # the receiver refused it: sending the same body again would be refused again
            logger.warning("callback rejected", job_id=delivery.job_id, status=response.status_code)
            self.outbox.remove(delivery.id)

    def _post(self, target: CallbackTarget, delivery: Delivery) -> httpx.Response:
        timestamp = int(self.clock())
        headers = {"Content-Type": "application/json", "User-Agent": "whisperx-api-server",
                   "Host": urlsplit(target.url).netloc.rsplit("@", 1)[-1],
                   "webhook-id": delivery.id, "webhook-timestamp": str(timestamp)}
        if self.secret:
            headers["webhook-signature"] = sign(self.secret, delivery.id, timestamp, delivery.body)
        with httpx.Client(follow_redirects=False, timeout=self.timeout, trust_env=False) as client:
            return client.post(target.pinned_url(), content=delivery.body, headers=headers,
                               extensions={"sni_hostname": target.host})

    def _retry_or_drop(self, delivery: Delivery, attempt: int, reason: str) -> None:
        if attempt >= self.max_attempts:
            logger.warning("callback given up", job_id=delivery.job_id, attempts=attempt, reason=reason)
            self.outbox.remove(delivery.id)
            return
        delay = self.first_retry_seconds * 2 ** (attempt - 1)
        logger.warning("callback failed, will retry", job_id=delivery.job_id, attempt=attempt, reason=reason,
                       retry_in_s=delay)
        self.outbox.retry_at(delivery.id, attempt, self.clock() + delay)
