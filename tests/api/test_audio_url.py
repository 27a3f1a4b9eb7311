"""`audio_url`: the server downloads the recording itself, under the outbound address policy
(real uvicorn; the recording is served by a local HTTP server in the test)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tests.conftest import audio_file, pin

URL = "/v1/audio/transcriptions"


class Recordings(BaseHTTPRequestHandler):
    """/speech: 2.5 s for the fake decoder; /big: 2000 bytes; /hop: a redirect to `redirect_to`."""

    redirect_to = ""

    def do_GET(self) -> None:
        if self.path == "/speech":
            self._answer(200, b"2.5")
        elif self.path == "/big":
            self._answer(200, b"2" + b" " * 1999)
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", Recordings.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._answer(404, b"no")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recordings() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Recordings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def post_url(live_server: str, audio_url: str, **data: str) -> httpx.Response:
    return httpx.post(live_server + URL, data={"audio_url": audio_url, **data}, timeout=30)


@pin(URL_FETCH_ALLOWED_HOSTS="127.0.0.1")
def test_an_allowed_host_is_fetched_for_sync_and_async_requests(live_server, recordings, fake_transcriber):
    response = post_url(live_server, f"{recordings}/speech")
    assert response.status_code == 200 and response.json()["text"] == "Hello world. How are you?"
    accepted = post_url(live_server, f"{recordings}/speech", **{"async": "true"})
    assert accepted.status_code == 202
    for _ in range(200):
        job = httpx.get(f"{live_server}{URL}/{accepted.json()['id']}", timeout=10).json()
        if job["status"] == "succeeded":
            break
        threading.Event().wait(0.05)
    assert job["status"] == "succeeded" and len(fake_transcriber.calls) == 2


def test_an_internal_host_is_refused_unless_allowed(live_server, recordings, fake_transcriber):
    refused = post_url(live_server, f"{recordings}/speech")
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "audio_url"
    assert "URL_FETCH_ALLOWED_HOSTS" in refused.json()["error"]["message"] and fake_transcriber.calls == []


@pin(URL_FETCH_ALLOWED_HOSTS="127.0.0.1")
def test_each_redirect_is_checked_again(live_server, recordings):
    Recordings.redirect_to = recordings.replace("127.0.0.1", "localhost") + "/speech"  # same server, not allowed
    refused = post_url(live_server, f"{recordings}/hop")
    assert refused.status_code == 400 and "localhost" in refused.json()["error"]["message"]
    Recordings.redirect_to = f"{recordings}/speech"
    assert post_url(live_server, f"{recordings}/hop").status_code == 200


@pin(URL_FETCH_ALLOWED_HOSTS="127.0.0.1", MAX_UPLOAD_SIZE_BYTES="1000")
def test_too_big_or_missing_recordings_are_400s_naming_audio_url(live_server, recordings):
    too_big = post_url(live_server, f"{recordings}/big")
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "audio_url_too_large"
    missing = post_url(live_server, f"{recordings}/nothing-here")
    assert missing.status_code == 400 and "HTTP 404" in missing.json()["error"]["message"]
    for bad in (
        "ftp://example.com/a.wav",
        "not a url",
        "http://[::1/",
        f"{recordings}/spe\x01ech",
        f"{recordings}/spe\nech",
        f"{recordings}/sp eech",
        f"{recordings}/\x7f",
    ):
        refused = post_url(live_server, bad)
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "audio_url"


def test_exactly_one_of_file_and_audio_url(live_server):
    both = httpx.post(
        live_server + URL, files=audio_file(), data={"audio_url": "https://example.com/a.wav"}, timeout=30
    )
    assert both.status_code == 400 and both.json()["error"]["param"] == "audio_url"
    neither = httpx.post(live_server + URL, data={"model": "whisper-1"}, timeout=30)
    assert neither.status_code == 400 and neither.json()["error"]["param"] == "file"
