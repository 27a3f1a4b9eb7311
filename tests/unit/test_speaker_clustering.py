"""The clustering logic on hand-made segmentation evidence and a fake voice encoder."""

from __future__ import annotations

import numpy as np

from app.adapters.speaker_clustering.clustering import (
    _join_same_person,
    _reassign,
    cluster,
    cross_talk,
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
    return LocalSpeakers(labels=labels, second=np.full_like(labels, -1), first_cell=np.arange(windows) * STEP,
                         speech=truth_arr >= 0, overlap=np.zeros(cells, dtype=bool))


def talking_over(local: LocalSpeakers, truth: list[int], under: dict[int, int],
                 label_of=lambda window, speaker: speaker % 3) -> LocalSpeakers:
    """`local` with `under[cell]` (a global speaker) heard under the dominant voice at those cells."""
    second = np.full_like(local.labels, -1)
    overlap = np.zeros(local.cells, dtype=bool)
    for cell, speaker in under.items():
        overlap[cell] = True
        for c in range(local.labels.shape[0]):
            if 0 <= cell - c * STEP < CELLS_PER_WINDOW:
                second[c, cell - c * STEP] = label_of(c, speaker)
    return LocalSpeakers(labels=local.labels, second=second, first_cell=local.first_cell, speech=local.speech,
                         overlap=overlap)


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


def test_long_stretches_are_cut_into_pieces_that_one_speaker_gets_back():
    truth = turns((0, 8), (-1, 0.5), (0, 2))
    local = evidence(truth)
    runs = stretches(local)
    assert [(r[0], r[-1] + 1) for r in runs] == [(0, 27), (27, 54), (54, 80), (85, 105)]
    labels, embeddings = cluster(local, voice_of(truth, {0: np.array([1.0, 0.0])}))
    assert len(embeddings) == 1 and (labels[np.array(truth) >= 0] == 0).all()


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
    truth = turns((0, 5), (1, 5), (2, 5))
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


def test_reassignment_leaves_the_groups_it_started_from_when_voices_sit_closer_another_way():
    # Window votes split A over speakers 0 and 1 and put B and C together: k-means from there stays
    # put (each stretch is already closest to its own speaker), the k-means++ restarts find A, B, C.
    runs = [np.arange(10 * i, 10 * i + 10) for i in range(8)]
    a, b, c = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    voiced = dict(enumerate([a, a, a, a, b, b, c, c]))
    stuck = {0: 0, 1: 0, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2, 7: 2}
    found = _reassign(runs, stuck, voiced)
    assert found[0] == found[1] == found[2] == found[3]
    assert found[4] == found[5] != found[6] == found[7]
    assert len({found[0], found[4], found[6]}) == 3
    assert _reassign(runs, stuck, voiced) == found  # seeded: the same speakers every time


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


def test_cross_talk_carries_both_speakers_named_by_the_windows():
    # B starts talking over the end of A's turn (cells 25-29), then A talks over B's end (45-49).
    truth = turns((0, 3), (1, 2), (2, 3))
    local = talking_over(evidence(truth), truth, {**{c: 1 for c in range(25, 30)}, **{c: 0 for c in range(45, 50)}})
    labels = np.array(truth)
    second = cross_talk(local, labels)
    assert (second[25:30] == 1).all() and (second[45:50] == 0).all()
    assert (second[:25] == -1).all() and (second[30:45] == -1).all() and (second[50:] == -1).all()


def test_cross_talk_no_window_can_name_goes_to_the_nearest_other_speaker():
    # The voice under A at cells 10-12 is a local label that dominates nowhere in its windows.
    truth = turns((0, 3), (1, 3))
    local = talking_over(evidence(truth), truth, {c: 2 for c in range(10, 13)}, label_of=lambda window, speaker: speaker)
    second = cross_talk(local, np.array(truth))
    assert (second[10:13] == -1).all()  # B (cells 30+) is further than a second away
    near = talking_over(evidence(truth), truth, {c: 2 for c in range(25, 28)}, label_of=lambda window, speaker: speaker)
    assert (cross_talk(near, np.array(truth))[25:28] == 1).all()


def test_a_speaker_heard_briefly_joins_the_closest_voice_unless_min_speakers():
    # 2 s of 37 s of speech: under 4 s and under a tenth of it.
    truth = turns((0, 10), (1, 10), (2, 2), (0, 15))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0]), 2: np.array([0.1, 0.6, 0.6])}
    labels, embeddings = cluster(evidence(truth), voice_of(truth, voices))
    assert len(embeddings) == 2 and labels[210] == labels[150]  # the 2 s voice is closest to speaker 1
    labels, embeddings = cluster(evidence(truth), voice_of(truth, voices), min_speakers=3)
    assert len(embeddings) == 3 and len({labels[10], labels[150], labels[210]}) == 3


def test_both_people_of_a_short_clip_are_kept():
    truth = turns((0, 3.5), (1, 3.5))
    voices = {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0])}
    assert len(cluster(evidence(truth), voice_of(truth, voices))[1]) == 2


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
    assert (local.second == -1).all()


def test_pooling_keeps_a_second_voice_active_at_the_same_time():
    scores = np.zeros((3, 293, 3), dtype=np.float32)
    scores[:, :, 0] = 0.9
    scores[:, 200:, 2] = 0.7  # local speaker 2 joins for the last third of every window
    local = pool(scores, window=5.0, duration=6.0)
    assert (local.labels == 0).all()
    assert (local.second[0, 36:] == 2).all() and (local.second[0, :33] == -1).all()
    assert local.overlap[39:50].all() and not local.overlap[:34].any()  # most windows over a cell must hear both
