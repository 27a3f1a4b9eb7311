"""Async jobs on the local backend (SQLite + in-process worker) with fake inference."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from litestar.testing import TestClient

from app.adapters.jobs.webhook import callback_policy
from app.config.settings import Settings
from app.domain.errors import InvalidRequest
from app.entrypoints.http import create_app
from tests.conftest import audio_file, pin
from tests.conftest import wait_for as condition_met
from tests.fake_server import fake_container
from tests.fakes import FakeDecoder, FakeTranscriber
from tests.webhooks import WebhookReceiver, verify_standard_webhook

URL = "/v1/audio/transcriptions"


def wait_for(client, job_id: str, statuses=("succeeded", "failed", "cancelled"), headers=None) -> dict:
    deadline = time.time() + 20
    while time.time() < deadline:
        job = client.get(f"{URL}/{job_id}", headers=headers).json()
        if job["status"] in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {statuses}: {job}")


def submit(client, seconds: float = 2.5, headers=None, **fields) -> dict:
    response = client.post(URL, files=audio_file(seconds), data={"async": "true", **fields}, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def test_submit_poll_and_fetch_the_result_in_every_format(client):
    accepted = submit(client, timestamp_granularities="word", response_format="verbose_json")
    assert accepted["status"] == "queued" and accepted["id"].startswith("job_")
    assert accepted["status_url"] == f"{URL}/{accepted['id']}" and accepted["result_url"].endswith("/result")
    job = wait_for(client, accepted["id"])
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["error"] is None
    assert client.get(f"{URL}/{accepted['id']}/status").json() == job  # the original server's spelling
    stored = client.get(accepted["result_url"])
    assert stored.json()["words"] and stored.json()["text"] == "Hello world. How are you?"
    for fmt, marker in [
        ("json", '"text"'),
        ("text", "Hello world."),
        ("srt", "00:00:00,000 --> "),
        ("vtt", "WEBVTT"),
        ("vtt_json", "vtt_text"),
        ("aud", "\t"),
        ("verbose_json", '"words"'),
    ]:
        rendered = client.get(accepted["result_url"], params={"response_format": fmt})
        assert rendered.status_code == 200 and marker in rendered.text, fmt
    assert client.get(accepted["result_url"], params={"response_format": "docx"}).status_code == 400


def test_events_stream_status_changes_until_the_job_ends(client, fake_transcriber):
    fake_transcriber.release = threading.Event()
    accepted = submit(client)
    threading.Timer(0.5, fake_transcriber.release.set).start()
    with client.stream("GET", f"{URL}/{accepted['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: ") :]) for line in response.iter_lines() if line]
    statuses = [e["status"] for e in events]
    assert statuses[0] in ("queued", "running") and statuses[-1] == "succeeded"
    assert "running" in statuses and any(e["stage"] == "transcribe" for e in events)


def test_cancel_a_queued_job_and_discard_a_finished_one(client, fake_transcriber):
    fake_transcriber.release = threading.Event()
    running = submit(client)
    queued = submit(client)
    wait_for(client, running["id"], statuses=("running",))
    refused = client.delete(f"{URL}/{running['id']}")
    assert refused.status_code == 400 and "running" in refused.json()["error"]["message"]
    cancelled = client.delete(f"{URL}/{queued['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    fake_transcriber.release.set()
    wait_for(client, running["id"])
    assert client.get(f"{URL}/{queued['id']}/result").status_code == 409  # cancelled: no result
    assert len(fake_transcriber.calls) == 1, "the cancelled job never ran"
    assert client.delete(f"{URL}/{running['id']}").status_code == 200  # discard the result
    gone = client.get(f"{URL}/{running['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "job_not_found"


def test_a_failed_job_keeps_an_openai_shaped_error(client):
    accepted = submit(client, model="no-such-model")
    job = wait_for(client, accepted["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "model_not_found" and job["error"]["type"] == "invalid_request_error"
    result = client.get(accepted["result_url"])
    assert result.status_code == 409 and "failed" in result.json()["error"]["message"]


@pin(JOBS__RESULT_TTL_SECONDS="1")
def test_results_expire(client, container):
    accepted = submit(client)
    wait_for(client, accepted["id"])  # polled well inside the second the finished job lives
    time.sleep(1.1)
    assert client.get(f"{URL}/{accepted['id']}").status_code == 404
    assert container.jobs.service().expire() == 1  # and the sweep deletes it from the store


def test_stream_and_async_do_not_mix_and_callback_needs_async(client):
    both = client.post(URL, files=audio_file(), data={"async": "true", "stream": "true"})
    assert both.status_code == 400 and both.json()["error"]["param"] == "stream"
    alone = client.post(URL, files=audio_file(), data={"callback_url": "https://example.com/hook"})
    assert alone.status_code == 400 and alone.json()["error"]["param"] == "callback_url"


@pin(JOBS__MAX_UNFINISHED="2")
def test_a_full_job_queue_answers_429(client, fake_transcriber):
    fake_transcriber.release = threading.Event()
    first, second = submit(client), submit(client)
    refused = client.post(URL, files=audio_file(), data={"async": "true"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    fake_transcriber.release.set()
    wait_for(client, first["id"])
    wait_for(client, second["id"])
    assert submit(client)["status"] == "queued"  # room again


def test_translations_can_be_async_too(client):
    response = client.post("/v1/audio/translations", files=audio_file(), data={"async": "true"})
    assert response.status_code == 202
    assert wait_for(client, response.json()["id"])["task"] == "translate"


@pin(API_KEY="sk-alice", ADMIN_API_KEYS="sk-bob")
def test_a_job_is_visible_only_to_the_key_that_created_it(container):
    with TestClient(create_app(container)) as client:
        alice, bob = {"Authorization": "Bearer sk-alice"}, {"Authorization": "Bearer sk-bob"}
        accepted = submit(client, headers=alice)
        wait_for(client, accepted["id"], headers=alice)
        for method, path in [("GET", ""), ("GET", "/result"), ("GET", "/events"), ("DELETE", "")]:
            response = client.request(method, f"{URL}/{accepted['id']}{path}", headers=bob)
            assert response.status_code == 404, (method, path)
        assert client.get(f"{URL}/{accepted['id']}").status_code == 401
        assert client.get(accepted["result_url"], headers=alice).status_code == 200


def test_a_restart_runs_the_jobs_a_previous_process_left_unfinished(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "WHISPER__PRELOAD": "false"})
    stuck = FakeTranscriber(release=threading.Event())
    first = fake_container(settings, stuck, FakeDecoder())
    with TestClient(create_app(first)) as client:
        running = submit(client)
        queued = submit(client)
        wait_for(client, running["id"], statuses=("running",))
    # The process "dies" here: one job running, one queued. A new process on the same data dir:
    second = fake_container(settings, FakeTranscriber(), FakeDecoder())
    with TestClient(create_app(second)) as client:
        assert wait_for(client, queued["id"])["status"] == "succeeded"
        assert wait_for(client, running["id"])["status"] == "succeeded"
    stuck.release.set()


SECRET = "whsec_" + base64.b64encode(b"a shared secret of the receiver").decode()


@pin(WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOWED_HOSTS="127.0.0.1", WEBHOOK_FIRST_RETRY_SECONDS="0.05")
def test_callback_is_signed_retried_and_carries_the_result(container):
    with WebhookReceiver(statuses=[500]) as receiver, TestClient(create_app(container)) as client:  # 1st fails
        accepted = submit(client, response_format="srt", callback_url=receiver.url())
        receiver.wait_for(2, seconds=10)
    assert len(receiver.received) == 2, "one failed attempt, then one delivery"
    (first_headers, _), (headers, body) = receiver.received
    verify_standard_webhook(headers, body, SECRET)
    assert first_headers["webhook-id"] == headers["webhook-id"], "a retry keeps its id: receivers drop duplicates"
    assert not any(h.lower() == "x-signature" for h in headers)
    with pytest.raises(AssertionError):  # the signature covers the body: a changed one fails
        verify_standard_webhook(headers, body.replace(b"succeeded", b"failed"), SECRET)
    envelope = json.loads(body)
    assert envelope["id"] == accepted["id"] and envelope["status"] == "succeeded"
    assert envelope["result"].startswith("1\n00:00:00,000 --> ")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
        "ftp://example.com/hook",
        "not a url",
        "http://no-such-host.invalid/hook",
        "http://example.com:99999/",
        "http://[::1/",
        f"http://{'a' * 64}.example.com/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://user:pw@example.com/",
        "https://x.io/" + "a" * 2100,
        "https://example.com/a\x00b",
        "https://example.com/a\nb",
        "https://exa\tmple.com/",
        "https://example.com/a b",
        "https://example.com/\x7f",
    ],
)
def test_callbacks_to_internal_or_bad_urls_are_refused_at_submit(client, url):
    response = client.post(URL, files=audio_file(), data={"async": "true", "callback_url": url})
    assert response.status_code == 400 and response.json()["error"]["param"] == "callback_url"


def test_callback_url_checks():
    def check(url: str, addresses: list[str], allowed: tuple[str, ...] = ()):
        return callback_policy(allowed, resolve=lambda host, port: addresses).check(url)

    assert check("https://hooks.example.com/x", ["93.184.215.14"]).address == "93.184.215.14"
    with pytest.raises(InvalidRequest):  # one inward address is enough
        check("https://hooks.example.com/x", ["93.184.215.14", "10.0.0.5"])
    for embedded in ("::ffff:127.0.0.1", "64:ff9b::7f00:1", "::127.0.0.1", "2002:7f00:1::1", "2001:0:7f00:1::1"):
        with pytest.raises(InvalidRequest):
            check("https://hooks.example.com/x", [embedded])
    allowed = check("http://hooks.internal:8080/x?a=1", ["10.0.0.5"], allowed=("hooks.internal",))  # by the operator
    assert allowed.pinned_url() == "http://10.0.0.5:8080/x?a=1" and allowed.host_header() == "hooks.internal:8080"


@pin(MAX_CONCURRENT_TRANSCRIPTIONS="1")
def test_a_local_job_takes_an_inference_slot_like_a_request(client, container, fake_transcriber):
    fake_transcriber.release = threading.Event()
    job = submit(client)
    wait_for(client, job["id"], statuses=("running",))
    assert "whisperx_transcriptions_running 1.0" in client.get("/metrics").text
    answered: dict = {}
    request = threading.Thread(target=lambda: answered.setdefault("response", client.post(URL, files=audio_file())))
    request.start()
    condition_met(
        lambda: container.limiter().statistics().tasks_waiting == 1, what="the request waiting for the job's slot"
    )
    assert "response" not in answered and len(fake_transcriber.calls) == 1  # waiting for the job's slot
    fake_transcriber.release.set()
    request.join(timeout=30)
    assert answered["response"].status_code == 200 and wait_for(client, job["id"])["status"] == "succeeded"
