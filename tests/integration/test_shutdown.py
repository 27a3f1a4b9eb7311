"""SIGTERM to a real server process mid-request: the request finishes, new work is refused, exit 0."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import httpx

from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.domain.models import JobStatus
from tests.audio_files import tone_wav
from tests.conftest import free_port, info, wait_for, wait_until_healthy
from tests.integration.conftest import PYANNOTE_SAMPLE

ROOT = Path(__file__).resolve().parents[2]


def long_speech(repeats: int) -> bytes:
    with wave.open(str(PYANNOTE_SAMPLE / "sample.wav")) as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setparams(params)
        target.writeframes(frames * repeats)
    return out.getvalue()


def server_env(tmp_path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "UVICORN_HOST": "127.0.0.1",
        "UVICORN_PORT": str(port),
        "WHISPER__MODEL": "tiny.en",
        "ALLOW_DOWNLOADS": "false",
        "DATA_DIR": str(tmp_path),
        "BACKENDS__DIARIZATION": "whisperx",
        "SHUTDOWN_GRACE_SECONDS": "120",
        "LOG_LEVEL": "WARNING",
    }


def test_sigterm_drains_in_flight_work_then_exits_cleanly(tmp_path):
    port = free_port()
    env = server_env(tmp_path, port)
    # `whisperx-api-server serve`, the installed command that `make run` and the image use.
    server = subprocess.Popen([str(Path(sys.executable).parent / "whisperx-api-server"), "serve"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, 180)
        result: dict = {}
        audio = long_speech(8)  # four minutes: several seconds of work

        def transcribe() -> None:
            result["response"] = httpx.post(
                f"{url}/v1/audio/transcriptions",
                files={"file": ("call.wav", audio)},
                data={"align": "false"},
                timeout=300,
            )

        worker = threading.Thread(target=transcribe)
        worker.start()
        wait_for(lambda: info(url)["queue"]["running"] == 1, what="the request running")
        assert "response" not in result, "the request must still be in flight when the signal arrives"
        server.send_signal(signal.SIGTERM)
        wait_for(lambda: httpx.get(f"{url}/healthcheck", timeout=5).status_code == 503, what="the drain")
        health = httpx.get(f"{url}/healthcheck", timeout=5)
        assert health.status_code == 503 and health.json() == {"status": "draining"}
        refused = httpx.post(
            f"{url}/v1/audio/transcriptions", files={"file": ("call.wav", audio[:200_000])}, timeout=30
        )
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert refused.json()["error"]["code"] == "shutting_down"
        worker.join(timeout=300)
        assert result["response"].status_code == 200, "the in-flight request must finish"
        assert "hello" in result["response"].json()["text"].lower()
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()


def test_sigterm_to_the_make_run_group_still_lets_the_request_finish(tmp_path):
    """A service manager stops `make run` by signalling its process group: the server gets the SIGTERM
    and then make's forwarded copy of it, which must not count as a second, forcing one."""
    port = free_port()
    venv = Path(sys.executable).parent.parent
    group = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"VENV={venv}"],
        cwd=ROOT,
        env=server_env(tmp_path, port),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, 240)
        result: dict = {}
        audio = long_speech(24)  # twelve minutes: work that outlasts uvicorn's own 5 s shutdown grace

        def transcribe() -> None:
            result["response"] = httpx.post(
                f"{url}/v1/audio/transcriptions",
                files={"file": ("call.wav", audio)},
                data={"response_format": "verbose_json"},
                timeout=300,
            )  # more than one stage: more places to be cancelled

        worker = threading.Thread(target=transcribe)
        worker.start()
        wait_for(lambda: info(url)["queue"]["running"] == 1, what="the request running")
        assert "response" not in result, "the request must still be in flight when the signal arrives"
        signalled = time.monotonic()
        os.killpg(group.pid, signal.SIGTERM)
        worker.join(timeout=300)
        assert time.monotonic() - signalled > 5, "the work must outlast uvicorn's own grace, or this proves nothing"
        assert result["response"].status_code == 200, "the in-flight request must finish"
        assert "hello" in result["response"].json()["text"].lower()
        group.wait(timeout=60)
    finally:
        if group.poll() is None:
            os.killpg(group.pid, signal.SIGKILL)


def test_sigterm_waits_for_a_running_local_job(tmp_path):
    """An async job holds an inference slot without being an HTTP request: the drain waits for it too."""
    port = free_port()
    env = {
        **os.environ,
        "UVICORN_HOST": "127.0.0.1",
        "UVICORN_PORT": str(port),
        "DATA_DIR": str(tmp_path),
        "WHISPER__PRELOAD": "false",
        "LOG_LEVEL": "WARNING",
        "FAKE_INFERENCE_SECONDS": "4",
        "SHUTDOWN_GRACE_SECONDS": "60",
    }
    server = subprocess.Popen([sys.executable, "-m", "tests.fake_server"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, 60)
        job = httpx.post(
            f"{url}/v1/audio/transcriptions",
            files={"file": ("a.wav", tone_wav(1.0))},
            data={"async": "true"},
            timeout=30,
        ).json()
        wait_for(
            lambda: httpx.get(f"{url}/v1/audio/transcriptions/{job['id']}", timeout=5).json()["status"] == "running",
            30,
            "the job running",
        )
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    assert store.get(job["id"]).status is JobStatus.SUCCEEDED  # finished before the process went
