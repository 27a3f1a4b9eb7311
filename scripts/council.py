"""Meetings of the Seattle City Council, rebuilt from speakerbox's hand-labelled clips.

speakerbox 1.2.0 ships 73 clips of 9 council members from 5 meetings (scripts/recordings.py), each
named by its place in its meeting: `<meeting>/<person>/<start_ms>-<end_ms>.wav`. One room, one
microphone system and one language per meeting: voices are told apart by voice alone.

A window is up to 60 s (at least 30 s) of one meeting in its real order: consecutive clips, each heard
for one turn (the clip's start, 3-15 s of it; the whole clip when shorter), with the real gap where two
clips follow each other within 2 s and a pause of 0.2-1 s otherwise, with 2 to 2, 3 or 4 people (the most
drawn per window; a clip of one more person is skipped).
Some next speakers start before the last one ends (0.2-0.8 s of cross-talk), and into some turns another
person of the window says a word (0.4-0.9 s, the start of one of their clips), as in a meeting. A person's
references come from clips the window does not use: of the same meeting when it has one, and always of
the other meetings (how the registry is used: enrol once, name in every meeting after).

Far-field windows hear each person through the meeting room instead of their desk microphone: their
own level (-48 to -30 dBFS), the room's reverberation (RT60 0.3-0.7 s, more of it for voices further
away) and a noise floor, as scripts/meetings.py does. A same-meeting reference is then heard through
that person's place in the same room; another meeting's is clean (an enrolment made at a desk).

DEVELOPMENT meetings are the ones settings were chosen on; HELD_OUT meetings are only ever scored.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import soundfile

from scripts.meetings import _level, room_response
from scripts.recordings import council_clips

SAMPLE_RATE = 16_000
DEVELOPMENT = ("01e7f8bb1c03", "6d6702d7b820", "9f581faa5ece")
HELD_OUT = ("2cdf68ae3c2c", "9f55f22d8e61")
WINDOW_SECONDS = 60.0
MIN_WINDOW_SECONDS = 30.0  # a window that runs out of clips before this is not made
PRESENT_SECONDS = 2.0  # a person counts as present (for the speaker count) with this much speech
BACKCHANNEL_SHARE = 0.3  # turns of over 3 s that someone else speaks into briefly


@dataclass(frozen=True)
class Clip:
    meeting: str
    person: str
    start: float  # seconds into the meeting
    end: float
    path: Path

    def samples(self) -> np.ndarray:
        return _samples(self.path)


@cache
def _samples(path: Path) -> np.ndarray:
    audio, rate = soundfile.read(str(path), dtype="float32")
    assert rate == SAMPLE_RATE and audio.ndim == 1, path
    return audio


@dataclass(frozen=True)
class Window:
    name: str
    meeting: str
    samples: np.ndarray
    turns: list[tuple[float, float, str]]  # (start, end, person), overlapping where they talk at once
    used: frozenset[Path]  # clips heard in it (references never come from these)
    rooms: dict[str, tuple[np.ndarray, float]] | None = None  # far-field: each person's room response and level

    @property
    def people(self) -> list[str]:
        return sorted({person for _, _, person in self.turns})


def clips() -> dict[str, list[Clip]]:
    """Each meeting's clips in their order in the meeting."""
    by_meeting: dict[str, list[Clip]] = defaultdict(list)
    for path in council_clips().glob("*/*/*.wav"):
        start, end = (int(ms) / 1000 for ms in path.stem.split("-"))
        by_meeting[path.parent.parent.name].append(Clip(path.parent.parent.name, path.parent.name, start, end, path))
    return {meeting: sorted(found, key=lambda c: c.start) for meeting, found in sorted(by_meeting.items())}


def windows(meetings: tuple[str, ...], per_meeting: int, seed: int, *, far_field: bool = False) -> list[Window]:
    """`per_meeting` windows of each meeting, starting at different clips (a fixed seed: the same audio every run)."""
    rng = random.Random(seed)
    room_rng = np.random.default_rng(seed)
    every = clips()
    out = []
    for meeting in meetings:
        meeting_clips = every[meeting]
        starts = list(range(len(meeting_clips)))
        rng.shuffle(starts)
        made = 0
        for first in starts:
            window = _window(f"{meeting}#{first}", meeting, meeting_clips[first:], rng.choice((2, 3, 4)), rng)
            if window is not None and far_field:
                window = _far(window, room_rng)
            if window is not None:
                out.append(window)
                made += 1
            if made == per_meeting:
                break
    return out


def _window(name: str, meeting: str, ordered: list[Clip], most: int, rng: random.Random) -> Window | None:
    pieces: list[tuple[float, np.ndarray, str]] = []
    used: set[Path] = set()
    cursor, previous = 0.0, None
    for clip in ordered:
        people = {person for _, _, person in pieces}
        if clip.person not in people and len(people) == most:
            continue
        audio = clip.samples()
        length = min(audio.size / SAMPLE_RATE, rng.uniform(3.0, 15.0), WINDOW_SECONDS - cursor)
        if length < 0.3:
            break
        if previous is not None:
            gap = clip.start - previous.end
            if 0 <= gap <= 2.0:
                cursor += gap
            elif clip.person != previous.person and rng.random() < 0.3:
                cursor -= rng.uniform(0.2, 0.8)  # cross-talk: this one starts before the last one ends
            else:
                cursor += rng.uniform(0.2, 1.0)
        pieces.append((cursor, audio[: int(length * SAMPLE_RATE)], clip.person))
        used.add(clip.path)
        cursor += length
        previous = clip
        if cursor >= WINDOW_SECONDS - 0.3:
            break
    if len({person for _, _, person in pieces}) < 2 or cursor < MIN_WINDOW_SECONDS:
        return None
    people = sorted({person for _, _, person in pieces})
    for start, audio, person in list(pieces):  # backchannels: another person's "yes" / "right" over a turn
        length = audio.size / SAMPLE_RATE
        if length > 3.0 and rng.random() < BACKCHANNEL_SHARE:
            other = rng.choice([p for p in people if p != person])
            source = rng.choice([clip for clip in ordered if clip.person == other and clip.path in used])
            said = source.samples()[: int(rng.uniform(0.4, 0.9) * SAMPLE_RATE)]
            pieces.append((start + rng.uniform(1.0, length - 1.5), said, other))
    total = int(max(start + audio.size / SAMPLE_RATE for start, audio, _ in pieces) * SAMPLE_RATE) + 1
    mixed = np.zeros(total, dtype=np.float32)
    turns = []
    for start, audio, person in pieces:
        at = int(round(start * SAMPLE_RATE))
        mixed[at : at + audio.size] += audio
        turns.append((round(start, 3), round(start + audio.size / SAMPLE_RATE, 3), person))
    return Window(name, meeting, np.clip(mixed, -1, 1), sorted(turns), frozenset(used))


def _far(window: Window, rng: np.random.Generator) -> Window:
    """The window heard through its room: each turn through its speaker's place in it, plus a noise floor."""
    rt60 = rng.uniform(0.3, 0.7)
    everyone = sorted({clip.person for clip in clips()[window.meeting]})  # those not heard have a place too
    rooms = {
        person: (room_response(rng, rt60, reverb_share=rng.uniform(0.2, 0.6)), rng.uniform(-48.0, -30.0))
        for person in everyone
    }
    out = np.zeros(window.samples.size + SAMPLE_RATE, dtype=np.float64)
    for start, end, person in window.turns:
        dry = window.samples[int(round(start * SAMPLE_RATE)) : int(round(end * SAMPLE_RATE))]
        heard = _heard(dry, rooms[person])
        at = int(round(start * SAMPLE_RATE))
        out[at : at + heard.size] += heard[: out.size - at]
    out = out[: window.samples.size]
    out += _level(rng.standard_normal(out.size), -66.0)
    return Window(
        f"{window.name} far", window.meeting, np.clip(out, -1, 1).astype(np.float32), window.turns, window.used, rooms
    )


def _heard(samples: np.ndarray, room: tuple[np.ndarray, float]) -> np.ndarray:
    from scipy.signal import fftconvolve

    response, dbfs = room
    return fftconvolve(_level(samples.astype(np.float64), dbfs), response)[: samples.size]


def references(window: Window, person: str, seconds: float, *, same_meeting: bool) -> np.ndarray | None:
    """`seconds` of `person` from a clip the window does not use: of the window's meeting, or of another
    (the longest such clip, from its middle). None when there is none."""
    candidates = [
        clip
        for meeting, found in clips().items()
        for clip in found
        if clip.person == person
        and clip.path not in window.used
        and (meeting == window.meeting) == same_meeting
        and clip.end - clip.start >= seconds
    ]
    if not candidates:
        return None
    clip = max(candidates, key=lambda c: c.end - c.start)
    audio = clip.samples()
    middle = audio.size // 2
    half = int(seconds * SAMPLE_RATE) // 2
    piece = audio[max(0, middle - half) : max(0, middle - half) + int(seconds * SAMPLE_RATE)]
    if same_meeting and window.rooms is not None:  # heard from the person's place in the same room
        noise = np.random.default_rng(piece.size).standard_normal(piece.size)
        piece = np.clip(_heard(piece, window.rooms[person]) + _level(noise, -66.0), -1, 1).astype(np.float32)
    return piece


def present(turns) -> set[str]:
    spoken: dict[str, float] = {}
    for start, end, person in turns:
        spoken[person] = spoken.get(person, 0.0) + end - start
    return {person for person, seconds in spoken.items() if seconds >= PRESENT_SECONDS}


def misnamed(segments, turns, names: set[str] | tuple[str, ...], step: float = 0.05) -> tuple[float, float]:
    """(wrong, total) seconds of the transcript's segments where one person alone speaks: a named person
    under anything but their name, anyone else under any of the names."""
    speaking: dict[int, set[str]] = {}
    for start, end, person in turns:
        for frame in range(int(start / step), int(end / step)):
            speaking.setdefault(frame, set()).add(person)
    wrong = total = 0
    for start, end, speaker in segments:
        for frame in range(int(start / step), int(end / step)):
            people = speaking.get(frame, set())
            if len(people) == 1:
                person = next(iter(people))
                total += 1
                wrong += speaker != person if person in names else speaker in names
    return wrong * step, total * step


if __name__ == "__main__":
    for label, meetings, seed in (("development", DEVELOPMENT, 1), ("held out", HELD_OUT, 2)):
        for window in windows(meetings, 4, seed):
            print(
                f"{label:12} {window.name:18} {window.samples.size / SAMPLE_RATE:5.1f} s  {len(window.people)} people "
                f"{len(window.turns)} turns"
            )
