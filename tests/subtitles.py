"""Strict little parsers for SubRip and WebVTT, so tests check structure, not substrings."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SRT_TIME = r"(\d{2}):(\d{2}):(\d{2}),(\d{3})"
_VTT_TIME = r"(?:(\d{2}):)?(\d{2}):(\d{2})\.(\d{3})"


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _seconds(groups: tuple[str | None, ...]) -> float:
    h, m, s, ms = (int(g or 0) for g in groups)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(text: str) -> list[Cue]:
    cues = []
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    for number, block in enumerate(blocks, start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), f"cue {number} is numbered {lines[0]!r}"
        match = re.fullmatch(f"{_SRT_TIME} --> {_SRT_TIME}", lines[1])
        assert match, f"bad SRT timing line {lines[1]!r}"
        start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
        assert start <= end
        assert len(lines) > 2 and all(line.strip() for line in lines[2:]), "empty cue text"
        cues.append(Cue(start, end, "\n".join(lines[2:])))
    return cues


def parse_vtt(text: str) -> list[Cue]:
    assert text.startswith("WEBVTT\n"), "missing WEBVTT header"
    cues = []
    for block in [b for b in text.split("\n\n")[1:] if b.strip()]:
        lines = block.strip("\n").split("\n")
        match = re.fullmatch(f"{_VTT_TIME} --> {_VTT_TIME}", lines[0])
        assert match, f"bad VTT timing line {lines[0]!r}"
        start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
        assert start <= end
        assert "-->" not in "\n".join(lines[1:])
        cues.append(Cue(start, end, "\n".join(lines[1:])))
    return cues
