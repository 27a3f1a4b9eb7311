"""32 concurrent uploads against a real server process (fake inference): every request is
answered 200 or 429, none is lost or fails, and no temporary file outlives its request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.audio_files import tone_wav
from tests.conftest import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
URL = "/v1/audio/transcriptions"
UPLOADS = 32


@pytest.fixture
def server(tmp_path):
    port = free_port()
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    env = {
        **os.environ,
        "UVICORN_HOST": "127.0.0.1",
        "UVICORN_PORT": str(port),
        "DATA_DIR": str(tmp_path / "data"),
        "TMPDIR": str(temp_dir),
        "WHISPER__PRELOAD": "false",
        "LOG_LEVEL": "INFO",
        "MAX_CONCURRENT_TRANSCRIPTIONS": "1",
        "MAX_QUEUED_REQUESTS": "12",
        "FAKE_INFERENCE_SECONDS": "0.1",
    }
    log_path = tmp_path / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with log_path.open("w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "tests.fake_server"], cwd=ROOT, env=env, stderr=log_file)
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, 60)
        yield url, process, temp_dir
        process.terminate()
        process.wait(timeout=30)
    log = log_path.read_text()
    assert "unhandled error" not in log and "Traceback" not in log, log[-3000:]


def files_open_under(pid: int, directory: Path) -> list[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    targets = []
    for fd in fd_dir.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue  # closed while we looked
    return [t for t in targets if t.startswith(str(directory))]


def hang_up_mid_upload(url: str, audio: bytes) -> None:
    """Send the headers and half the body, then close the socket."""
    host, port = url.removeprefix("http://").split(":")
    boundary = "x" * 16
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    body = head + audio + f"\r\n--{boundary}--\r\n".encode()
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(
            (
                f"POST {URL} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
            ).encode()
        )
        connection.sendall(body[: len(body) // 2])


def test_32_concurrent_uploads_are_all_answered_and_leave_no_temporary_files(server):
    url, process, temp_dir = server
    before = sorted(temp_dir.iterdir())  # what libraries left at start-up is not ours to judge
    audio = tone_wav(40)  # 1.3 MB: above the 1 MB at which uploads spill to a temporary file
    statuses: list[int] = []
    bad: list[int] = []

    async def upload(client: httpx.AsyncClient) -> None:
        response = await client.post(URL, files={"file": ("tone.wav", audio, "audio/wav")})
        if response.status_code != 200:
            assert response.json()["error"]["code"] == "rate_limit_exceeded"
            assert response.headers["retry-after"]
        statuses.append(response.status_code)

    async def not_audio(client: httpx.AsyncClient) -> None:
        response = await client.post(URL, files={"file": ("notes.txt", b"not audio at all " * 100_000, "text/plain")})
        bad.append(response.status_code)

    async def main() -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            with anyio.fail_after(180):  # bounded in time: nothing hangs
                async with anyio.create_task_group() as group:
                    for _ in range(UPLOADS):
                        group.start_soon(upload, client)
                    for _ in range(2):
                        group.start_soon(not_audio, client)
                        group.start_soon(anyio.to_thread.run_sync, hang_up_mid_upload, url, audio)

    anyio.run(main)
    assert len(statuses) == UPLOADS, "every upload got an answer"
    assert set(statuses) <= {200, 429} and statuses.count(200) >= 13 and 429 in statuses
    assert set(bad) <= {400, 429}
    assert httpx.post(url + URL, files={"file": ("tone.wav", audio, "audio/wav")}, timeout=60).status_code == 200
    deadline = time.time() + 10
    while files_open_under(process.pid, temp_dir) and time.time() < deadline:
        time.sleep(0.2)
    assert files_open_under(process.pid, temp_dir) == [], "upload spool files are closed (and so deleted)"
    assert sorted(temp_dir.iterdir()) == before, "no request leaves anything in the temporary directory"
