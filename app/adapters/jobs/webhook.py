"""Job callbacks: one signed POST when a job ends, retried with backoff, never to internal addresses.

The URL is checked when the job is submitted and again right before each delivery attempt (DNS
may have changed in between): every address the host resolves to must be globally routable —
not loopback, private, link-local, CGNAT (100.64/10), multicast or reserved — unless the host is
listed in WEBHOOK_ALLOWED_HOSTS. Redirects are not followed, so a public URL cannot bounce the
request inward.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

import httpx
import structlog

from app.domain.errors import InvalidRequest
from app.domain.models import Job

logger = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-Signature"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>` over the exact body bytes, as GitHub-style webhook receivers verify it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_callback_url(url: str, allowed_hosts: Collection[str],
                       resolve: Callable[[str, int], list[str]] | None = None) -> None:
    """Raise InvalidRequest (param `callback_url`) unless `url` may be called back."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("'callback_url' must be an absolute http(s) URL.", param="callback_url")
    host = parts.hostname.lower()
    if host in allowed_hosts:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = (resolve or _resolve)(host, port)
    except OSError:
        raise InvalidRequest(f"'callback_url' host '{host}' does not resolve.", param="callback_url") from None
    if not addresses or not all(_is_public(a) for a in addresses):
        raise InvalidRequest(
            f"'callback_url' host '{host}' resolves to a non-public address; callbacks go to public hosts only "
            "(an operator can allow a host with WEBHOOK_ALLOWED_HOSTS).", param="callback_url")


def _resolve(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


class WebhookNotifier:
    def __init__(self, secret: str | None, allowed_hosts: Collection[str], envelope: Callable[[Job], bytes],
                 attempts: int = 5, first_delay: float = 1.0, timeout: float = 10.0) -> None:
        self.secret = secret
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.envelope = envelope  # the job's status object with its rendered result
        self.attempts = attempts
        self.first_delay = first_delay
        self.timeout = timeout

    def check(self, url: str) -> None:
        check_callback_url(url, self.allowed_hosts)

    def notify(self, job: Job) -> None:
        threading.Thread(target=self.deliver, args=(job,), name=f"webhook-{job.id}", daemon=True).start()

    def deliver(self, job: Job) -> bool:
        """Deliver now, retrying with exponential backoff; True once a 2xx answer came back."""
        assert job.callback_url is not None
        body = self.envelope(job)
        headers = {"Content-Type": "application/json", "User-Agent": "whisperx-api-server"}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                check_callback_url(job.callback_url, self.allowed_hosts)
                with httpx.Client(follow_redirects=False, timeout=self.timeout) as client:
                    response = client.post(job.callback_url, content=body, headers=headers)
                if response.is_success:
                    logger.info("callback delivered", job_id=job.id, attempt=attempt)
                    return True
                reason = f"HTTP {response.status_code}"
            except InvalidRequest as exc:
                logger.warning("callback refused", job_id=job.id, reason=exc.message)
                return False  # the host turned internal: retrying will not make it safe
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            logger.warning("callback failed", job_id=job.id, attempt=attempt, reason=reason)
            if attempt < self.attempts:
                time.sleep(delay)
                delay *= 2
        return False
