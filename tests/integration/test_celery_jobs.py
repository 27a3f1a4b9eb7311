"""The celery job backend against a real Redis and real worker processes (fake inference):
jobs spread over workers, a killed worker's job is redelivered, an API replica restart loses
nothing, and events work from any replica."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.audio_files import tone_wav
from tests.conftest import free_port, wait_until_healthy
from tests.webhooks import WebhookReceiver, verify_standard_webhook

ROOT = Path(__file__).resolve().parents[2]
URL = "/v1/audio/transcriptions"
AUDIO = tone_wav(3)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    assert server, "redis-server is installed by `make test` (Debian's redis-server package)"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


class Cluster:
    """API replicas and workers as real processes sharing one Redis."""

    def __init__(self, redis_url: str, tmp_path: Path, inference_seconds: float) -> None:
        redis.Redis.from_url(redis_url).flushdb()
        self.tmp_path = tmp_path
        self.work_log = tmp_path / "work.log"
        self.env = {
            **os.environ,
            "JOBS__BACKEND": "celery",
            "JOBS__REDIS_URL": redis_url,
            "JOBS__VISIBILITY_TIMEOUT_SECONDS": "4",
            "JOBS__HEARTBEAT_SECONDS": "0.5",
            "WHISPER__PRELOAD": "false",
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "WARNING",
            "FAKE_INFERENCE_SECONDS": str(inference_seconds),
            "FAKE_WORK_LOG": str(self.work_log),
        }
        self.processes: list[subprocess.Popen] = []

    def _start(self, module: str, **env: str) -> subprocess.Popen:
        return self._spawn([sys.executable, "-m", module], f"{module}-{len(self.processes)}.log", env)

    def _spawn(self, command: list[str], log_name: str, env: dict[str, str]) -> subprocess.Popen:
        with (self.tmp_path / log_name).open("w") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def api(self) -> tuple[str, subprocess.Popen]:
        port = free_port()
        process = self._start("tests.fake_server", UVICORN_HOST="127.0.0.1", UVICORN_PORT=str(port))
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, 90)
        return url, process

    def worker(self, real: bool = False, **env: str) -> subprocess.Popen:
        if real:  # the installed command on the bundled model
            return self._spawn(
                [str(Path(sys.executable).parent / "whisperx-api-server"), "worker"],
                f"real-worker-{len(self.processes)}.log",
                env,
            )
        return self._start("tests.fake_worker", **env)

    def workers_that_worked(self) -> set[str]:
        return set(self.work_log.read_text().split()) if self.work_log.exists() else set()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def cluster(redis_url, tmp_path):
    def make(inference_seconds: float = 0.5) -> Cluster:
        made.append(Cluster(redis_url, tmp_path, inference_seconds))
        return made[-1]

    made: list[Cluster] = []
    yield make
    for c in made:
        c.stop()


def submit(api: str) -> str:
    response = httpx.post(
        api + URL,
        files={"file": ("tone.wav", AUDIO, "audio/wav")},
        data={"async": "true", "response_format": "srt"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def wait_for(api: str, job_id: str, statuses=("succeeded", "failed", "cancelled"), timeout: float = 90) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = httpx.get(f"{api}{URL}/{job_id}", timeout=10).json()
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{job_id} never reached {statuses}: {job}")


def test_eight_jobs_across_two_workers_and_events_from_another_replica(cluster):
    c = cluster(inference_seconds=0.5)
    c.worker()  # workers first: they start while the API replicas do
    c.worker()
    api_a, _ = c.api()
    api_b, _ = c.api()
    jobs = [submit(api_a) for _ in range(8)]
    with httpx.stream("GET", f"{api_b}{URL}/{jobs[-1]}/events", timeout=90) as events:
        statuses = [json.loads(line[6:])["status"] for line in events.iter_lines() if line]
    assert statuses[-1] == "succeeded" and "running" in statuses
    for job_id in jobs:
        assert wait_for(api_b, job_id)["status"] == "succeeded"
        result = httpx.get(f"{api_b}{URL}/{job_id}/result", timeout=10)
        assert result.status_code == 200 and "-->" in result.text
    assert len(c.workers_that_worked()) == 2, "both workers took jobs"
    info = httpx.get(api_a + "/info", timeout=10).json()
    assert info["mode"] == "distributed" and info["jobs"]["live_workers"] == 2
    # A synchronous request in this mode is a job that the API waits for.
    sync = httpx.post(api_b + URL, files={"file": ("tone.wav", AUDIO, "audio/wav")}, timeout=60)
    assert sync.status_code == 200 and sync.json()["text"] == "Hello world. How are you?"


def test_a_killed_workers_job_is_redelivered_and_succeeds(cluster):
    c = cluster(inference_seconds=3)
    doomed = c.worker()
    api, _ = c.api()
    job_id = submit(api)
    wait_for(api, job_id, statuses=("running",), timeout=60)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    c.worker()  # a replacement (or any other worker) picks it up once the broker gives it back
    job = wait_for(api, job_id, timeout=120)
    assert job["status"] == "succeeded" and job["attempts"] == 2


def test_an_api_replica_restart_loses_no_job(cluster):
    c = cluster(inference_seconds=0.3)
    api, replica = c.api()
    jobs = [submit(api) for _ in range(4)]
    replica.send_signal(signal.SIGKILL)  # the replica dies before any worker exists
    replica.wait(timeout=10)
    c.worker()
    restarted, _ = c.api()
    assert all(wait_for(restarted, job_id)["status"] == "succeeded" for job_id in jobs)


def test_a_real_worker_on_the_bundled_model_and_a_signed_callback(cluster):
    with WebhookReceiver() as hook:
        c = cluster()
        c.env.update(
            {
                "WEBHOOK_SECRET": "celery-secret",
                "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
                "WHISPER__MODEL": "tiny.en",
                "WHISPER__CPU_THREADS": "2",
                "ALLOW_DOWNLOADS": "false",
            }
        )
        c.worker(real=True, WHISPER__PRELOAD="true")
        api, _ = c.api()
        response = httpx.post(
            api + URL,
            files={"file": ("fox.wav", (ROOT / "tests/fixtures/en_fox.wav").read_bytes())},
            data={"async": "true", "callback_url": hook.url("/done")},
            timeout=30,
        )
        assert response.status_code == 202
        job = wait_for(api, response.json()["id"], timeout=180)
        assert job["status"] == "succeeded", job
        text = httpx.get(f"{api}{URL}/{job['id']}/result", params={"response_format": "text"}, timeout=10).text
        assert "fox" in text.lower()
        hook.wait_for(1, seconds=30)
    headers, body = hook.received[0]
    verify_standard_webhook(headers, body, "celery-secret")
    assert "fox" in json.loads(body)["result"]["text"].lower()


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_the_speaker_registry_keeps_voice_prints_per_key_in_either_store(store, redis_url, tmp_path):
    from app.adapters.jobs.redis_store import RedisSpeakerRegistry
    from app.adapters.jobs.sqlite_store import SqliteSpeakerRegistry
    from app.domain.models import SpeakerProfile

    registry = RedisSpeakerRegistry(redis_url) if store == "redis" else SqliteSpeakerRegistry(tmp_path / "jobs.sqlite3")
    alice = SpeakerProfile(
        id=f"spk_{store}_a", owner="key-a", name="Alice", voice=(0.6, 0.8), created_at=1.0, seconds=4.0
    )
    bob = SpeakerProfile(id=f"spk_{store}_b", owner="key-a", name="Bob", voice=(1.0, 0.0), created_at=2.0, seconds=3.0)
    registry.add(bob)
    registry.add(alice)
    assert registry.list("key-a") == [alice, bob]  # oldest first
    assert registry.list("key-b") == [] and registry.get("key-b", alice.id) is None
    assert registry.delete("key-b", alice.id) is False and registry.get("key-a", alice.id) == alice
    assert registry.delete("key-a", alice.id) is True and registry.list("key-a") == [bob]


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_client_secrets_are_found_by_their_digest_until_they_expire_in_either_store(store, redis_url, tmp_path):
    import time

    from app.adapters.jobs.redis_store import RedisClientSecrets
    from app.adapters.jobs.sqlite_store import SqliteClientSecrets
    from app.services.client_secrets import ClientSecrets
    from app.services.errors import ApiKeyRefused

    stored = RedisClientSecrets(redis_url) if store == "redis" else SqliteClientSecrets(tmp_path / "jobs.sqlite3")
    now = [time.time()]
    secrets = ClientSecrets(stored, clock=lambda: now[0])
    value, expires_at = secrets.create("key-a", b'{"type": "transcription"}', seconds=30)
    found = secrets.redeem(value)
    assert (found.owner, found.session, found.expires_at) == ("key-a", b'{"type": "transcription"}', expires_at)
    assert stored.get(value, now[0]) is None  # kept by digest only
    now[0] += 31
    with pytest.raises(ApiKeyRefused, match="expired"):
        secrets.redeem(value)
