"""Small rules about time that every aligner and diarizer must keep."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from app.domain.models import Segment, Word


def monotonic_words(words: Sequence[Word], start: float, end: float) -> list[Word]:
    """Clamp words into [start, end], make starts non-decreasing and start <= end.

    Aligners can place a word a few milliseconds outside its segment or before its
    predecessor; callers rely on neither happening.
    """
    fixed: list[Word] = []
    floor = start
    for word in words:
        w_start = min(max(word.start, floor), end)
        w_end = min(max(word.end, w_start), end)
        fixed.append(replace(word, start=w_start, end=w_end))
        floor = w_start
    return fixed


def renumber(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    return tuple(replace(s, id=i) for i, s in enumerate(segments))
