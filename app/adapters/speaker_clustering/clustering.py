"""From local speaker evidence and voice embeddings to global speaker labels.

1. Cut speech into *stretches*: runs of speech cells the segmentation windows agree are one voice,
   long ones cut again into pieces of about PIECE_SECONDS (a change the windows missed is then at
   most a piece long).
2. Embed every stretch with enough clean (single-speaker) speech and cluster those voices
   agglomeratively (average linkage over cosine distances, lengthened where the 5 s windows heard
   two stretches as different people): the speaker count is where the closest two clusters are
   further apart than SAME_SPEAKER, or what min/max_speakers allow.
3. A cluster heard for less than MIN_SPEAKER_SECONDS (or, in a long recording, MIN_SPEAKER_SHARE of
   its speech) is folded into the closest voice, as pyannote folds its small clusters: so little
   speech is more often a stray piece of a voice than a person.
4. Every stretch, short ones included, goes to the speaker whose voice (the centroid of its
   stretches) it matches best.
5. Where two people talk at once, give the cell the other speaker too (`cross_talk`).

SAME_SPEAKER was chosen on the development council meetings of scripts/council.py (real meetings, one
room each); the other thresholds on meetings of the development voices (scripts/voices.py). Neither
was tuned on the held-out ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

from app.adapters.speaker_clustering.local_speakers import CELL_SECONDS, LocalSpeakers

CHANGE_SHARE = 0.25  # share of windows that must see a voice change between two cells
PIECE_SECONDS = 2.0  # long stretches are cut into pieces about this long
EMBED_SECONDS = 0.5  # stretches with this much clean speech take part in the clustering
SAME_SPEAKER = 0.60  # cosine distance (1 - similarity) below which two clusters' voices are one person's
MIN_SPEAKER_SECONDS = 2.0  # a speaker heard for less is folded into the closest voice,
MIN_SPEAKER_SHARE = 0.02  # ... and so is one heard for less than this share of a long recording's speech
VOTE_WEIGHT = 0.15  # how far the windows' "other voice" votes (mean -1..0) push two stretches apart
REASSIGN_ROUNDS = 3
CROSS_TALK_REACH = 10  # cells (1 s): how far from cross-talk the other speaker may be heard alone

Embedder = Callable[[list[np.ndarray]], np.ndarray]  # cells of each stretch -> (n, dim) L2-normalised voices


def stretches(local: LocalSpeakers) -> list[np.ndarray]:
    """Runs of speech cells with no voice change between neighbours, cut into pieces of about
    PIECE_SECONDS: a change the windows missed is then at most a piece long, and each piece is still
    long enough to embed."""
    same = np.zeros(local.cells)
    differ = np.zeros(local.cells)
    windows, width = local.labels.shape
    for c in range(windows):
        labels = local.labels[c]
        cells = local.first_cell[c] + np.arange(width - 1)
        keep = cells + 1 < local.cells
        both = (labels[:-1] >= 0) & (labels[1:] >= 0)
        np.add.at(same, cells[keep], (both & (labels[:-1] == labels[1:]))[keep])
        np.add.at(differ, cells[keep], (both & (labels[:-1] != labels[1:]))[keep])
    runs: list[np.ndarray] = []
    current: list[int] = []
    vad_only = local.vad_only
    for cell in range(local.cells):
        if not local.speech[cell]:
            if current:
                runs.append(np.array(current))
            current = []
            continue
        # Split eagerly (a quarter of the windows seeing a change is enough): a missed change is never
        # undone. Speech only Silero heard is a stretch of its own: the windows cannot see a change
        # in it, and it often bridges two people's turns.
        if current and (
            differ[current[-1]] >= CHANGE_SHARE * (same[current[-1]] + differ[current[-1]]) > 0
            or (vad_only is not None and vad_only[cell] != vad_only[current[-1]])
        ):
            runs.append(np.array(current))
            current = []
        current.append(cell)
    if current:
        runs.append(np.array(current))
    per_piece = PIECE_SECONDS / CELL_SECONDS
    return [piece for run in runs for piece in np.array_split(run, max(1, int(round(run.size / per_piece))))]


def window_votes(local: LocalSpeakers, runs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(total, count): over the windows holding both stretches i and j, the sum of their votes
    (+1 same local speaker, -1 different) and the number of such windows."""
    n = len(runs)
    total = np.zeros((n, n))
    count = np.zeros((n, n))
    owner = np.full(local.cells, -1)
    for i, run in enumerate(runs):
        owner[run] = i
    windows, width = local.labels.shape
    for c in range(windows):
        cells = local.first_cell[c] + np.arange(width)
        keep = cells < local.cells
        labels, owners = local.labels[c][keep], owner[cells[keep]]
        present: dict[int, int] = {}
        for i in np.unique(owners[owners >= 0]):
            mine = labels[(owners == i) & (labels >= 0)]
            if mine.size >= 2:  # 0.2 s of the stretch inside this window
                present[int(i)] = int(np.bincount(mine).argmax())
        items = list(present.items())
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                (i, li), (j, lj) = items[a], items[b]
                vote = 1.0 if li == lj else -1.0
                total[i, j] += vote
                total[j, i] += vote
                count[i, j] += 1
                count[j, i] += 1
    return total, count


def cluster(
    local: LocalSpeakers, embed: Embedder, min_speakers: int | None = None, max_speakers: int | None = None
) -> np.ndarray:
    """Speaker index per cell (-1 = no speech), speakers numbered in order of first appearance."""
    labels = np.full(local.cells, -1)
    runs = stretches(local)
    if not runs:
        return labels
    clean = [run[~local.overlap[run]] for run in runs]
    cells = [c if c.size * CELL_SECONDS >= EMBED_SECONDS / 2 else run for c, run in zip(clean, runs)]
    voices = embed(cells)
    seconds = np.array([run.size * CELL_SECONDS for run in runs])
    voiced = np.flatnonzero(np.array([c.size * CELL_SECONDS >= EMBED_SECONDS for c in clean]))
    if voiced.size == 0:
        voiced = np.array([int(seconds.argmax())])
    total, count = window_votes(local, runs)
    votes = np.divide(total, count, out=np.zeros_like(total), where=count > 0)[np.ix_(voiced, voiced)]
    speaker_of_voiced = _agglomerate(voices[voiced], seconds[voiced], votes, min_speakers, max_speakers)
    speaker_of = _assign(voices, seconds, voiced, speaker_of_voiced)
    order = {s: i for i, s in enumerate(dict.fromkeys(speaker_of.tolist()))}
    for i, run in enumerate(runs):
        labels[run] = order[int(speaker_of[i])]
    return labels


def _agglomerate(
    voices: np.ndarray, seconds: np.ndarray, votes: np.ndarray, min_speakers: int | None, max_speakers: int | None
) -> np.ndarray:
    """Speaker number (0..k-1) of each voice.

    Only clusters heard for long enough count as speakers: the dendrogram is cut where the voices
    part by more than SAME_SPEAKER, or, under min/max_speakers, where that many such clusters
    exist; the stretches of the brief clusters left then go to the closest speaker's voice. Counting
    every cluster instead lets a few stray stretches stand for people while two real voices merge."""
    n = voices.shape[0]
    if n == 1:
        return np.zeros(1, dtype=int)
    # Windows that heard two stretches as different local speakers push them apart (cannot-link, as
    # pyannote keeps a chunk's local speakers apart); their "same speaker" votes are not used: in
    # reverberant meetings the segmentation model often hears two people as one.
    distance = np.clip(1.0 - voices @ voices.T - VOTE_WEIGHT * np.minimum(votes, 0.0), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    least = max(MIN_SPEAKER_SECONDS, MIN_SPEAKER_SHARE * seconds.sum())
    heard = np.concatenate([seconds, np.zeros(n - 1)])
    speakers_after = [int((seconds >= least).sum())]  # clusters heard long enough after each merge
    for step, (left, right) in enumerate(tree[:, :2].astype(int)):
        heard[n + step] = heard[left] + heard[right]
        speakers_after.append(
            speakers_after[-1] + int(heard[n + step] >= least) - int(heard[left] >= least) - int(heard[right] >= least)
        )
    merges = int(np.searchsorted(tree[:, 2], SAME_SPEAKER, side="right"))  # average linkage: heights only rise
    count = max(speakers_after[merges], 1)
    wanted = min(max(count, min_speakers or 1), max_speakers or n, n)
    if wanted > count:
        fewer = [m for m in range(merges + 1) if speakers_after[m] >= wanted]
        merges = fewer[-1] if fewer else n - wanted  # too little speech for that many: plain clusters
    elif wanted < count:
        merges = next(m for m in range(merges, n) if speakers_after[m] <= wanted)
    found = np.unique(_first_merges(tree, merges), return_inverse=True)[1]
    totals = np.bincount(found, weights=seconds)
    ranked = np.argsort(-totals)
    keep = max(int((totals >= least).sum()), min(wanted, ranked.size), 1)
    kept = ranked[:keep]
    centroids = _centroids(voices, seconds, found)[kept]
    brief = ~np.isin(found, kept)
    found[brief] = kept[(voices[brief] @ centroids.T).argmax(axis=1)]
    return np.unique(found, return_inverse=True)[1]


def _first_merges(tree: np.ndarray, merges: int) -> np.ndarray:
    """Cluster of each leaf after the tree's first `merges` merges: exactly n - merges clusters, where
    scipy's maxclust cut (and cut_tree) can give fewer when merge heights tie."""
    n = tree.shape[0] + 1
    parent = list(range(2 * n - 1))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for step in range(merges):
        left, right = int(tree[step, 0]), int(tree[step, 1])
        parent[root(left)] = parent[root(right)] = n + step
    return np.array([root(i) for i in range(n)])


def _centroids(voices: np.ndarray, seconds: np.ndarray, speaker_of: np.ndarray) -> np.ndarray:
    """Each speaker's voice: its stretches' voices averaged by length, L2-normalised."""
    sums = np.zeros((int(speaker_of.max()) + 1, voices.shape[1]))
    np.add.at(sums, speaker_of, voices * seconds[:, None])
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


def _assign(voices: np.ndarray, seconds: np.ndarray, voiced: np.ndarray, speaker_of_voiced: np.ndarray) -> np.ndarray:
    """Every stretch to the closest speaker voice; the voices are re-estimated from the clustered
    stretches a few times (k-means that keeps the count), the short stretches only follow."""
    speaker_of = speaker_of_voiced.copy()
    count = int(speaker_of.max()) + 1
    for _ in range(REASSIGN_ROUNDS):
        centroids = _centroids(voices[voiced], seconds[voiced], speaker_of)
        moved = (voices[voiced] @ centroids.T).argmax(axis=1)
        if len(np.unique(moved)) < count or (moved == speaker_of).all():
            break
        speaker_of = moved
    centroids = _centroids(voices[voiced], seconds[voiced], speaker_of)
    everyone = (voices @ centroids.T).argmax(axis=1)
    everyone[voiced] = speaker_of
    return everyone


def cross_talk(local: LocalSpeakers, labels: np.ndarray) -> np.ndarray:
    """Per cell, a second speaker talking over the one `labels` gives it (-1: none).

    Where the windows heard two local speakers at once, each names the other one by its local label,
    and that label stands for the speaker its window's cells were given where it dominated. The
    other voice may dominate nowhere in the window (a short interjection); then it is the nearest
    other speaker within CROSS_TALK_REACH, since people mostly talk over each other at a turn change.
    """
    second = np.full(local.cells, -1)
    if labels.max(initial=-1) < 1:
        return second
    votes = np.zeros((local.cells, int(labels.max()) + 1))
    windows, width = local.labels.shape
    for c in range(windows):
        cells = local.first_cell[c] + np.arange(width)
        keep = cells < local.cells
        cells, mine, other = cells[keep], local.labels[c][keep], local.second[c][keep]
        talked_over = np.flatnonzero(local.overlap[cells] & (other >= 0) & (labels[cells] >= 0))
        if not talked_over.size:
            continue
        speaker_of_label = {}
        for label in np.unique(mine[mine >= 0]):
            held = labels[cells[(mine == label) & ~local.overlap[cells]]]
            if held[held >= 0].size:
                speaker_of_label[int(label)] = int(np.bincount(held[held >= 0]).argmax())
        for j in talked_over:
            speaker = speaker_of_label.get(int(other[j]))
            if speaker is not None and speaker != labels[cells[j]]:
                votes[cells[j], speaker] += 1
    named = votes.max(axis=1) > 0
    second[named] = votes[named].argmax(axis=1)
    for cell in np.flatnonzero(local.overlap & ~named & (labels >= 0)):
        near = np.arange(max(0, int(cell) - CROSS_TALK_REACH), min(local.cells, int(cell) + CROSS_TALK_REACH + 1))
        others = near[(labels[near] >= 0) & (labels[near] != labels[cell])]
        if others.size:
            second[cell] = labels[others[np.abs(others - cell).argmin()]]
    return second
