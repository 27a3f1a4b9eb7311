"""The clustering logic on hand-made segmentation evidence and a fake voice encoder."""

from __future__ import annotations

import numpy as np

from app.adapters.speaker_clustering.clustering import (
    _join_same_person,
    _reassign,
    cluster,
    stretch_voices,
    stretches,
    window_votes,
)
from app.adapters.speaker_clustering.local_speakers import LocalSpeakers, pool

CELLS_PER_WINDOW, STEP = 50, 5  # 5 s windows every 0.5 s on a 0.1 s grid


def evidence(truth: list[int], label_of=lambda window, speaker: speaker % 3) -> LocalSpeakers:
    """Windows that see `truth` (global speaker per cell, -1 silence) through local labels."""
    cells = len(truth)
    windows = max(1, (cells - CELLS_PER_WINDOW) // STEP + 1)
    labels = np.full((windows, CELLS_PER_WINDOW), -1, dtype=np.int8)
    for c in range(windows):
        for j in range(CELLS_PER_WINDOW):
            cell = c * STEP + j
            if cell < cells and truth[cell] >= 0:
                labels[c, j] = label_of(c, truth[cell])
    truth_arr = np.array(truth)
    return LocalSpeakers(labels=labels, first_cell=np.arange(windows) * STEP, speech=truth_arr >= 0,
                         overlap=np.zeros(cells, dtype=bool))


def voice_of(truth: list[int], voices: dict[int, np.ndarray]):
    def embed(cells: np.ndarray) -> np.ndarray:
        speakers = [truth[c] for c in cells]
        vector = voices[max(set(speakers), key=speakers.count)]
        return vector / np.linalg.norm(vector)
    return embed


def turns(*parts: tuple[int, float]) -> list[int]:
    return [speaker for speaker, seconds in parts for _ in range(int(round(seconds * 10)))]


def test_stretches_break_at_silence_and_at_voice_changes():
    truth = turns((0, 2), (-1, 0.5), (0, 1), (1, 2))
    runs = stretches(evidence(truth))
    assert [(r[0], r[-1] + 1) for r in runs] == [(0, 20), (25, 35), (35, 55)]


def test_alternating_speakers_are_told_apart_by_the_windows_alone():
    truth = turns((0, 3), (1, 2), (0, 2.5), (1, 3), (0, 2))
    same_voice = {0: np.array([1.0, 0.0]), 1: np.array([1.0, 0.05])}  # voices the encoder cannot separate
    labels, embeddings = cluster(evidence(truth), voice_of(truth, same_voice))
    assert len(embeddings) == 2
    mapping = {truth[i]: labels[i] for i in range(len(truth))}
    assert all(labels[i] == mapping[truth[i]] for i in range(len(truth)))


def test_a_speaker_returning_after_a_long_gap_is_recognised_by_voice():
    # Window labels are arbitrary per window: nothing links the two A turns but their voice.
    truth = turns((0, 4), (-1, 8), (1, 4), (-1, 8), (0, 4))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0])}
    local = evidence(truth, label_of=lambda window, speaker: (window + speaker) % 3)
    labels, embeddings = cluster(local, voice_of(truth, voices))
    assert len(embeddings) == 2
    assert labels[10] == labels[len(truth) - 10] != labels[160]


def test_max_speakers_forces_merges_and_min_speakers_stops_them():
    truth = turns((0, 3), (1, 3), (2, 3))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0]), 2: np.array([0.0, 0.0, 1.0])}
    local = evidence(truth)
    assert len(cluster(local, voice_of(truth, voices))[1]) == 3
    assert len(cluster(local, voice_of(truth, voices), max_speakers=1)[1]) == 1
    one_voice = {k: np.array([1.0, 0.0, 0.0]) for k in voices}
    assert len(cluster(evidence(turns((0, 10))), voice_of(turns((0, 10)), one_voice), min_speakers=1)[1]) == 1


def test_a_stretch_put_with_the_wrong_speaker_moves_to_the_voice_it_has():
    truth = turns((0, 3), (-1, 1), (1, 3), (-1, 1), (0, 3), (-1, 1), (1, 3))
    local = evidence(truth)
    runs = stretches(local)
    assert len(runs) == 4
    voices = {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0])}
    wrong = {0: 0, 1: 1, 2: 1, 3: 1}  # the third stretch (speaker 0's voice) was grouped with speaker 1
    voiced = stretch_voices(runs, local, voice_of(truth, voices))
    assert _reassign(runs, wrong, voiced) == {0: 0, 1: 1, 2: 0, 3: 1}
    # A speaker keeps its last stretch, so re-assignment never changes how many speakers there are.
    only = {0: 1, 1: 1, 2: 1, 3: 0}
    assert set(_reassign(runs, only, voiced).values()) == {0, 1}


def test_one_voice_left_as_two_speakers_is_joined_unless_min_speakers_says_otherwise():
    truth = turns((0, 3), (-1, 8), (1, 3), (-1, 8), (0, 3))  # no window hears two of the stretches
    local = evidence(truth, label_of=lambda window, speaker: (window + speaker) % 3)
    runs = stretches(local)
    votes = window_votes(local, runs)
    embed = voice_of(truth, {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0])})
    split = {0: 0, 1: 1, 2: 2}
    voiced = stretch_voices(runs, local, embed)
    assert _join_same_person(runs, split, voiced, local, embed, 1, *votes) == {0: 0, 1: 1, 2: 0}
    assert _join_same_person(runs, split, voiced, local, embed, 3, *votes) == split


def test_silence_has_no_speakers():
    labels, embeddings = cluster(evidence([-1] * 60), lambda cells: np.ones(2))
    assert embeddings == {} and (labels == -1).all()


def test_pooling_maps_model_frames_onto_the_grid():
    scores = np.zeros((3, 293, 3), dtype=np.float32)
    scores[:, :150, 0] = 0.9  # first half of every window: local speaker 0
    scores[:, 150:, 1] = 0.8  # second half: local speaker 1
    local = pool(scores, window=5.0, duration=6.0)
    assert local.labels.shape == (3, 50)
    assert (local.labels[0, :25] == 0).all() and (local.labels[0, 26:] == 1).all()
    assert local.speech.all() and not local.overlap.any() and local.cells == 60
