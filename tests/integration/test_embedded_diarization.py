"""The embedded diarizer (bundled pyannote segmentation + CAM++ voices) on a real two-person call,
and on meetings of 3-4 real people it was never tuned on (the held-out voices of scripts/voices.py,
laid out by scripts/meetings.py as `make bench-diarization` does)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from openai.types.audio import TranscriptionDiarized, TranscriptionVerbose
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from app.adapters.audio import PyAVDecoder
from app.domain.audio import SAMPLE_RATE
from app.domain.models import Audio, TranscriptionOptions
from scripts.meetings import meetings
from scripts.voices import HELD_OUT
from tests.integration.conftest import PYANNOTE_SAMPLE
from tests.subtitles import parse_srt, parse_vtt

URL = "/v1/audio/transcriptions"
SAMPLE = PYANNOTE_SAMPLE / "sample.wav"
REFERENCE = load_rttm(str(PYANNOTE_SAMPLE / "sample.rttm"))["sample"]


def sample_upload():
    return {"file": ("sample.wav", SAMPLE.read_bytes(), "audio/wav")}


@pytest.fixture(scope="module")
def diarization(real_container):
    assert real_container.diarization.backend() == "speaker_clustering"  # offline, no HF_TOKEN
    audio = PyAVDecoder().decode(io.BytesIO(SAMPLE.read_bytes()))
    return real_container.diarization.diarizer().diarize(audio, TranscriptionOptions(model="base"))


def as_annotation(turns) -> Annotation:
    hypothesis = Annotation()
    for track, turn in enumerate(turns):  # a track each: two speakers' turns may cover the same time
        hypothesis[Segment(turn.start, turn.end), track] = turn.speaker
    return hypothesis


@pytest.fixture(scope="module")
def built_meetings(real_container):
    """(reference turns, diarization) of the ten held-out meetings `make bench-diarization` builds."""
    diarizer = real_container.diarization.diarizer()
    return [
        (
            made.turns,
            diarizer.diarize(
                Audio(samples=made.samples, duration=made.samples.size / SAMPLE_RATE),
                TranscriptionOptions(model="base"),
            ),
        )
        for made in meetings(HELD_OUT, 10, seed=2)
    ]


def test_finds_the_two_speakers_unaided(diarization):
    assert diarization.speakers == ("SPEAKER_00", "SPEAKER_01")


def test_turns_are_in_the_right_places(diarization):
    hypothesis = as_annotation(diarization.turns)
    metric = DiarizationErrorRate(collar=0.25)
    assert metric(REFERENCE, hypothesis) <= 0.10  # measured 0.003; `make bench-diarization` prints it
    ours_for = {reference: ours for ours, reference in metric.optimal_mapping(REFERENCE, hypothesis).items()}
    # Every reference turn of a second or more is mostly given to its speaker.
    for segment, _, speaker in REFERENCE.itertracks(yield_label=True):
        if segment.duration < 1.0:
            continue
        ours = hypothesis.crop(segment).label_duration(ours_for.get(speaker, "none"))
        assert ours >= 0.5 * segment.duration, (segment, speaker)


def test_turns_are_ordered_and_inside_the_audio(diarization):
    starts = [t.start for t in diarization.turns]
    assert starts == sorted(starts)
    assert all(0 <= t.start < t.end <= 30.0 for t in diarization.turns)
    # Plain floats: job results store the turns, and msgspec encodes no numpy scalars.
    assert all(type(t.start) is float and type(t.end) is float for t in diarization.turns + diarization.exclusive)


def test_diarized_transcription_over_http(real_client):
    response = real_client.post(
        URL,
        files=sample_upload(),
        data={
            "diarize": "true",
            "speaker_embeddings": "true",
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    TranscriptionVerbose.model_validate(body, strict=True)
    assert body["diarizer"] == "speaker_clustering"
    assert {s["speaker"] for s in body["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    assert all("speaker" in w for w in body["words"])
    embeddings = body["speaker_embeddings"]
    assert set(embeddings) == {"SPEAKER_00", "SPEAKER_01"} and {len(v) for v in embeddings.values()} == {192}
    vectors = [np.array(v) for v in embeddings.values()]
    assert all(abs(np.linalg.norm(v) - 1) < 1e-3 for v in vectors) and float(vectors[0] @ vectors[1]) < 0.99
    # Segments were split where the speaker changes: no segment's words carry two speakers.
    for segment in body["segments"]:
        inside = [w for w in body["words"] if segment["start"] <= w["start"] and w["end"] <= segment["end"]]
        assert {w["speaker"] for w in inside} <= {segment["speaker"]}, segment


def test_rttm_of_the_call_scores_as_the_diarizers_turns(real_client):
    """response_format=rttm diarizes by itself; pyannote reads what it sends, and it scores as the turns do."""
    response = real_client.post(URL, files=sample_upload(), data={"response_format": "rttm"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    hypothesis = Annotation()
    for track, line in enumerate(response.text.splitlines()):
        kind, file_id, channel, start, duration, _, _, speaker, _, _ = line.split(" ")
        assert (kind, file_id, channel) == ("SPEAKER", "audio", "1") and float(duration) > 0
        hypothesis[Segment(float(start), float(start) + float(duration)), track] = speaker
    assert hypothesis.labels() == ["SPEAKER_00", "SPEAKER_01"]
    assert DiarizationErrorRate(collar=0.25)(REFERENCE, hypothesis) <= 0.10  # measured 0.003


@pytest.mark.parametrize("fmt", ["srt", "vtt", "text", "aud", "diarized_json"])
def test_speakers_in_every_format(real_client, fmt):
    data = {"response_format": fmt, "diarize": "true"}
    response = real_client.post(URL, files=sample_upload(), data=data)
    assert response.status_code == 200
    text = response.text
    if fmt == "srt":
        cues = parse_srt(text)  # a speaker is named where the speaker changes, the first cue included
        assert cues[0].text.startswith(("[SPEAKER_00]: ", "[SPEAKER_01]: "))
        assert {"[SPEAKER_00]: ", "[SPEAKER_01]: "} == {c.text[:14] for c in cues if c.text.startswith("[")}
    elif fmt == "vtt":
        assert all(c.text.startswith(("<v SPEAKER_00>", "<v SPEAKER_01>")) for c in parse_vtt(text))
    elif fmt == "text":
        lines = text.splitlines()
        assert len(lines) >= 2 and all(line.startswith(("[SPEAKER_00]: ", "[SPEAKER_01]: ")) for line in lines)
    elif fmt == "aud":
        assert all("\\t[SPEAKER_0" in repr(line) for line in text.splitlines())
    else:
        body = response.json()
        TranscriptionDiarized.model_validate(body, strict=True)
        assert {s["speaker"] for s in body["segments"]} == {"SPEAKER_00", "SPEAKER_01"}


def test_max_speakers_bounds_the_count(real_container):
    audio = PyAVDecoder().decode(io.BytesIO(SAMPLE.read_bytes()))
    one = real_container.diarization.diarizer().diarize(audio, TranscriptionOptions(model="base", max_speakers=1))
    assert one.speakers == ("SPEAKER_00",)


def test_diarize_models_endpoints(real_client):
    listed = real_client.get("/diarize_models/list").json()
    assert listed["backend"] == "speaker_clustering" and listed["default"] == "pyannote-segmentation+campplus"
    assert real_client.post("/diarize_models/load", data={"model": "pyannote-segmentation+campplus"}).status_code == 200
    assert real_client.post("/diarize_models/load", data={"model": "whisper-1"}).status_code == 400


def test_three_synthetic_voices_are_told_apart_with_or_without_the_count(real_container):
    """tests/fixtures/three_speakers.wav: espeak voices A B C A B (5.6 s, 6.1 s, 6.7 s, 5.6 s, 6.1 s).
    Two of espeak's variants sound alike to CAM++ (cosine 0.41), yet are two people: parted at the
    right turns unaided, and with num_speakers=3."""
    from tests.conftest import FIXTURES

    audio = PyAVDecoder().decode(io.BytesIO((FIXTURES / "three_speakers.wav").read_bytes()))
    unaided = real_container.diarization.diarizer().diarize(audio, TranscriptionOptions(model="base"))
    counted = real_container.diarization.diarizer().diarize(
        audio, TranscriptionOptions(model="base", min_speakers=3, max_speakers=3)
    )
    for result in (unaided, counted):
        assert len(result.speakers) == 3

        def speaker_at(t: float, result=result) -> str:
            return next(turn.speaker for turn in result.exclusive if turn.start <= t <= turn.end)

        a, b, c, a2, b2 = (speaker_at(t) for t in (2.5, 8.5, 14.5, 21.0, 27.0))
        assert len({a, b, c}) == 3 and a2 == a and b2 == b


def test_meetings_of_three_and_four_held_out_people_pool_near_a_quarter_der(built_meetings):
    metric = DiarizationErrorRate(collar=0.25)
    for turns, diarization in built_meetings:
        reference = Annotation()
        for track, (start, end, speaker) in enumerate(turns):
            reference[Segment(start, end), track] = speaker
        metric(reference, as_annotation(diarization.turns))
    assert abs(metric) <= 0.30  # measured 0.230 (one speaker for all speech: 0.564); `make bench-diarization`


def test_cross_talk_carries_both_speakers_where_the_windows_hear_it(built_meetings):
    """Where the next person starts 0.3 s or more before the last one ends, two of our speakers talk
    only where the segmentation model heard two voices at once: in these reverberant far-field
    meetings it hears few of them (measured 5 of 44 here, 7 of 42 on the development meetings; 36 of
    36 on the old meetings of close-talking copies of the call's voices). README: Diarization quality."""
    both, cross_talk = 0, 0
    for turns, diarization in built_meetings:
        for (_, end, first), (start, _, second) in zip(turns, turns[1:]):
            if first != second and end - start >= 0.3:
                cross_talk += 1
                middle = (start + end) / 2
                both += len({t.speaker for t in diarization.turns if t.start <= middle <= t.end}) >= 2
    assert cross_talk >= 30 and both >= 3, (both, cross_talk)
