"""A synchronous request sent with its own X-Request-ID can be followed from another connection and
its result fetched again, by the same key only (real uvicorn)."""

from __future__ import annotations

import threading
import time

import httpx

from tests.conftest import audio_file, pin

URL = "/v1/audio/transcriptions"


def followed(
    live_server: str, fake_transcriber, request_id: str, headers: dict | None = None
) -> tuple[threading.Thread, dict]:
    fake_transcriber.release = threading.Event()
    answered: dict = {}
    sender = threading.Thread(
        target=lambda: answered.setdefault(
            "response",
            httpx.post(
                live_server + URL,
                files=audio_file(2.0),
                data={"response_format": "verbose_json"},
                headers={"X-Request-ID": request_id, **(headers or {})},
                timeout=30,
            ),
        )
    )
    sender.start()
    assert fake_transcriber.started.wait(10)
    return sender, answered


def test_status_while_running_then_the_result_again_in_other_formats(live_server, fake_transcriber):
    sender, answered = followed(live_server, fake_transcriber, "call-2026-11-25.1")
    status = httpx.get(f"{live_server}{URL}/call-2026-11-25.1/status", timeout=10).json()
    assert status["status"] == "running" and status["stage"] == "transcribe" and status["id"] == "call-2026-11-25.1"
    fake_transcriber.release.set()
    sender.join(timeout=30)
    assert answered["response"].status_code == 200
    done = httpx.get(f"{live_server}{URL}/call-2026-11-25.1/status", timeout=10).json()
    assert done["status"] == "succeeded" and done["progress"] == 1.0 and done["expires_at"]
    srt = httpx.get(f"{live_server}{URL}/call-2026-11-25.1/result", params={"response_format": "srt"}, timeout=10)
    text = httpx.get(f"{live_server}{URL}/call-2026-11-25.1/result", params={"response_format": "text"}, timeout=10)
    assert "00:00:00,000 -->" in srt.text and text.text == "Hello world. How are you?\n"
    assert len(fake_transcriber.calls) == 1, "fetched again without running the pipeline again"
    with httpx.stream("GET", f"{live_server}{URL}/call-2026-11-25.1/events", timeout=10) as events:
        assert '"status":"succeeded"' in "".join(events.iter_text())
    assert httpx.get(f"{live_server}{URL}/no-such-id/status", timeout=10).status_code == 404


@pin(API_KEY="sk-alice", ADMIN_API_KEYS="sk-bob")
def test_only_the_key_that_sent_it_can_follow_it(live_server, fake_transcriber):
    alice, bob = {"Authorization": "Bearer sk-alice"}, {"Authorization": "Bearer sk-bob"}
    sender, answered = followed(live_server, fake_transcriber, "alice-1", headers=alice)
    assert httpx.get(f"{live_server}{URL}/alice-1/status", headers=bob, timeout=10).status_code == 404
    assert httpx.get(f"{live_server}{URL}/alice-1/status", headers=alice, timeout=10).status_code == 200
    fake_transcriber.release.set()
    sender.join(timeout=30)
    assert httpx.get(f"{live_server}{URL}/alice-1/result", headers=bob, timeout=10).status_code == 404
    # Bob re-using Alice's id neither overwrites nor reveals her request.
    again = httpx.post(live_server + URL, files=audio_file(), headers={"X-Request-ID": "alice-1", **bob}, timeout=30)
    assert again.status_code == 200
    assert httpx.get(f"{live_server}{URL}/alice-1/result", headers=alice, timeout=10).status_code == 200


@pin(RESULTS__TTL_SECONDS="1", RESULTS__MAX_ENTRIES="2")
def test_results_are_kept_for_a_bounded_time_and_number(live_server):
    for request_id in ("r1", "r2", "r3"):
        response = httpx.post(live_server + URL, files=audio_file(), headers={"X-Request-ID": request_id}, timeout=30)
        assert response.status_code == 200
    kept = [
        rid
        for rid in ("r1", "r2", "r3")
        if httpx.get(f"{live_server}{URL}/{rid}/result", timeout=10).status_code == 200
    ]
    assert kept == ["r2", "r3"], "the oldest finished one made room"
    time.sleep(1.1)
    assert httpx.get(f"{live_server}{URL}/r3/result", timeout=10).status_code == 404  # past RESULTS__TTL_SECONDS


def test_a_failed_request_is_followed_to_its_error(live_server):
    response = httpx.post(
        live_server + URL,
        files={"file": ("x.wav", b"not audio", "audio/wav")},
        headers={"X-Request-ID": "broken-1"},
        timeout=30,
    )
    assert response.status_code == 400
    status = httpx.get(f"{live_server}{URL}/broken-1/status", timeout=10).json()
    assert status["status"] == "failed" and status["error"]["code"] == "invalid_audio"
