"""Job callbacks: one signed POST when a job ends, from a persisted outbox, never to internal addresses.

- Where: app/adapters/outbound.py's policy (public addresses only unless the host is in
  WEBHOOK_ALLOWED_HOSTS; the connection goes to the address that was checked), at submit and again
  before each attempt. Redirects are not followed.
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
import time
import uuid
from collections.abc import Callable, Collection

import httpx
import structlog

from app.adapters.outbound import HostDoesNotResolve, OutboundPolicy, OutboundTarget, Resolver
from app.domain.errors import InvalidRequest
from app.domain.models import Delivery, Job
from app.domain.ports.jobs import DeliveryOutbox

logger = structlog.get_logger(__name__)
LEASE_SECONDS = 60.0  # a claimed delivery is someone else's again after this (its sender died)


def callback_policy(allowed_hosts: Collection[str], resolve: Resolver | None = None) -> OutboundPolicy:
    return OutboundPolicy(allowed_hosts, param="callback_url", setting="WEBHOOK_ALLOWED_HOSTS", resolve=resolve)


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

    def __init__(
        self,
        outbox: DeliveryOutbox,
        secret: str | None,
        allowed_hosts: Collection[str],
        envelope: Callable[[Job], bytes],
        max_attempts: int = 8,
        first_retry_seconds: float = 1.0,
        timeout: float = 10.0,
        resolve: Resolver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.secret = secret
        self.policy = callback_policy(allowed_hosts, resolve)
        self.envelope = envelope  # the job's status object with its rendered result
        self.max_attempts = max_attempts
        self.first_retry_seconds = first_retry_seconds
        self.timeout = timeout
        self.clock = clock

    def check(self, url: str) -> None:
        self.policy.check(url)

    def notify(self, job: Job) -> None:
        assert job.callback_url is not None
        now = self.clock()
        self.outbox.add(
            Delivery(
                id=f"msg_{uuid.uuid4().hex}",
                job_id=job.id,
                url=job.callback_url,
                body=self.envelope(job),
                created_at=now,
                next_attempt_at=now,
            )
        )

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
            target = self.policy.check(delivery.url)
        except HostDoesNotResolve:  # DNS may be back in a moment: transient
            self._retry_or_drop(delivery, attempt, "host does not resolve")
            return
        except InvalidRequest as exc:  # the host turned internal: retrying will not make it safe
            logger.warning("callback refused", job_id=delivery.job_id, reason=exc.message)
            self.outbox.remove(delivery.id)
            return
        try:
            response = self._post(target, delivery)
        except httpx.HTTPError as exc:
            self._retry_or_drop(delivery, attempt, type(exc).__name__)
            return
        except Exception as exc:
            logger.exception("callback could not be sent", job_id=delivery.job_id)
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

    def _post(self, target: OutboundTarget, delivery: Delivery) -> httpx.Response:
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "whisperx-api-server",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
        }
        if self.secret:
            headers["webhook-signature"] = sign(self.secret, delivery.id, timestamp, delivery.body)
        with self.policy.client(self.timeout) as client:
            return client.post(content=delivery.body, **target.request_args(headers))

    def _retry_or_drop(self, delivery: Delivery, attempt: int, reason: str) -> None:
        if attempt >= self.max_attempts:
            logger.warning("callback given up", job_id=delivery.job_id, attempts=attempt, reason=reason)
            self.outbox.remove(delivery.id)
            return
        delay = self.first_retry_seconds * 2 ** (attempt - 1)
        logger.warning(
            "callback failed, will retry", job_id=delivery.job_id, attempt=attempt, reason=reason, retry_in_s=delay
        )
        self.outbox.retry_at(delivery.id, attempt, self.clock() + delay)
