from __future__ import annotations

import json
import logging

from litestar.testing import TestClient

from app.config.logging import configure_logging
from app.entrypoints.http import create_app
from tests.conftest import audio_file


def test_one_json_line_per_request_with_id_model_audio_and_stage_timings(container, capsys):
    configure_logging("INFO", "json")
    try:
        with TestClient(create_app(container)) as client:
            capsys.readouterr()
            client.post(
                "/v1/audio/transcriptions",
                files=audio_file(3.5),
                data={"model": "tiny.en"},
                headers={"X-Request-ID": "req-42"},
            )
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finally:
        logging.getLogger().handlers.clear()
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) == 1
    line = requests[0]
    assert line["request_id"] == "req-42" and line["status"] == 200 and line["path"] == "/v1/audio/transcriptions"
    assert line["model"] == "tiny.en" and line["audio_seconds"] == 3.5 and line["level"] == "info"
    assert {"decode_s", "transcribe_s", "align_s", "diarize_s", "duration_ms", "timestamp"} <= set(line)


def test_error_bodies_carry_the_request_id_and_unknown_paths_get_one_too(client):
    failed = client.post(
        "/v1/audio/transcriptions", files=audio_file(), data={"temperature": "7"}, headers={"X-Request-ID": "req-7"}
    )
    assert failed.status_code == 400 and failed.json()["error"]["request_id"] == "req-7"
    missing = client.get("/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.json()["error"]["request_id"] == missing.headers["x-request-id"]


def test_a_malformed_request_id_is_replaced_not_echoed(client):
    response = client.get("/v1/models", headers={"X-Request-ID": "bad id\r\nforged: 1"})
    generated = response.headers["x-request-id"]
    assert generated != "bad id\r\nforged: 1" and len(generated) == 32
