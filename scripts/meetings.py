"""Multi-party meetings with exact reference turns, built from the real voices at hand.

No recording of a real meeting with reference turns ships offline. What does: pyannote.audio's
sample, a real two-person phone call with its RTTM. Its single-speaker stretches are cut into
utterances, and speed perturbation (x0.9, x1.1: pitch, formants and tempo move together) turns each
real voice into further voices, as speaker-recognition recipes do to make new training speakers
(Kaldi's x-vector recipe). Meetings of 3-4 such voices are then laid out with short turns (1-4 s),
pauses and cross-talk, from a fixed seed, so every run scores the same audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Meeting:
    name: str
    samples: np.ndarray
    turns: list[tuple[float, float, str]]  # (start, end, speaker), overlapping where they talk at once


def solo_stretches(reference) -> dict[str, list[tuple[float, float]]]:
    """Per speaker, the stretches where only that speaker talks (pyannote Annotation in)."""
    turns = [(s.start, s.end, label) for s, _, label in reference.itertracks(yield_label=True)]
    solo: dict[str, list[tuple[float, float]]] = {}
    for start, end, label in turns:
        pieces = [(start, end)]
        for other_start, other_end, other in turns:
            if other == label:
                continue
            pieces = [p for a, b in pieces for p in ((a, min(b, other_start)), (max(a, other_end), b)) if p[1] - p[0] > 0.05]
        solo.setdefault(label, []).extend(p for p in pieces if p[1] - p[0] >= 1.0)
    return solo


def voices(samples: np.ndarray, reference) -> dict[str, list[np.ndarray]]:
    """Each real speaker's solo speech, and two speed-perturbed voices made from it."""
    made: dict[str, list[np.ndarray]] = {}
    for label, stretches in sorted(solo_stretches(reference).items()):
        clips = [samples[int(a * SAMPLE_RATE): int(b * SAMPLE_RATE)] for a, b in stretches]
        for speed, suffix in ((Fraction(1), ""), (Fraction(9, 10), " x0.9"), (Fraction(11, 10), " x1.1")):
            # Played `speed` times as fast: resample by 1/speed and keep the sample rate.
            made[f"{label}{suffix}"] = [resample_poly(c, speed.denominator, speed.numerator).astype(np.float32)
                                        if speed != 1 else c for c in clips]
    return made


def meeting(name: str, pool: dict[str, list[np.ndarray]], speakers: list[str], seconds: float,
            rng: np.random.Generator) -> Meeting:
    """Turns of 1-4 s by speakers picked at random (never the same twice running), separated by
    -0.6..0.8 s: a negative gap is cross-talk, the next speaker starting before the last one ends."""
    out = np.zeros(int((seconds + 6) * SAMPLE_RATE), dtype=np.float32)
    turns: list[tuple[float, float, str]] = []
    clock, last = 0.3, None
    while clock < seconds:
        speaker = rng.choice([s for s in speakers if s != last])
        clips = pool[speaker]
        clip = clips[rng.integers(len(clips))]
        length = min(clip.size, int(rng.uniform(1.0, 4.0) * SAMPLE_RATE))
        offset = rng.integers(0, clip.size - length + 1)
        piece = clip[offset: offset + length]
        start = int(clock * SAMPLE_RATE)
        out[start: start + piece.size] += piece
        turns.append((start / SAMPLE_RATE, (start + piece.size) / SAMPLE_RATE, str(speaker)))
        clock = turns[-1][1] + rng.uniform(-0.6, 0.8)
        last = speaker
    end = max(t[1] for t in turns)
    return Meeting(name, np.clip(out[: int((end + 0.3) * SAMPLE_RATE)], -1, 1), turns)


def meetings(samples: np.ndarray, reference, count: int = 6, seconds: float = 60.0, seed: int = 16) -> list[Meeting]:
    pool = voices(samples, reference)
    rng = np.random.default_rng(seed)
    names = sorted(pool)
    made = []
    for index in range(count):
        size = 3 + index % 2  # 3 and 4 speakers in turn
        speakers = list(rng.choice(names, size=size, replace=False))
        made.append(meeting(f"meeting {index + 1}, {size} voices", pool, speakers, seconds, rng))
    return made
