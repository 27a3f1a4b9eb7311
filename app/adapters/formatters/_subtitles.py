"""SubRip and WebVTT from the cues of app/domain/subtitles.py; each format writes its own blocks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from app.domain.models import RenderOptions, Transcript
from app.domain.subtitles import Cue, CueLine, cues_of


class SubtitleFormatter:
    """A Formatter of cues: `block` writes one, `marks_speakers` says whether speakers are in the text."""

    media_type: str
    marks_speakers: ClassVar[bool]
    header: ClassVar[str] = ""

    def render(self, transcript: Transcript, options: RenderOptions) -> str:
        cues = cues_of(transcript, options.subtitles, self.marks_speakers)
        shown = [shown for cue in cues for shown in _displays(cue, options.highlight_words, self)]
        return self.header + "".join(
            self.block(index, start, end, text) for index, (start, end, text) in enumerate(shown, start=1)
        )

    def block(self, index: int, start: float, end: float, text: str) -> str:
        raise NotImplementedError

    def line_text(self, line: CueLine, highlighted: int | None) -> str:
        """A line as this format shows it; `highlighted`: the index of the word to underline."""
        if highlighted is None:
            return line.text
        words = [w.text for w in line.words]
        words[highlighted] = f"<u>{words[highlighted]}</u>"
        return line.mark + line.join.join(words)


def _displays(cue: Cue, highlight_words: bool, formatter: SubtitleFormatter) -> Iterator[tuple[float, float, str]]:
    """The cue itself, or with `highlight_words` one display per word while it is spoken (that word
    underlined) and the plain cue in the pauses between, as whisperX writes them."""

    def shown(line_index: int | None, word_index: int | None) -> str:
        return "\n".join(
            formatter.line_text(line, word_index if index == line_index else None)
            for index, line in enumerate(cue.lines)
        )

    positions = [(li, wi) for li, line in enumerate(cue.lines) for wi in range(len(line.words))]
    if not highlight_words or not positions:
        yield cue.start, cue.end, shown(None, None)
        return
    at = cue.start
    for word, (li, wi) in zip(cue.words, positions, strict=True):
        start, end = min(max(word.start, at), cue.end), min(max(word.end, at), cue.end)
        if start > at:
            yield at, start, shown(None, None)
        if end > start:
            yield start, end, shown(li, wi)
            at = end
    if cue.end > at:
        yield at, cue.end, shown(None, None)


def timestamp(seconds: float, decimal: str) -> str:
    milliseconds = max(0, round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    whole, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal}{milliseconds:03d}"
