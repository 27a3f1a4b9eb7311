"""The embedded diarizer on real council meetings it was not tuned on (scripts/council.py, held out),
at desk microphones and through the room: how many people, and who spoke when."""

from __future__ import annotations

import statistics

import pytest
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from app.domain.models import Audio, TranscriptionOptions


def annotation(turns) -> Annotation:
    out = Annotation()
    for track, (start, end, speaker) in enumerate(turns):
        out[Segment(start, end), track] = speaker
    return out


@pytest.fixture(scope="module")
def diarized(real_container):
    from scripts import council

    diarizer = real_container.diarization.diarizer()
    out = []
    for far in (False, True):
        for window in council.windows(council.HELD_OUT, 4, 2 + 10 * far, far_field=far):
            audio = Audio(window.samples, window.samples.size / 16_000)
            out.append((window, diarizer.diarize(audio, TranscriptionOptions(model="base"))))
    return out


def test_the_number_of_people_is_found_within_half_a_person_on_average(diarized):
    from scripts.council import present

    errors = [abs(len(diarization.speakers) - len(present(window.turns))) for window, diarization in diarized]
    assert statistics.mean(errors) <= 0.5, errors  # issue 39's target


def test_who_spoke_when_pools_under_a_fifth_der(diarized):
    metric = DiarizationErrorRate(collar=0.25)
    for window, diarization in diarized:
        metric(annotation(window.turns), annotation([(t.start, t.end, t.speaker) for t in diarization.turns]))
    assert abs(metric) <= 0.20  # issue 39's target
