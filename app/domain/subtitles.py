"""Subtitle cues people can ship: the timed-text norms broadcasters and streaming services publish.

Whisper's segments make poor subtitles (a 100-character line, a 9 s cue beside a 0.3 s one), so cues
are built again from the words: at most `max_line_width` characters a line and `max_line_count`
lines a cue, each cue shown `min_seconds` to `max_seconds`, never overlapping, read at no more than
`max_chars_per_second` wherever the pause after it lets it stay up longer. Cues end where the
speech does — at a sentence end, a clause, a pause — rather than wherever a line fills; lines break
at word boundaries, balanced, preferring punctuation, never leaving one word alone on a line when
another break exists. A change of speaker starts a new cue, except that two short turns may share
one as dialogue lines. The cues' words are exactly the transcript's, in order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.models import Segment, SubtitleRules, Transcript
from app.domain.sentences import ends_sentence

# Languages written without spaces between words: their words are joined as they are.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "km", "yue", "bo"})
_CLAUSE_ENDS = (",", ";", ":", "—", "–", "、", "，", "；", "：")
PAUSE_SECONDS = 0.3  # a silence this long between words is a natural place to end a cue


@dataclass(frozen=True, slots=True)
class CueWord:
    text: str
    start: float
    end: float
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class CueLine:
    words: tuple[CueWord, ...]
    mark: str = ""  # shown before the words: `- ` on a dialogue line, `[SPEAKER]: ` where speakers are text
    join: str = " "  # between words ("" for languages written without spaces)
    speaker: str | None = None  # set on the first line of each speaker's part of a cue

    @property
    def text(self) -> str:
        return self.mark + self.join.join(w.text for w in self.words)


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    end: float
    lines: tuple[CueLine, ...]

    @property
    def words(self) -> tuple[CueWord, ...]:
        return tuple(w for line in self.lines for w in line.words)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def transcript_words(transcript: Transcript) -> list[CueWord]:
    """Every word with its time; a segment without word times shares its span by characters."""
    words: list[CueWord] = []
    for segment in transcript.segments:
        if segment.words:
            words += _as_written(segment, _joiner(transcript.language))
            continue
        pieces = segment.text.split() if _joiner(transcript.language) else list(segment.text.strip())
        total = sum(len(p) for p in pieces) or 1
        span, offset = max(segment.end - segment.start, 0.0), 0
        for piece in pieces:
            start = segment.start + span * offset / total
            offset += len(piece)
            words.append(CueWord(piece, start, segment.start + span * offset / total, segment.speaker))
    return _monotonic(words)


def _as_written(segment: Segment, joiner: str) -> list[CueWord]:
    """The segment's timed words as its text writes them: an aligner may time "slow-thru" as "slow"
    and "-thru", which a line break must never part, so pieces of one written word become one."""
    timed = [
        CueWord(w.word.strip(), w.start, w.end, w.speaker or segment.speaker) for w in segment.words if w.word.strip()
    ]
    written = segment.text.split()
    if not joiner or len(written) >= len(timed) or "".join(written) != "".join(w.text for w in timed):
        return timed
    out, at = [], 0
    for piece in written:
        group = [timed[at]]
        at += 1
        while len("".join(w.text for w in group)) < len(piece) and at < len(timed):
            group.append(timed[at])
            at += 1
        if "".join(w.text for w in group) != piece:
            return timed
        out.append(CueWord(piece, group[0].start, max(w.end for w in group), group[0].speaker))
    return out


def _monotonic(words: list[CueWord]) -> list[CueWord]:
    """Word times that never run backwards (aligners can put a word before the one it follows)."""
    out: list[CueWord] = []
    for word in words:
        start = max(word.start, out[-1].start if out else word.start)
        out.append(CueWord(word.text, start, max(word.end, start), word.speaker))
    return out


def _joiner(language: str | None) -> str:
    return "" if (language or "") in UNSPACED_LANGUAGES else " "


def speaker_mark(speaker: str | None, dialogue: bool) -> str:
    """What a line shows before its words: `[SPEAKER]: ` where speakers are written into the text,
    else `- ` on each line of a dialogue (two people in one cue), as subtitlers mark a change of voice."""
    if speaker is not None:
        return f"[{speaker}]: "
    return "- " if dialogue else ""


class CueBuilder:
    """Words -> cues under `rules`: the cue boundaries are chosen together (dynamic programming), so a
    good place to end one cue is not given up for a slightly fuller line in the one before."""

    def __init__(self, rules: SubtitleRules, language: str | None, marks_speakers: bool) -> None:
        self.rules = rules
        self.join = _joiner(language)
        self.language = language
        self.marks_speakers = marks_speakers  # SubRip shows speakers in the text; WebVTT in voice tags

    def cues(self, words: Sequence[CueWord]) -> list[Cue]:
        if not words:
            return []
        n = len(words)
        best = [0.0] + [math.inf] * n
        previous = [0] * (n + 1)
        for end in range(1, n + 1):
            for start in range(end - 1, -1, -1):
                single = end - start == 1
                if not single and (
                    words[end - 1].end - words[start].start > self.rules.max_seconds
                    or not self._fits(words[start:end], self._names(words, start))
                ):
                    break  # a longer cue, starting earlier, is only wider and longer
                if best[start] == math.inf:
                    continue
                cost = best[start] + self._cost(words, start, end)
                if cost < best[end]:
                    best[end], previous[end] = cost, start
        bounds = []
        end = n
        while end > 0:
            bounds.append((previous[end], end))
            end = previous[end]
        bounds.reverse()
        return self._timed(
            [
                (words[s:e], self._layout(words[s:e], self._names(words, s)) or self._forced_layout(words[s:e]))
                for s, e in bounds
            ]
        )

    def _names(self, words: Sequence[CueWord], start: int) -> bool:
        """Whether a cue starting at `start` names its speaker: only where the speaker changes, as
        subtitles do, so a long turn does not spend its reading time on the same name again."""
        return start == 0 or words[start - 1].speaker != words[start].speaker

    def _fits(self, words: Sequence[CueWord], named: bool) -> bool:
        """Whether the words fit the cue's lines (filling each line as far as it goes needs the fewest)."""
        parts = _speaker_runs(words)
        if len(parts) == 1:
            return self._lines_needed(parts[0], dialogue=False, named=named) <= self.rules.max_line_count
        return (
            len(parts) == 2
            and self.rules.max_line_count >= 2
            and all(self._lines_needed(part, dialogue=True) == 1 for part in parts)
        )

    def _lines_needed(self, words: Sequence[CueWord], *, dialogue: bool, named: bool = True) -> int:
        """Lines the words need, each filled as far as it goes; a huge number if a word fits no line."""
        width, gap = self.rules.max_line_width, len(self.join)
        lines, used = 1, len(self._mark(words[0].speaker, dialogue, named)) + len(words[0].text)
        for word in words[1:]:
            if used + gap + len(word.text) <= width:
                used += gap + len(word.text)
            else:
                lines, used = lines + 1, len(word.text)
            if used > width:
                return 1 << 20
        return lines if used <= width else 1 << 20

    def _mark(self, speaker: str | None, dialogue: bool, named: bool = True) -> str:
        """A dialogue names both voices; a cue that goes on with the speaker before it names nobody."""
        return speaker_mark(speaker if self.marks_speakers and (named or dialogue) else None, dialogue)

    # --- one cue's lines ---

    def _layout(self, words: Sequence[CueWord], named: bool) -> tuple[CueLine, ...] | None:
        """The cue's lines, or None when the words do not fit its lines."""
        parts = _speaker_runs(words)
        if len(parts) == 1:
            return self._lines(parts[0], dialogue=False, named=named)
        if len(parts) == 2 and self.rules.max_line_count >= 2:  # two short turns: dialogue lines
            lines = [self._lines(part, dialogue=True, max_lines=1) for part in parts]
            if all(lines):
                return lines[0] + lines[1]  # type: ignore[operator]
        return None

    def _forced_layout(self, words: Sequence[CueWord]) -> tuple[CueLine, ...]:
        """A single word wider than a line (a URL, a long compound): it stands alone."""
        speaker = words[0].speaker
        return (CueLine(tuple(words), self._mark(speaker, False), self.join, speaker),)

    def _lines(
        self, words: Sequence[CueWord], *, dialogue: bool, max_lines: int | None = None, named: bool = True
    ) -> tuple[CueLine, ...] | None:
        speaker = words[0].speaker
        mark = self._mark(speaker, dialogue, named)
        width, most = self.rules.max_line_width, max_lines or self.rules.max_line_count
        texts = [w.text for w in words]
        if len(mark + self.join.join(texts)) <= width:
            return (CueLine(tuple(words), mark, self.join, speaker),)
        best: tuple[float, list[int]] | None = None
        for count in range(2, most + 1):
            found = self._best_breaks(texts, len(mark), count)
            if found is not None:
                best = found
                break  # the fewest lines that hold it
        if best is None:
            return None
        breaks = [0, *best[1], len(words)]
        lines = []
        for index, (a, b) in enumerate(zip(breaks, breaks[1:], strict=False)):
            lines.append(
                CueLine(tuple(words[a:b]), mark if index == 0 else "", self.join, speaker if index == 0 else None)
            )
        return tuple(lines)

    def _best_breaks(self, texts: Sequence[str], mark: int, count: int) -> tuple[float, list[int]] | None:
        """Break points splitting `texts` into `count` lines within the width, the most balanced and
        best placed (after punctuation, no lone word) first; None when no split fits."""
        width, n, gap = self.rules.max_line_width, len(texts), len(self.join)
        lengths = [len(t) for t in texts]

        def line_length(a: int, b: int) -> int:
            return sum(lengths[a:b]) + gap * (b - a - 1) + (mark if a == 0 else 0)

        # cost[k][j]: the best way to put texts[:j] on k lines
        cost = [[math.inf] * (n + 1) for _ in range(count + 1)]
        back = [[0] * (n + 1) for _ in range(count + 1)]
        cost[0][0] = 0.0
        total = line_length(0, n)
        target = total / count
        for k in range(1, count + 1):
            for j in range(k, n + 1):
                for i in range(k - 1, j):
                    if cost[k - 1][i] == math.inf:
                        continue
                    length = line_length(i, j)
                    if length > width:
                        continue
                    penalty = ((length - target) / max(width, 1)) ** 2
                    if j - i == 1 and n > count:
                        penalty += 1.0  # an orphan: one word alone on its line
                    if j < n:
                        penalty += _break_penalty(texts[j - 1])
                    if cost[k - 1][i] + penalty < cost[k][j]:
                        cost[k][j], back[k][j] = cost[k - 1][i] + penalty, i
        if cost[count][n] == math.inf:
            return None
        breaks, j = [], n
        for k in range(count, 0, -1):
            j = back[k][j]
            breaks.append(j)
        return cost[count][n], sorted(b for b in breaks if b > 0)

    # --- where cues end ---

    def _cost(self, words: Sequence[CueWord], start: int, end: int) -> float:
        rules = self.rules
        first, last = words[start], words[end - 1]
        following = words[end] if end < len(words) else None
        # The longest the cue can stay up: until the next one starts, within the maximum.
        room = min(rules.max_seconds, (following.start if following else math.inf) - first.start)
        characters = sum(len(w.text) for w in words[start:end]) + len(self.join) * (end - start - 1)
        cost = 0.3  # each cue: fewer, fuller cues unless a better place to end one is near
        if room < rules.min_seconds:  # the next cue would have to wait for this one: only if nothing else fits
            cost += 3.0 + 6.0 * (rules.min_seconds - room) / rules.min_seconds
        needed = characters / rules.max_chars_per_second
        if needed > room:
            cost += 2.0 * (needed - room) / max(room, 0.1)
        if following is not None:
            pause = following.start - last.end
            if ends_sentence(last.text, following.text, self.language):
                cost -= 0.6
            elif last.text.endswith(_CLAUSE_ENDS):
                cost -= 0.3
            if pause >= PAUSE_SECONDS:
                cost -= min(0.5, pause)
            if following.speaker != last.speaker:
                cost -= 0.5
        return cost

    # --- when cues show ---

    def _timed(self, groups: list[tuple[Sequence[CueWord], tuple[CueLine, ...]]]) -> list[Cue]:
        rules, cues = self.rules, list[Cue]()
        for index, (words, lines) in enumerate(groups):
            # Times on the millisecond grid subtitles are written in, a minimum rounded up, not down.
            # A cue starts with its first word, or when the one before ends if that is later.
            start = round(max(words[0].start, cues[-1].end if cues else 0.0), 3)
            following = groups[index + 1][0][0].start if index + 1 < len(groups) else math.inf
            characters = sum(len(line.text) for line in lines)
            wanted = max(words[-1].end, start + rules.min_seconds, start + characters / rules.max_chars_per_second)
            # A cue may stay up past the next words (that cue then starts late) to be read in time, by up
            # to the lag allowed; the minimum holds even when the next words follow at once.
            latest = max(following + rules.max_lag_seconds, _up(start + rules.min_seconds))
            end = min(_up(wanted), start + rules.max_seconds, latest)
            cues.append(Cue(start=start, end=round(max(end, start), 3), lines=lines))
        return cues


def _up(seconds: float) -> float:
    """Rounded up to the millisecond."""
    return math.ceil(round(seconds * 1000, 6)) / 1000


def _speaker_runs(words: Sequence[CueWord]) -> list[list[CueWord]]:
    runs: list[list[CueWord]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def _break_penalty(word: str) -> float:
    """Breaking a line after `word`: best after a sentence or clause, worst after a function word."""
    if word.endswith((".", "?", "!", "。", "？", "！")):
        return -0.3
    if word.endswith(_CLAUSE_ENDS):
        return -0.15
    return 0.2 if word.lower() in _CLINGING else 0.0


# Words that belong with the word after them: a line should not end on one.
_CLINGING = frozenset(
    "a an the of to in on at for and or but with by from my your his her our their its this that i"
    " le la les de des du un une el los las der die das ein eine".split()
)


def cues_of(transcript: Transcript, rules: SubtitleRules, marks_speakers: bool) -> list[Cue]:
    """The transcript's cues under `rules`; `marks_speakers`: speakers are written into the text."""
    if rules.per_segment:
        return _segment_cues(transcript, marks_speakers)
    return CueBuilder(rules, transcript.language, marks_speakers).cues(transcript_words(transcript))


def _segment_cues(transcript: Transcript, marks_speakers: bool) -> list[Cue]:
    """One cue per segment, one line each, as Whisper cut them."""
    cues = []
    for segment in transcript.segments:
        text = segment.text.strip()
        if not text:
            continue
        mark = speaker_mark(segment.speaker if marks_speakers else None, False)
        own = [CueWord(w.word.strip(), w.start, w.end, w.speaker) for w in segment.words if w.word.strip()]
        if not own:  # no word times: the text is one unit
            own = [CueWord(text, segment.start, segment.end, segment.speaker)]
        cues.append(
            Cue(
                start=segment.start,
                end=segment.end,
                lines=(CueLine(tuple(own), mark, _joiner(transcript.language), segment.speaker),),
            )
        )
    return cues
