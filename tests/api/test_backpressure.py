from __future__ import annotations

import socket
import threading
import time

import anyio
import httpx
import openai
import pytest
from litestar.testing import AsyncTestClient

from app.entrypoints.http import create_app
from tests.conftest import audio_file, pin, until, wait_for

URL = "/v1/audio/transcriptions"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pin(MAX_CONCURRENT_TRANSCRIPTIONS="1", MAX_QUEUED_REQUESTS="1")
async def test_beyond_running_plus_queued_requests_get_429_with_retry_after(container, fake_transcriber):
    fake_transcriber.release = threading.Event()
    app = create_app(container)
    results: list[httpx.Response] = []
    async with (
        AsyncTestClient(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
    ):

        async def send() -> None:
            results.append(await client.post(URL, files=audio_file()))

        async with anyio.create_task_group() as group:
            group.start_soon(send)  # runs
            await anyio.to_thread.run_sync(fake_transcriber.started.wait, 10)
            group.start_soon(send)  # waits in the queue
            await until(lambda: container.admission().waiting == 1, what="the second request queued")
            rejected = await client.post(URL, files=audio_file())  # one too many
            streamed = await client.post(URL, files=audio_file(), data={"stream": "true"})
            fake_transcriber.release.set()
        assert rejected.status_code == 429 and streamed.status_code == 429
        assert rejected.headers["retry-after"] == "2"
        error = rejected.json()["error"]
        assert error["code"] == "rate_limit_exceeded" and "1 transcriptions running, 1 waiting" in error["message"]
        assert sorted(r.status_code for r in results) == [200, 200]  # nothing admitted was lost
        # The slots are free again once the work is done.
        assert (await client.post(URL, files=audio_file())).status_code == 200


def hold_the_only_slot(live_server: str, fake_transcriber) -> tuple[threading.Thread, dict]:
    """Start one transcription that runs until `fake_transcriber.release` is set; its response lands
    in the returned dict once the thread ends."""
    fake_transcriber.release = threading.Event()
    first: dict = {}
    running = threading.Thread(
        target=lambda: first.setdefault("response", httpx.post(live_server + URL, files=audio_file(), timeout=30))
    )
    running.start()
    assert fake_transcriber.started.wait(10)
    return running, first


@pin(MAX_CONCURRENT_TRANSCRIPTIONS="1", MAX_QUEUED_REQUESTS="0")
def test_the_openai_client_retries_a_429(fake_transcriber, live_server):
    """One transcription holds the only slot and nothing may wait: the client's request is refused
    with Retry-After, the client waits, and its retry succeeds once the slot is free."""
    running, first = hold_the_only_slot(live_server, fake_transcriber)
    refused = httpx.post(live_server + URL, files=audio_file(), timeout=30)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"

    def refusals() -> float:
        for line in httpx.get(live_server + "/metrics", timeout=10).text.splitlines():
            if line.startswith("whisperx_http_requests_total") and 'status="429"' in line and URL in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def release_once_the_client_was_refused() -> None:  # the running one finishes during the client's wait
        wait_for(lambda: refusals() >= 2, what="the client's first try refused")
        fake_transcriber.release.set()

    threading.Thread(target=release_once_the_client_was_refused, daemon=True).start()
    openai_client = openai.OpenAI(api_key="unused", base_url=f"{live_server}/v1", max_retries=2)
    started = time.monotonic()
    raw = openai_client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=audio_file()["file"])
    assert raw.parse().text == "Hello world. How are you?"
    assert raw.retries_taken == 1 and time.monotonic() - started >= 1.5  # it waited as Retry-After said
    running.join(timeout=30)
    assert first["response"].status_code == 200


@pin(MAX_CONCURRENT_TRANSCRIPTIONS="1")
def test_a_client_that_hangs_up_while_queued_is_dropped_without_inference(container, fake_transcriber, live_server):
    """Real uvicorn, so the hang-up is a real TCP close that the queued request sees."""
    running, first = hold_the_only_slot(live_server, fake_transcriber)
    with pytest.raises(httpx.ReadTimeout):  # queued behind the first; this client gives up and closes
        httpx.post(live_server + URL, files=audio_file(), data={"model": "tiny.en"}, timeout=1.0)
    wait_for(
        lambda: metric(live_server, "whisperx_requests_cancelled_total", 'while="queued"') == 1,
        what="the server dropped the queued request",
    )
    fake_transcriber.release.set()
    running.join(timeout=30)
    assert first["response"].status_code == 200
    after = httpx.post(live_server + URL, files=audio_file(), timeout=30)
    assert after.status_code == 200
    # Three requests reached the server; only the two whose clients waited ran inference.
    assert [call.model for call in fake_transcriber.calls] == ["", ""]


def hang_up_once_running(live_server: str, fake_transcriber, headers: dict | None = None) -> None:
    """Send a transcription over a raw socket and close it once the transcriber runs (a client that
    gives up): a real TCP close, which the server sees as the disconnect."""
    fake_transcriber.release = threading.Event()  # unset: the work would run 30 s
    request = httpx.Request("POST", live_server + URL, files=audio_file(), headers=headers)
    body = request.read()
    host, port = request.url.host, request.url.port
    head = [
        f"POST {URL} HTTP/1.1",
        f"Host: {host}:{port}",
        *(f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "host"),
    ]
    with socket.create_connection((host, port)) as connection:
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        assert fake_transcriber.started.wait(10)


def metric(live_server: str, name: str, labels: str = "") -> float:
    for line in httpx.get(live_server + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + (f"{{{labels}}}" if labels else " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pin(MAX_CONCURRENT_TRANSCRIPTIONS="1")
def test_a_client_that_hangs_up_while_its_request_runs_stops_the_work_and_frees_the_slot(fake_transcriber, live_server):
    hang_up_once_running(live_server, fake_transcriber)
    wait_for(lambda: metric(live_server, "whisperx_requests_cancelled_total", 'while="running"') == 1)
    assert metric(live_server, "whisperx_transcriptions_running") == 0
    assert not fake_transcriber.release.is_set()  # it stopped at a checkpoint, not because it finished
    fake_transcriber.started.clear()
    fake_transcriber.release.set()
    assert httpx.post(live_server + URL, files=audio_file(), timeout=30).status_code == 200  # the slot is free
    assert metric(live_server, "whisperx_requests_cancelled_total", 'while="queued"') == 0


@pin(MAX_CONCURRENT_TRANSCRIPTIONS="1")
def test_a_followed_request_runs_on_when_its_client_hangs_up(fake_transcriber, live_server):
    """With its own X-Request-ID a request can be fetched again later: nobody's leaving cancels it."""
    hang_up_once_running(live_server, fake_transcriber, headers={"X-Request-ID": "keep-going-1"})
    status = f"{live_server}{URL}/keep-going-1/status"
    wait_for(lambda: httpx.get(status, timeout=10).json()["status"] == "running")
    fake_transcriber.release.set()
    wait_for(lambda: httpx.get(status, timeout=10).json()["status"] == "succeeded")
    result = httpx.get(f"{live_server}{URL}/keep-going-1/result", params={"response_format": "text"}, timeout=10)
    assert result.text == "Hello world. How are you?\n"
    assert metric(live_server, "whisperx_requests_cancelled_total", 'while="running"') == 0
