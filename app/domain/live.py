"""Live transcription's rules: when a turn starts and ends, and which words are stable enough to send.

Pure logic over numbers: speech probabilities per VAD frame in, turn boundaries out; two decoder
hypotheses in, the tokens both agree on out. The realtime service feeds them audio as it arrives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.domain.audio import SAMPLE_RATE
from app.domain.languages import LANGUAGES_WITHOUT_SPACES

VAD_FRAME_SAMPLES = 512  # Silero's frame at 16 kHz: 32 ms
# Silero's own hysteresis: speech ends when the probability drops this far below the threshold.
SILENCE_MARGIN = 0.15


@dataclass(frozen=True, slots=True)
class TurnDetection:
    """OpenAI's `server_vad` settings, with OpenAI's defaults."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    sample: int  # where the turn's audio begins (prefix padding included), in session samples
    at_sample: int  # where speech was heard


@dataclass(frozen=True, slots=True)
class PauseStarted:
    """Speech fell silent; the turn ends here unless it resumes within the silence duration."""

    sample: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    sample: int  # where the silence that ended the turn was confirmed (OpenAI's `audio_end_ms`)
    speech_end: int  # the end of the last speech frame


TurnEvent = SpeechStarted | PauseStarted | SpeechStopped


@dataclass(slots=True)
class TurnDetector:
    """Server VAD over a stream of frame probabilities (one per VAD_FRAME_SAMPLES samples)."""

    settings: TurnDetection
    frames: int = 0  # frames seen since the session began
    in_speech: bool = False
    paused_at: int | None = None  # first silent frame of the current pause, while in speech
    floor: int = 0  # a new turn's padding never reaches back into the previous turn

    def feed(self, probabilities: Sequence[float]) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        silence_frames = max(1, -(-self.settings.silence_duration_ms * SAMPLE_RATE // (1000 * VAD_FRAME_SAMPLES)))
        for probability in probabilities:
            frame_start = self.frames * VAD_FRAME_SAMPLES
            self.frames += 1
            if not self.in_speech:
                if probability >= self.settings.threshold:
                    self.in_speech = True
                    padding = self.settings.prefix_padding_ms * SAMPLE_RATE // 1000
                    events.append(SpeechStarted(sample=max(self.floor, frame_start - padding), at_sample=frame_start))
                continue
            if probability >= self.settings.threshold - SILENCE_MARGIN:
                self.paused_at = None
                continue
            if self.paused_at is None:
                self.paused_at = self.frames - 1
                events.append(PauseStarted(sample=frame_start))
            if self.frames - self.paused_at >= silence_frames:
                speech_end = self.paused_at * VAD_FRAME_SAMPLES
                end = self.frames * VAD_FRAME_SAMPLES
                events.append(SpeechStopped(sample=end, speech_end=speech_end))
                self.in_speech, self.paused_at, self.floor = False, None, end
        return events

    def restart_at(self, sample: int) -> None:
        """The buffer was cleared or committed by hand: whatever speech was open is over."""
        self.in_speech, self.paused_at, self.floor = False, None, max(self.floor, sample)


@dataclass(frozen=True, slots=True)
class UtteranceRequest:
    model: str
    language: str | None = None
    prompt: str | None = None  # the session's prompt, then what earlier turns said (context)
    prefix: tuple[int, ...] = ()  # stable tokens the decoder must continue from
    final: bool = False  # the turn is over: decode with the full beam, not greedily
    logprobs: bool = False
    hotwords: str | None = None  # words the decoder is primed with (OpenAI's `keywords`)
    languages: tuple[str, ...] = ()  # when set and `language` is not, detection picks among these


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One decoding of a turn's audio so far: the tokens after the forced prefix, with their text."""

    tokens: tuple[int, ...]
    pieces: tuple[str, ...]  # each token's text; they join to exactly the decoded text
    whole: tuple[bool, ...]  # tokens[:i + 1] end on a whole character (none is split across tokens)
    logprobs: tuple[float, ...] = ()  # when asked for: each token's log probability
    token_bytes: tuple[bytes, ...] = ()  # with logprobs: each token's own bytes
    language: str = "en"
    language_probability: float = 1.0  # 1 when the language was given, else the detector's confidence
    no_speech: bool = False  # Whisper's no-speech rule says the audio holds no words
    repetitive: bool = False  # Whisper's compression-ratio rule: a decoding stuck in a loop

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def after(self, count: int) -> Hypothesis:
        """The same hypothesis without its first `count` tokens."""
        return Hypothesis(
            self.tokens[count:],
            self.pieces[count:],
            self.whole[count:],
            self.logprobs[count:],
            self.token_bytes[count:],
            self.language,
            self.language_probability,
            self.no_speech,
            self.repetitive,
        )


@dataclass(frozen=True, slots=True)
class StableToken:
    token: int
    piece: str
    logprob: float | None = None
    data: bytes = b""


# Two hypotheses only confirm each other's words when the later one heard at least this much more
# audio: a word at the very end of a hypothesis may be cut short, and two decodings a fraction of a
# second apart often mishear it the same way (whisper_streaming's default chunk is 1 s for the same
# reason). A turn's first words are confirmed by the next hypothesis, whatever it heard: a gap there
# would delay them by as much.
AGREEMENT_GAP_SAMPLES = SAMPLE_RATE
FIRST_WORDS_GAP_SAMPLES = 0


@dataclass(frozen=True, slots=True)
class Delay:
    """What a session's `delay` (OpenAI's: minimal, low, medium, high, xhigh) waits for before text goes out."""

    gap: int  # audio (samples) two hypotheses must be apart to confirm a word (Agreement.gap)
    # `completed` comes from a fresh decoding of the turn with the full beam and no forced words, so it
    # may correct what the deltas said; else it is exactly the deltas.
    corrects: bool


DELAYS = {
    "minimal": Delay(gap=0, corrects=False),
    "low": Delay(gap=AGREEMENT_GAP_SAMPLES, corrects=False),
    "medium": Delay(gap=AGREEMENT_GAP_SAMPLES, corrects=True),
    "high": Delay(gap=2 * AGREEMENT_GAP_SAMPLES, corrects=True),
    "xhigh": Delay(gap=3 * AGREEMENT_GAP_SAMPLES, corrects=True),
}
DEFAULT_DELAY = "medium"


@dataclass(slots=True)
class Agreement:
    """LocalAgreement-2 (whisper_streaming): a token is stable once two hypotheses, each decoded
    with the stable tokens forced as their prefix and at least `gap` samples of audio apart
    (`first_gap` while nothing is stable), agree on it — past the first words, with a word after it in
    both; the stable part only ever grows, and it ends on a word boundary so no word is sent half-heard."""

    gap: int = AGREEMENT_GAP_SAMPLES
    first_gap: int = FIRST_WORDS_GAP_SAMPLES
    stable: list[StableToken] = field(default_factory=list)
    # Earlier hypotheses a later one may be compared with: (where their audio ended, the hypothesis
    # after the stable tokens), oldest first.
    _heard: deque[tuple[int, Hypothesis]] = field(default_factory=deque)

    @property
    def previous(self) -> Hypothesis | None:
        """The newest hypothesis, after the stable tokens (None once a window is finished)."""
        return self._heard[-1][1] if self._heard else None

    @property
    def prefix(self) -> tuple[int, ...]:
        return tuple(t.token for t in self.stable)

    def offer(self, hypothesis: Hypothesis, heard_until: int) -> list[StableToken]:
        """Take a new hypothesis of the audio up to sample `heard_until` (its tokens continue
        `stable`); return the tokens newly stable."""
        far_enough, gap = None, self.gap if self.stable else self.first_gap
        while self._heard and self._heard[0][0] <= heard_until - gap:
            far_enough = self._heard.popleft()
        if far_enough is not None:  # the newest one far enough back; older ones are never needed again
            self._heard.appendleft(far_enough)
        reference = far_enough[1] if far_enough else None
        self._heard.append((heard_until, hypothesis))
        if reference is None or hypothesis.no_speech:
            return []
        common = 0
        for a, b in zip(reference.tokens, hypothesis.tokens, strict=False):
            if a != b:
                break
            common += 1
        if self.stable:
            # Past the first words, neither hypothesis vouches for its own last word: the audio it heard
            # may have ended inside it ("this is Di-" heard as "this is dying" by two decodings that
            # both stopped there). The first words keep the quicker rule: they are what a user waits for.
            common = min(common, _word_boundary(reference, len(reference.tokens)))
        return self._take(hypothesis, _word_boundary(hypothesis, common))

    def finish(self, hypothesis: Hypothesis) -> list[StableToken]:
        """The turn (or window) is over and `hypothesis` heard all of it: every token of it is final."""
        self._heard.clear()
        return [] if hypothesis.no_speech else self._take(hypothesis, len(hypothesis.tokens))

    def _take(self, hypothesis: Hypothesis, count: int) -> list[StableToken]:
        taken = tokens_of(hypothesis)[:count]
        self.stable.extend(taken)
        if count:
            # Later hypotheses continue after the new prefix: keep what each earlier one said there,
            # and forget those that said something else.
            agreed = hypothesis.tokens[:count]
            self._heard = deque((end, h.after(count)) for end, h in self._heard if h.tokens[:count] == agreed)
        return taken

    def restart(self) -> None:
        """A new window: nothing is stable in it yet."""
        self.stable.clear()
        self._heard.clear()


def _word_boundary(hypothesis: Hypothesis, limit: int) -> int:
    """The largest n <= limit with tokens[:n] whole words (tokens[n] starts a new one) — in scripts
    written without spaces, whole characters — leaving at least the last token, which may be a
    word the audio cut short."""
    spaceless = hypothesis.language in LANGUAGES_WITHOUT_SPACES
    for n in range(min(limit, len(hypothesis.tokens) - 1), 0, -1):
        if hypothesis.whole[n - 1] and (spaceless or hypothesis.pieces[n][:1].isspace()):
            return n
    return 0


def ms(samples: int) -> int:
    return samples * 1000 // SAMPLE_RATE


def tokens_of(hypothesis: Hypothesis) -> list[StableToken]:
    """A hypothesis's tokens, with their text (and scores, when it has them)."""
    return [
        StableToken(
            token,
            hypothesis.pieces[i],
            hypothesis.logprobs[i] if hypothesis.logprobs else None,
            hypothesis.token_bytes[i] if hypothesis.token_bytes else b"",
        )
        for i, token in enumerate(hypothesis.tokens)
    ]
