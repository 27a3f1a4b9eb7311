"""A served model decodes with its OpenMP threads spinning, not sleeping at every step.

libgomp puts a barrier's waiters to sleep after 100 spins once the threads of all its teams outnumber
the CPUs (app/adapters/native_threads.py). Start-up asks for the model from a worker thread that lives
on; a team the load left on that thread would tip it over on any machine whose cores the model's
threads fill: every decoding step would sleep and wake each compute thread, thousands of context
switches for a few seconds of speech. The server runs as `make run` starts it, with one thread per
core it may use (`WHISPER__CPU_THREADS=0`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import free_port, wait_until_healthy
from tests.integration.conftest import PYANNOTE_SAMPLE

ROOT = Path(__file__).resolve().parents[2]


def voluntary_switches(pid: int) -> dict[str, int]:
    """Each thread of the process: how often it has gone to sleep."""
    switches = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        switches[task.name] = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("voluntary_ctxt_switches")
        )
    return switches


def test_a_request_decodes_without_its_compute_threads_sleeping_at_every_step(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "UVICORN_HOST": "127.0.0.1",
        "UVICORN_PORT": str(port),
        "WHISPER__MODEL": "tiny.en",
        "WHISPER__CPU_THREADS": "0",
        "ALLOW_DOWNLOADS": "false",
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    speech = {"file": ("sample.wav", (PYANNOTE_SAMPLE / "sample.wav").read_bytes(), "audio/wav")}

    def transcribe() -> str:
        response = httpx.post(f"{url}/v1/audio/transcriptions", files=speech, data={"model": "whisper-1"}, timeout=300)
        assert response.status_code == 200, response.text
        return response.json()["text"]

    try:
        wait_until_healthy(url, 300)
        transcribe()  # the first request also builds what start-up left for later
        before = voluntary_switches(server.pid)
        text = transcribe()
        after = voluntary_switches(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert len(text.split()) > 50  # 30 s of conversation was decoded
    busiest = max(after[thread] - before.get(thread, 0) for thread in after)
    # Measured on two cores: 15 for the busiest thread; with the loader's team alive, 15 105.
    assert busiest < 1000, f"a thread slept {busiest} times during one 30 s request"
