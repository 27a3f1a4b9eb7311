"""From local speaker evidence and voice embeddings to global speaker labels.

1. Cut speech into *stretches*: runs of speech cells the segmentation windows agree are one voice,
   long ones cut again into pieces of about PIECE_SECONDS.
2. Link stretches that share a 5 s window: the windows vote same voice (+1) or different (-1).
   Strong positive votes merge stretches into groups; strong negative votes forbid a merge.
3. Embed each group over all its audio (whole single-speaker stretches give resemblyzer enough
   speech to separate similar voices) and merge groups whose voices match, which links the same
   speaker across long gaps. The speaker count falls out of the threshold, or of min/max_speakers.
4. Re-assign each stretch by its own voice to the nearest speaker (k-means over the stretches), since
   window votes can put another speaker's short turns into a group.
5. Join speakers whose whole voices match as one person's, unless the windows told them apart.
6. Give a speaker heard for less than MIN_SPEAKER_SECONDS, and for a small share of the recording's
   speech, to the closest voice: so little is more often a piece split off a voice than a person.
7. Where two people talk at once, give the cell the other speaker too (`cross_talk`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from app.adapters.speaker_clustering.local_speakers import CELL_SECONDS, LocalSpeakers

LINK = 0.5  # mean window vote that makes two stretches one voice
CANNOT_LINK = -0.5  # ... or two different voices
SAME_VOICE = 0.80  # cosine similarity of group embeddings that merges them
MIN_EMBED_SECONDS = 1.0  # groups with less speech are too short to embed reliably
CHANGE_SHARE = 0.25  # share of windows that must see a voice change between two cells
PIECE_SECONDS = 2.5  # long stretches are cut into pieces about this long
REASSIGN_SECONDS = 0.6  # stretches with this much clean speech are re-assigned by their own voice
REASSIGN_ROUNDS = 5
REASSIGN_RESTARTS = 20  # k-means++ starts tried besides the window-vote groups
SAME_PERSON = 0.92  # cosine of two speakers' whole voices that makes them one person
MIN_SPEAKER_SECONDS = 4.0  # a speaker heard for less, and for less than MIN_SPEAKER_SHARE of the speech,
MIN_SPEAKER_SHARE = 0.1  # is joined to the closest voice (unless min_speakers says otherwise)
CROSS_TALK_REACH = 10  # cells (1 s): how far from cross-talk the other speaker may be heard alone


@dataclass
class Group:
    stretches: list[int]
    seconds: float
    embedding: np.ndarray | None = None


def stretches(local: LocalSpeakers) -> list[np.ndarray]:
    """Runs of speech cells with no voice change between neighbours, cut into pieces of about
    PIECE_SECONDS: a change the windows missed is then at most a piece long, and each piece is still
    long enough to embed (the window votes join pieces of one voice again). On the benchmark's built
    meetings of seeds 17 and 18, 2.5 s beat whole runs and 3.5 s pieces; 2 s ones hurt the phone call."""
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
    for cell in range(local.cells):
        if not local.speech[cell]:
            if current:
                runs.append(np.array(current))
            current = []
            continue
        # Split eagerly (a quarter of the windows seeing a change is enough): the window votes
        # re-join pieces of one voice later, but a missed change is never undone.
        if current and differ[current[-1]] >= CHANGE_SHARE * (same[current[-1]] + differ[current[-1]]) > 0:
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
    local: LocalSpeakers,
    embed: Callable[[np.ndarray], np.ndarray],
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Speaker index per cell (-1 = no speech) and one embedding per speaker.

    `embed(cells)` returns an L2-normalised voice embedding of the audio of those cells.
    """
    # The same cells are asked for more than once: a one-stretch group is also that stretch, and a
    # speaker's whole voice is asked for again while nothing about it changed.
    embed = _memoised(embed)
    runs = stretches(local)
    labels = np.full(local.cells, -1)
    if not runs:
        return labels, {}
    total, count = window_votes(local, runs)
    votes = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    parent = list(range(len(runs)))
    # The votes between groups, summed over their stretches: a group's row and column (its root's)
    # gain the other's as they merge, so no check has to gather the members again.
    group_total, group_count = total.copy(), count.copy()

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def forbidden(a: int, b: int) -> bool:
        # Pooled over every window that saw both groups, so one odd window cannot veto a merge.
        seen = group_count[a, b]
        return bool(seen > 0 and group_total[a, b] / seen <= CANNOT_LINK)

    linked = np.argwhere(np.triu(votes >= LINK, k=1))
    for i, j in sorted(linked.tolist(), key=lambda pair: (votes[pair[0], pair[1]], *pair), reverse=True):
        a, b = find(i), find(j)
        if a != b and not forbidden(a, b):
            parent[b] = a
            for matrix in (group_total, group_count):
                matrix[a, :] += matrix[b, :]
                matrix[:, a] += matrix[:, b]

    groups: dict[int, Group] = {}
    for i, run in enumerate(runs):
        group = groups.setdefault(find(i), Group(stretches=[], seconds=0.0))
        group.stretches.append(i)
        group.seconds += len(run) * CELL_SECONDS
    for group in groups.values():
        cells = np.concatenate([runs[i] for i in group.stretches])
        clean = cells[~local.overlap[cells]]
        group.embedding = embed(clean if clean.size * CELL_SECONDS >= MIN_EMBED_SECONDS / 2 else cells)

    speakers = _merge_by_voice(groups, forbidden, min_speakers, max_speakers)
    speaker_of = {i: index for index, members in enumerate(speakers) for root in members for i in groups[root].stretches}
    voiced = stretch_voices(runs, local, embed)
    speaker_of = _reassign(runs, speaker_of, voiced)
    speaker_of = _join_same_person(runs, speaker_of, voiced, local, embed, min_speakers or 1, total, count)
    speaker_of = _absorb_brief_speakers(runs, speaker_of, voiced, local, embed, min_speakers or 1)
    order = {speaker: index for index, speaker in enumerate(dict.fromkeys(speaker_of[i] for i in range(len(runs))))}
    embeddings: dict[int, np.ndarray] = {}
    for speaker, index in order.items():
        embeddings[index] = _speaker_voice(runs, speaker_of, speaker, local, embed)
    for i, run in enumerate(runs):
        labels[run] = order[speaker_of[i]]
    return labels, embeddings


def _speaker_voice(runs, speaker_of, speaker, local: LocalSpeakers, embed) -> np.ndarray:
    """The voice of all of one speaker's stretches; `embed` is memoised per set of stretches by cluster()."""
    cells = np.concatenate([runs[i] for i in sorted(speaker_of) if speaker_of[i] == speaker])
    clean = cells[~local.overlap[cells]]
    return embed(clean if clean.size * CELL_SECONDS >= MIN_EMBED_SECONDS / 2 else cells)


def _join_same_person(runs, speaker_of: dict[int, int], voiced: dict[int, np.ndarray], local: LocalSpeakers, embed,
                      floor: int, total: np.ndarray, count: np.ndarray) -> dict[int, int]:
    """Two speakers whose voices, heard over all their stretches, match as one person's do (the real
    call: 0.93 for one person, 0.83 for the other) are one, unless the windows that heard both said
    they differ: re-assignment can leave one voice split."""
    speaker_of = dict(speaker_of)

    def told_apart(a: int, b: int) -> bool:
        mine = [i for i, s in speaker_of.items() if s == a]
        theirs = [i for i, s in speaker_of.items() if s == b]
        seen = count[np.ix_(mine, theirs)].sum()
        return bool(seen > 0 and total[np.ix_(mine, theirs)].sum() / seen <= CANNOT_LINK)

    while len(set(speaker_of.values())) > floor:
        speakers = sorted(set(speaker_of.values()))
        voices = {s: _speaker_voice(runs, speaker_of, s, local, embed) for s in speakers}
        pairs = [(float(voices[a] @ voices[b]), a, b) for x, a in enumerate(speakers) for b in speakers[x + 1:]
                 if not told_apart(a, b)]
        if not pairs:
            break
        similarity, a, b = max(pairs)
        if similarity < SAME_PERSON:
            break
        speaker_of = {i: a if s == b else s for i, s in speaker_of.items()}
        speaker_of = _reassign(runs, speaker_of, voiced)
    return speaker_of


def _absorb_brief_speakers(runs, speaker_of: dict[int, int], voiced: dict[int, np.ndarray], local: LocalSpeakers,
                           embed, floor: int) -> dict[int, int]:
    """The briefest speaker, while heard for less than MIN_SPEAKER_SECONDS and for less than
    MIN_SPEAKER_SHARE of all speech, joins the speaker whose voice is closest. On the built meetings a
    brief speaker was a piece of a longer voice (speaker count off by 0.5 instead of 0.9); pyannote's
    clustering likewise folds its small clusters. The share keeps both people of a short clip."""
    speaker_of = dict(speaker_of)
    while len(set(speaker_of.values())) > floor:
        seconds: dict[int, float] = {}
        for i, speaker in speaker_of.items():
            seconds[speaker] = seconds.get(speaker, 0.0) + runs[i].size * CELL_SECONDS
        brief = min(seconds, key=lambda s: (seconds[s], s))
        if seconds[brief] >= min(MIN_SPEAKER_SECONDS, MIN_SPEAKER_SHARE * sum(seconds.values())):
            break
        voices = {s: _speaker_voice(runs, speaker_of, s, local, embed) for s in seconds}
        closest = max((s for s in seconds if s != brief), key=lambda s: float(voices[s] @ voices[brief]))
        speaker_of = {i: closest if s == brief else s for i, s in speaker_of.items()}
        speaker_of = _reassign(runs, speaker_of, voiced)
    return speaker_of


def _memoised(embed: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    seen: dict[bytes, np.ndarray] = {}

    def cached(cells: np.ndarray) -> np.ndarray:
        key = np.asarray(cells, dtype=np.int64).tobytes()
        if key not in seen:
            seen[key] = embed(cells)
        return seen[key]

    return cached


def stretch_voices(runs: list[np.ndarray], local: LocalSpeakers, embed: Callable[[np.ndarray], np.ndarray]) -> dict[int, np.ndarray]:
    """The voice of each stretch with enough clean (single-speaker) speech to embed."""
    voiced = {}
    for i, run in enumerate(runs):
        clean = run[~local.overlap[run]]
        if clean.size * CELL_SECONDS >= REASSIGN_SECONDS:
            voiced[i] = embed(clean)
    return voiced


def _reassign(runs: list[np.ndarray], speaker_of: dict[int, int], voiced: dict[int, np.ndarray]) -> dict[int, int]:
    """Each stretch long enough to embed goes to the speaker whose voice it matches best (k-means on
    the stretches, the count kept). Groups joined by window votes can hold another speaker's short
    turns; their own voice gives them away. Started only from those groups, k-means stays where they
    put it (one voice split in two while two others share a speaker), so it also starts from
    REASSIGN_RESTARTS k-means++ seedings and keeps the outcome whose stretches sit closest to their voices."""
    count = len(set(speaker_of.values()))
    if count < 2 or not voiced:
        return speaker_of
    best = _kmeans(runs, speaker_of, voiced)
    if len(voiced) <= count:
        return best
    spread = _spread(runs, best, voiced)
    rng = np.random.default_rng(0)  # fixed: the same recording always gets the same speakers
    for _ in range(REASSIGN_RESTARTS):
        trial = _kmeans(runs, _seeded(runs, speaker_of, voiced, rng), voiced)
        if len({trial[i] for i in voiced}) == count and (trial_spread := _spread(runs, trial, voiced)) < spread - 1e-9:
            best, spread = trial, trial_spread
    return best


def _kmeans(runs: list[np.ndarray], speaker_of: dict[int, int], voiced: dict[int, np.ndarray]) -> dict[int, int]:
    """Voices re-estimated from their stretches, stretches moved to the closest voice, until nothing moves."""
    speaker_of = dict(speaker_of)
    keys = list(voiced)
    vectors = np.stack([voiced[i] for i in keys])
    for _ in range(REASSIGN_ROUNDS):
        centroids = _centroids(runs, speaker_of, voiced)
        speakers = list(centroids)
        closest = (vectors @ np.stack([centroids[s] for s in speakers]).T).argmax(axis=1)
        members = Counter(speaker_of[i] for i in keys)
        moved = False
        for index, i in enumerate(keys):
            best = speakers[closest[index]]
            if best != speaker_of[i] and members[speaker_of[i]] > 1:  # a speaker keeps its last stretch: the count stays
                members[speaker_of[i]] -= 1
                members[best] += 1
                speaker_of[i] = best
                moved = True
        if not moved:
            break
    return speaker_of


def _centroids(runs: list[np.ndarray], speaker_of: dict[int, int], voiced: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Each speaker's voice: its embedded stretches averaged by length, L2-normalised."""
    sums: dict[int, np.ndarray] = {}
    for i, vector in voiced.items():
        sums[speaker_of[i]] = sums.get(speaker_of[i], 0.0) + runs[i].size * vector
    return {speaker: total / (np.linalg.norm(total) or 1.0) for speaker, total in sums.items()}


def _spread(runs: list[np.ndarray], speaker_of: dict[int, int], voiced: dict[int, np.ndarray]) -> float:
    """How far, length-weighted, the embedded stretches sit from their speaker's voice (k-means' inertia)."""
    centroids = _centroids(runs, speaker_of, voiced)
    return sum(runs[i].size * (1.0 - float(vector @ centroids[speaker_of[i]])) for i, vector in voiced.items())


def _seeded(runs: list[np.ndarray], speaker_of: dict[int, int], voiced: dict[int, np.ndarray],
            rng: np.random.Generator) -> dict[int, int]:
    """A k-means++ start: seeds drawn far from the seeds before (longer stretches likelier), every
    embedded stretch given its closest seed. Seeds take the speaker numbers they share most speech
    with, so the stretches too short to embed stay with the speaker most of their group went to."""
    speakers = sorted(set(speaker_of.values()))
    keys = list(voiced)
    vectors = np.stack([voiced[i] for i in keys])
    weights = np.array([runs[i].size for i in keys], dtype=float)
    seeds = [vectors[rng.choice(len(keys), p=weights / weights.sum())]]
    while len(seeds) < len(speakers):
        distance = np.clip(1.0 - vectors @ np.stack(seeds).T, 0.0, None).min(axis=1) * weights
        seeds.append(vectors[rng.choice(len(keys), p=distance / distance.sum())] if distance.sum() > 0
                     else vectors[rng.choice(len(keys))])
    nearest = (vectors @ np.stack(seeds).T).argmax(axis=1)
    shared = np.zeros((len(seeds), len(speakers)))
    for index, i in enumerate(keys):
        shared[nearest[index], speakers.index(speaker_of[i])] += weights[index]
    rows, columns = linear_sum_assignment(-shared)
    number = {int(r): speakers[int(c)] for r, c in zip(rows, columns)}
    seeded = dict(speaker_of)
    for index, i in enumerate(keys):
        seeded[i] = number[int(nearest[index])]
    return seeded


def _voice(groups: dict[int, Group], members: list[int]) -> np.ndarray:
    """The members' embeddings averaged by speech duration, L2-normalised."""
    weights = np.array([groups[r].seconds for r in members])
    mean = np.average(np.stack([groups[r].embedding for r in members]), axis=0, weights=weights)
    return mean / (np.linalg.norm(mean) or 1.0)


def _merge_by_voice(groups: dict[int, Group], forbidden, min_speakers, max_speakers) -> list[list[int]]:
    """Groups whose voices match merge, closest pair first, never against the windows' votes unless
    over max_speakers. Voices and their similarities are updated only for the group that changed:
    an hour of speech has hundreds of groups."""
    clusters = [[root] for root in sorted(groups, key=lambda r: -groups[r].seconds)]
    size = len(clusters)
    blocked = np.array([[forbidden(a[0], b[0]) for b in clusters] for a in clusters], dtype=bool).reshape(size, size)
    voices = np.stack([groups[c[0]].embedding for c in clusters])
    similarity = voices @ voices.T
    seconds = np.array([groups[c[0]].seconds for c in clusters])
    alive = np.ones(size, dtype=bool)

    def join(x: int, y: int) -> None:
        clusters[x].extend(clusters[y])
        seconds[x] += seconds[y]
        alive[y] = False
        blocked[x, :] |= blocked[y, :]
        blocked[:, x] |= blocked[:, y]
        voices[x] = _voice(groups, clusters[x])
        similarity[x, :] = similarity[:, x] = voices @ voices[x]

    # Short groups first join the voice they match best: their own embeddings are unreliable.
    for small in np.flatnonzero(seconds < MIN_EMBED_SECONDS):
        others = np.flatnonzero(alive & (seconds >= MIN_EMBED_SECONDS) & ~blocked[small])
        if others.size:
            join(int(others[similarity[small, others].argmax()]), int(small))

    floor = min_speakers or 1
    upper = np.triu(np.ones((size, size), dtype=bool), k=1)
    while alive.sum() > floor:
        too_many = max_speakers is not None and alive.sum() > max_speakers
        candidates = upper & alive[:, None] & alive[None, :]
        # Over max_speakers, the closest voices merge even against the windows' votes.
        allowed = candidates & ~blocked
        pairs = allowed if allowed.any() else (candidates if too_many else None)
        if pairs is None or not pairs.any():
            break
        x, y = np.unravel_index(np.where(pairs, similarity, -np.inf).argmax(), pairs.shape)
        if similarity[x, y] < SAME_VOICE and not too_many:
            break
        join(int(x), int(y))
    return [clusters[x] for x in range(size) if alive[x]]


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
        near = np.arange(max(0, cell - CROSS_TALK_REACH), min(local.cells, cell + CROSS_TALK_REACH + 1))
        others = near[(labels[near] >= 0) & (labels[near] != labels[cell])]
        if others.size:
            second[cell] = labels[others[np.abs(others - cell).argmin()]]
    return second
