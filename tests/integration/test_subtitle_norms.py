"""Default subtitles of real speech meet the timed-text norms, one test per norm, on real-model output:
pyannote's phone call (diarized, two people) and the synthetic fixtures in four languages."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES
from tests.integration.conftest import PYANNOTE_SAMPLE
from tests.subtitles import Cue, parse_srt, parse_vtt

URL = "/v1/audio/transcriptions"
RECORDINGS = [
    PYANNOTE_SAMPLE / "sample.wav",
    FIXTURES / "en_weather.wav",
    FIXTURES / "es_beach.wav",
    FIXTURES / "de_coffee.wav",
    FIXTURES / "three_speakers.wav",
]
SPEAKER_LABEL = "]: "


def shown(line: str) -> str:
    """A line as a viewer reads it: WebVTT voice tags are not shown, a SubRip speaker label is."""
    return line.split(">", 1)[1] if line.startswith("<v ") else line


@pytest.fixture(scope="module")
def subtitled(real_client) -> list[tuple[str, list[Cue], list[str]]]:
    """Per recording and format: the cues, and the transcript's words from the same response."""
    out = []
    for path in RECORDINGS:
        audio = {"file": (path.name, path.read_bytes(), "audio/wav")}
        response = real_client.post(URL, files=audio, data={"response_format": "vtt_json"})
        assert response.status_code == 200, response.text
        body = response.json()
        out.append((f"{path.name}/vtt", parse_vtt(body["vtt_text"]), body["text"].split()))
        diarized = real_client.post(URL, files=audio, data={"response_format": "srt", "diarize": "true"})
        assert diarized.status_code == 200, diarized.text
        cues = parse_srt(diarized.text)
        words = [w for c in cues for line in c.text.split("\n") for w in line.split(SPEAKER_LABEL)[-1].split()]
        out.append((f"{path.name}/srt+speakers", cues, words))
    return out


def test_the_cues_hold_exactly_the_transcripts_words(subtitled):
    for name, cues, words in subtitled[::2]:  # vtt_json: the same response carries the text
        cue_words = [w for c in cues for line in c.text.split("\n") for w in shown(line).removeprefix("- ").split()]
        assert cue_words == words, name


def test_at_most_42_characters_a_line(subtitled):
    for name, cues, _ in subtitled:
        for cue in cues:
            assert all(len(shown(line)) <= 42 for line in cue.text.split("\n")), (name, cue)


def test_at_most_two_lines_a_cue(subtitled):
    for name, cues, _ in subtitled:
        assert all(len(cue.text.split("\n")) <= 2 for cue in cues), name


def test_each_cue_is_shown_five_sixths_of_a_second_to_seven_seconds(subtitled):
    for name, cues, _ in subtitled:
        for cue in cues:
            assert 5 / 6 - 0.001 <= cue.end - cue.start <= 7.0 + 0.001, (name, cue)


def test_cues_never_overlap(subtitled):
    for name, cues, _ in subtitled:
        assert all(a.end <= b.start for a, b in zip(cues, cues[1:])), name


def test_reading_speed_is_within_20_characters_a_second_wherever_a_pause_allows(subtitled):
    for name, cues, _ in subtitled:
        for cue, following in zip(cues, [*cues[1:], None]):
            characters = sum(len(shown(line)) for line in cue.text.split("\n"))
            room_left = following is None or following.start > cue.end + 0.001
            if characters / (cue.end - cue.start) > 20 + 0.01:
                assert not room_left or cue.end - cue.start >= 7 - 0.001, (name, cue)


def test_a_change_of_speaker_starts_a_new_cue_or_a_new_line_and_is_named(subtitled):
    for name, cues, _ in subtitled[1::2]:
        previous = None  # the speaker the cue before ended with
        for index, cue in enumerate(cues):
            labels = [line.split(SPEAKER_LABEL)[0] for line in cue.text.split("\n") if SPEAKER_LABEL in line]
            assert index or cue.text.startswith("["), (name, cue)  # the first cue says who speaks
            if len(labels) == 1 and cue.text.startswith("["):  # named again only where the speaker changes
                assert labels[0] != previous, (name, cue)
            assert len(labels) == len(set(labels)), (name, cue)  # a speaker's lines carry one label
            previous = labels[-1] if labels else previous
