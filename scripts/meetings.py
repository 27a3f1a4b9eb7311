"""Multi-party meetings of real, different people, with exact reference turns.

No recording of a real meeting with reference turns ships offline, but real people's speech does
(scripts/voices.py: 18 people). Meetings of 3-4 of them are laid out the way short meetings go:
turns of 1-3 s (one sentence, or a few words), pauses, a next speaker starting before the last one
ends (cross-talk) and short interjections over someone else's turn. Each voice is heard as through
one far-field microphone: its own level (-48 to -30 dBFS, as quiet meeting mics are), the room's
reverberation mixed in more for voices further away, and a noise floor. A fixed seed gives the same
audio on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from scripts.voices import SAMPLE_RATE, Person, utterances


@dataclass(frozen=True)
class Meeting:
    name: str
    samples: np.ndarray
    turns: list[tuple[float, float, str]]  # (start, end, speaker), overlapping where they talk at once


def room_response(rng: np.random.Generator, rt60: float, reverb_share: float) -> np.ndarray:
    """A direct path plus an exponentially decaying diffuse tail (energy falls 60 dB in rt60)."""
    length = int(rt60 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
    tail[: int(0.004 * SAMPLE_RATE)] = 0.0  # the first reflections arrive a few ms after the direct sound
    tail *= np.sqrt(reverb_share / (1 - reverb_share) / (tail**2).sum())
    response = tail
    response[0] = 1.0
    return response


def _level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    rms = np.sqrt((samples**2).mean()) or 1.0
    return samples * (10 ** (dbfs / 20) / rms)


class Voice:
    """One person in one meeting: their clips, heard through the meeting's room at their level."""

    def __init__(self, person: Person, clips: list[np.ndarray], rng: np.random.Generator, rt60: float) -> None:
        self.person = person
        self.clips = clips
        self.dbfs = rng.uniform(-48.0, -30.0)
        self.response = room_response(rng, rt60, reverb_share=rng.uniform(0.2, 0.6))

    def turn(
        self, rng: np.random.Generator, interjection: bool = False
    ) -> tuple[np.ndarray, list[tuple[float, float]]]:
        """Audio of one turn and the spans (in its own seconds) where the person speaks; an interjection
        is one short piece of one clip."""
        if interjection:
            clip = self.clips[rng.integers(len(self.clips))]
            pieces = [clip[: int(rng.uniform(0.4, 0.9) * SAMPLE_RATE)]]
        elif self.person.kind == "sentences":
            clip = self.clips[rng.integers(len(self.clips))]
            longest = int(rng.uniform(1.0, 3.5) * SAMPLE_RATE)
            if clip.size > longest:  # a long prompt is cut to a turn's length, as an interrupted sentence
                clip = clip[:longest]
            pieces = [clip]
        else:
            pieces = [self.clips[rng.integers(len(self.clips))] for _ in range(rng.integers(1, 4))]
        audio, spans, clock = [], [], 0
        for piece in pieces:
            if audio:
                gap = np.zeros(int(rng.uniform(0.08, 0.25) * SAMPLE_RATE), dtype=np.float32)
                audio.append(gap)
                clock += gap.size
            audio.append(piece)
            spans.append((clock / SAMPLE_RATE, (clock + piece.size) / SAMPLE_RATE))
            clock += piece.size
        return np.concatenate(audio), spans

    def heard(self, samples: np.ndarray) -> np.ndarray:
        return fftconvolve(_level(samples, self.dbfs), self.response)[: samples.size + self.response.size]


def meeting(
    name: str, people: list[Person], clips: dict[str, list[np.ndarray]], seconds: float, rng: np.random.Generator
) -> Meeting:
    rt60 = rng.uniform(0.3, 0.7)
    voices = [Voice(p, clips[p.name], rng, rt60) for p in people]
    out = np.zeros(int((seconds + 8) * SAMPLE_RATE), dtype=np.float64)
    turns: list[tuple[float, float, str]] = []

    def place(voice: Voice, at: float, interjection: bool = False) -> float:
        audio, spans = voice.turn(rng, interjection)
        heard = voice.heard(audio)
        start = int(at * SAMPLE_RATE)
        out[start : start + heard.size] += heard[: out.size - start]
        for a, b in spans:
            turns.append((round(at + a, 3), round(at + b, 3), voice.person.name))
        return at + spans[-1][1]

    clock, last = 0.4, None
    while clock < seconds:
        voice = voices[rng.choice([i for i in range(len(voices)) if i != last])]
        start = clock
        clock = place(voice, start)
        if rng.random() < 0.15 and clock - start > 1.5:  # someone else interjects mid-turn
            other = voices[rng.choice([i for i in range(len(voices)) if voices[i] is not voice])]
            place(other, rng.uniform(start + 0.3, clock - 0.8), interjection=True)
        clock += rng.uniform(-0.5, 0.9)
        last = voices.index(voice)
    end = max(t[1] for t in turns) + 0.5
    out = out[: int(end * SAMPLE_RATE)]
    out += _level(rng.standard_normal(out.size), -66.0)  # the microphone's noise floor
    return Meeting(name, np.clip(out, -1, 1).astype(np.float32), sorted(turns))


def meetings(people: tuple[Person, ...], count: int, seed: int, seconds: float = 40.0) -> list[Meeting]:
    """`count` meetings of 3 and 4 (in turn) of `people`, each from the same seed every run."""
    clips = {p.name: utterances(p) for p in people}
    rng = np.random.default_rng(seed)
    made = []
    for index in range(count):
        size = 3 + index % 2
        chosen = [people[i] for i in rng.choice(len(people), size=size, replace=False)]
        made.append(meeting(f"meeting {seed}-{index + 1}, {size} people", chosen, clips, seconds, rng))
    return made
