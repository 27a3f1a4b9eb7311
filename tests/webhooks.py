"""A callback receiver for tests, and what it does with our requests (https://www.standardwebhooks.com), by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify_standard_webhook(headers: dict, body: bytes, secret: str, tolerance_seconds: float = 300) -> None:
    """AssertionError unless `webhook-signature` signs `id.timestamp.body` with `secret` and the
    timestamp is recent (an old one is a replay)."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    delivery_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < tolerance_seconds, "stale: a replay"
    expected = base64.b64encode(
        hmac.new(key, f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    signatures = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected, s) for s in signatures)


@dataclass
class WebhookReceiver:
    """A callback endpoint on 127.0.0.1 for tests: records each POST's headers and body, and answers
    with `statuses` in order (200 once they run out). Use as a context manager."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict, bytes]] = field(default_factory=list)
    port: int = 0

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def wait_for(self, count: int, seconds: float) -> None:
        deadline = time.time() + seconds
        while len(self.received) < count and time.time() < deadline:
            time.sleep(0.05)
