"""Request bodies: a stalled upload times out, and uploads in flight are bounded (real uvicorn)."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import httpx

from tests.conftest import audio_file, info, pin, wait_for

URL = "/v1/audio/transcriptions"
BOUNDARY = "stall"


def start_stalled_upload(base_url: str) -> socket.socket:
    """Announce a 1 MB multipart upload, send its first bytes, then send nothing more."""
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}"
        f"\r\nContent-Length: 1000000\r\n\r\n"
    )
    first = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n2.0'
    sock.sendall(head.encode() + first.encode())
    return sock


def response_of(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(
        dict(line.split(": ", 1) for line in data.split(b"\r\n\r\n")[0].decode().split("\r\n")[1:]).get(
            "content-length", "0"
        )
    ):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return int(head.split(b" ")[1]), json.loads(body)


@pin(UPLOAD_TIMEOUT_SECONDS="1")
def test_an_upload_that_stalls_gets_408_and_frees_its_slot(live_server):
    stalled = start_stalled_upload(live_server)
    started = time.monotonic()
    status, body = response_of(stalled)
    stalled.close()
    assert status == 408 and body["error"]["code"] == "upload_timeout" and body["error"]["param"] == "file"
    assert 0.9 < time.monotonic() - started < 10
    assert httpx.post(live_server + URL, files=audio_file(), timeout=30).status_code == 200


@pin(MAX_CONCURRENT_UPLOADS="1")
def test_uploads_in_flight_are_bounded(live_server):
    stalled = start_stalled_upload(live_server)
    wait_for(lambda: info(live_server)["queue"]["uploads_receiving"] == 1, what="the server receiving the upload")
    refused = httpx.post(live_server + URL, files=audio_file(), timeout=30)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
    assert "MAX_CONCURRENT_UPLOADS" in refused.json()["error"]["message"]
    stalled.close()  # the stalled client gives up: its slot comes back
    wait_for(lambda: info(live_server)["queue"]["uploads_receiving"] == 0, what="the stalled upload's slot back")
    assert httpx.post(live_server + URL, files=audio_file(), timeout=30).status_code == 200
