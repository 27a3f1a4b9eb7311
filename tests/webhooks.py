"""What a callback receiver does with our requests (https://www.standardwebhooks.com), by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def verify_standard_webhook(headers: dict, body: bytes, secret: str, tolerance_seconds: float = 300) -> None:
    """AssertionError unless `webhook-signature` signs `id.timestamp.body` with `secret` and the
    timestamp is recent (an old one is a replay)."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    delivery_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < tolerance_seconds, "stale: a replay"
    expected = base64.b64encode(hmac.new(key, f"{delivery_id}.{timestamp}.".encode() + body,
                                         hashlib.sha256).digest()).decode()
    signatures = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected, s) for s in signatures)
