"""The clustering logic on hand-made segmentation evidence and a fake voice encoder."""

from __future__ import annotations

import numpy as np

from app.adapters.speaker_clustering.clustering import cluster, cross_talk, stretches
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
    return LocalSpeakers(
        labels=labels,
        second=np.full_like(labels, -1),
        first_cell=np.arange(windows) * STEP,
        speech=truth_arr >= 0,
        overlap=np.zeros(cells, dtype=bool),
    )


def talking_over(
    local: LocalSpeakers, truth: list[int], under: dict[int, int], label_of=lambda window, speaker: speaker % 3
) -> LocalSpeakers:
    """`local` with `under[cell]` (a global speaker) heard under the dominant voice at those cells."""
    second = np.full_like(local.labels, -1)
    overlap = np.zeros(local.cells, dtype=bool)
    for cell, speaker in under.items():
        overlap[cell] = True
        for c in range(local.labels.shape[0]):
            if 0 <= cell - c * STEP < CELLS_PER_WINDOW:
                second[c, cell - c * STEP] = label_of(c, speaker)
    return LocalSpeakers(
        labels=local.labels, second=second, first_cell=local.first_cell, speech=local.speech, overlap=overlap
    )


def voice_of(truth: list[int], voices: dict[int, np.ndarray]):
    """A fake encoder: each stretch has the voice of the speaker most of its cells belong to."""

    def embed(stretches: list[np.ndarray]) -> np.ndarray:
        out = []
        for cells in stretches:
            speakers = [truth[c] for c in cells]
            vector = voices[max(set(speakers), key=speakers.count)]
            out.append(vector / np.linalg.norm(vector))
        return np.stack(out)

    return embed


def speakers_of(labels: np.ndarray) -> int:
    return len(set(labels[labels >= 0].tolist()))


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
    assert [(r[0], r[-1] + 1) for r in runs] == [(0, 20), (20, 40), (40, 60), (60, 80), (85, 105)]
    labels = cluster(local, voice_of(truth, {0: np.array([1.0, 0.0])}))
    assert speakers_of(labels) == 1 and (labels[np.array(truth) >= 0] == 0).all() and (labels[80:85] == -1).all()


def test_alternating_speakers_are_told_apart_by_their_voices():
    truth = turns((0, 3), (1, 2), (0, 2.5), (1, 3), (0, 2))
    voices = {0: np.array([1.0, 0.0]), 1: np.array([0.2, 1.0])}
    labels = cluster(evidence(truth), voice_of(truth, voices))
    assert speakers_of(labels) == 2
    mapping = {truth[i]: labels[i] for i in range(len(truth))}
    assert mapping[0] != mapping[1] and all(labels[i] == mapping[truth[i]] for i in range(len(truth)))


def test_voices_as_close_as_one_persons_are_one_speaker():
    truth = turns((0, 3), (1, 3), (0, 3))
    close = {0: np.array([1.0, 0.0]), 1: np.array([1.0, 0.5])}  # cosine 0.89: distance 0.11, under SAME_SPEAKER
    assert speakers_of(cluster(evidence(truth), voice_of(truth, close))) == 1


def test_a_speaker_returning_after_a_long_gap_is_recognised_by_voice():
    # Window labels are arbitrary per window: nothing links the two A turns but their voice.
    truth = turns((0, 4), (-1, 8), (1, 4), (-1, 8), (0, 4))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0])}
    local = evidence(truth, label_of=lambda window, speaker: (window + speaker) % 3)
    labels = cluster(local, voice_of(truth, voices))
    assert speakers_of(labels) == 2
    assert labels[10] == labels[len(truth) - 10] != labels[160]


def test_speakers_are_numbered_in_order_of_first_appearance():
    truth = turns((2, 3), (0, 3), (1, 3))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0]), 2: np.array([0.0, 0.0, 1.0])}
    labels = cluster(evidence(truth), voice_of(truth, voices))
    assert (labels[0], labels[40], labels[70]) == (0, 1, 2)


def test_max_speakers_forces_merges_and_min_speakers_stops_them():
    truth = turns((0, 5), (1, 5), (2, 5))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0]), 2: np.array([0.0, 0.2, 1.0])}
    local = evidence(truth)
    assert speakers_of(cluster(local, voice_of(truth, voices))) == 3
    labels = cluster(local, voice_of(truth, voices), max_speakers=2)
    assert speakers_of(labels) == 2 and labels[75] == labels[125] != labels[25]  # the closest two voices merge
    assert speakers_of(cluster(local, voice_of(truth, voices), max_speakers=1)) == 1
    one_voice = {k: np.array([1.0, 0.0, 0.0]) for k in voices}
    assert speakers_of(cluster(local, voice_of(truth, one_voice), min_speakers=3)) == 3


def test_a_stretch_too_short_to_cluster_goes_to_the_voice_it_matches():
    # B's 0.3 s interjection is too short to take part in the clustering; its voice still names it.
    truth = turns((0, 3), (-1, 0.5), (1, 3), (-1, 0.5), (0, 0.3), (-1, 0.5), (1, 0.3), (-1, 0.5), (0, 3))
    voices = {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0])}
    labels = cluster(evidence(truth), voice_of(truth, voices))
    a, b = labels[10], labels[45]
    assert a != b and labels[71] == a and labels[79] == b


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
    local = talking_over(
        evidence(truth), truth, {c: 2 for c in range(10, 13)}, label_of=lambda window, speaker: speaker
    )
    second = cross_talk(local, np.array(truth))
    assert (second[10:13] == -1).all()  # B (cells 30+) is further than a second away
    near = talking_over(evidence(truth), truth, {c: 2 for c in range(25, 28)}, label_of=lambda window, speaker: speaker)
    assert (cross_talk(near, np.array(truth))[25:28] == 1).all()


def test_a_voice_heard_briefly_joins_the_closest_speaker():
    # 1 s of a voice like nobody else's: more often a stray piece of a voice than a person.
    truth = turns((0, 10), (1, 10), (2, 1), (0, 15))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0]), 2: np.array([0.0, 0.25, 1.0])}
    labels = cluster(evidence(truth), voice_of(truth, voices))
    assert speakers_of(labels) == 2 and labels[205] == labels[150]  # the brief voice is closest to speaker 1


def test_min_speakers_parts_the_closest_voices_it_needs():
    # A third person heard for 3 s whose voice is close to speaker 1's (cosine 0.7): one speaker with
    # them unaided, their own with min_speakers=3.
    truth = turns((0, 10), (1, 10), (2, 3), (0, 15))
    voices = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0]), 2: np.array([0.1, 0.6, 0.6])}
    assert speakers_of(cluster(evidence(truth), voice_of(truth, voices))) == 2
    labels = cluster(evidence(truth), voice_of(truth, voices), min_speakers=3)
    assert speakers_of(labels) == 3 and len({labels[10], labels[150], labels[215]}) == 3


def test_a_stray_stretch_does_not_take_a_speakers_place_when_the_count_is_given():
    # Three people and one odd 1 s stretch (noise, a laugh) whose voice is like nobody's: told there are
    # three speakers, the three people are kept apart and the stray joins the closest of them.
    truth = turns((0, 6), (1, 6), (3, 1), (2, 6), (0, 6), (1, 6), (2, 6))
    voices = {
        0: np.array([1.0, 0.0, 0.0, 0.0]),
        1: np.array([0.0, 1.0, 0.0, 0.0]),
        2: np.array([0.0, 0.8, 0.6, 0.0]),
        3: np.array([0.0, 0.0, 0.3, 1.0]),
    }
    labels = cluster(evidence(truth), voice_of(truth, voices), min_speakers=3, max_speakers=3)
    a, b, stray, c = labels[30], labels[90], labels[125], labels[160]
    assert speakers_of(labels) == 3 and len({a, b, c}) == 3 and stray == c


def test_both_people_of_a_short_clip_are_kept():
    truth = turns((0, 3.5), (1, 3.5))
    voices = {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0])}
    assert speakers_of(cluster(evidence(truth), voice_of(truth, voices))) == 2


def test_silence_has_no_speakers():
    labels = cluster(evidence([-1] * 60), lambda stretches: np.ones((len(stretches), 2)))
    assert (labels == -1).all()


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
    # Windows start every second (cells 0, 10, 20): a cell is cross-talk where most windows over it hear both.
    assert local.overlap[44:50].all() and not local.overlap[:44].any()


class RecordingEncoder:
    """Embeds a piece as its length on the first axis (L2-normalised with a second one), recording pieces."""

    model_name = "recording"

    def __init__(self) -> None:
        self.pieces: list[int] = []

    def embed_many(self, pieces: list[np.ndarray]) -> np.ndarray:
        self.pieces += [piece.shape[0] for piece in pieces]
        return np.array([[1.0, 0.0] if piece.shape[0] > 16_000 * 5 else [0.0, 1.0] for piece in pieces])


def test_a_voice_print_is_the_length_weighted_mean_of_its_stretches_prints():
    from app.adapters.speaker_clustering.diarizer import EncoderVoicePrinter
    from app.domain.models import Audio

    encoder = RecordingEncoder()
    audio = Audio(samples=np.zeros(16_000 * 100, dtype=np.float32), duration=100.0)
    # 7 + 7 + 7 s of speech: joined in order into pieces of at most 10 s.
    voice = EncoderVoicePrinter(encoder).voice_print(audio, [(0, 7), (20, 27), (40, 47)])
    assert encoder.pieces == [160_000, 160_000, 16_000]
    assert voice[0] > voice[1] > 0 and abs(voice[0] ** 2 + voice[1] ** 2 - 1) < 1e-9  # 20 s one way, 1 s the other
    encoder.pieces.clear()
    EncoderVoicePrinter(encoder).voice_print(audio, [(0, 100)])
    assert encoder.pieces == [160_000] * 6  # at most 60 s in all
