"""Word times from the Whisper model's own cross-attention (DTW) over an encoder output.

faster-whisper's `find_alignment` force-aligns known text tokens against encoded audio using the
model's alignment heads. The transcriber calls this with the encoder output it decoded from (no
second encoder pass); the cross-attention aligner encodes the segments itself when the
transcription came from elsewhere. Segments are then cut at sentence ends
(app/domain/sentences.py) so subtitles get sentence-sized cues.
"""

from __future__ import annotations

from collections.abc import Sequence

from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import merge_punctuations

from app.domain.audio import FRAMES_PER_SECOND, WINDOW_FRAMES
from app.domain.errors import AlignmentUnavailable
from app.domain.models import Segment, TokenLogprob, Word
from app.domain.sentences import split_sentences
from app.domain.timeline import monotonic_words

ALIGNER_NAME = "cross_attention"

_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"


def alignment_tokenizer(model, language: str) -> Tokenizer:
    """The tokenizer whose start sequence the alignment heads read the text after."""
    if model.model.is_multilingual:
        return Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
    if language == "en":
        return Tokenizer(model.hf_tokenizer, False)
    raise AlignmentUnavailable(language, f"model '{model.name}' is English-only")


def timed_sentences(
    model, tokenizer: Tokenizer, encoder_output, segments: Sequence[Segment | None], language: str
) -> list[list[Segment]]:
    """Row i of `encoder_output` is the window that starts at `segments[i].start` and holds that
    segment's audio; each segment comes back as its sentences with timed words (a None row: [])."""
    rows = [_text_tokens(tokenizer, s) if s is not None else [] for s in segments]
    # One batched call needs a token list per row; rows with nothing to time align a lone end token.
    alignments = model.find_alignment(
        tokenizer,
        [tokens or [tokenizer.eot] for tokens in rows],
        encoder_output,
        [_frames(s) for s in segments],
    )
    timed: list[list[Segment]] = []
    for segment, tokens, alignment in zip(segments, rows, alignments):
        if segment is None:
            timed.append([])
        elif not tokens:
            timed.append([segment])
        else:
            timed.append(_sentences(segment, alignment, language))
    return timed


def _text_tokens(tokenizer: Tokenizer, segment: Segment) -> list[int]:
    return [t for t in segment.tokens if t < tokenizer.eot] or tokenizer.encode(" " + segment.text.strip())


def _frames(segment: Segment | None) -> int:
    if segment is None:
        return 1
    return min(WINDOW_FRAMES, max(1, int(round((segment.end - segment.start) * FRAMES_PER_SECOND))))


def _sentences(segment: Segment, alignment: list[dict], language: str) -> list[Segment]:
    merge_punctuations(alignment, _PREPEND, _APPEND)
    timed = [
        (
            w["word"],
            list(w["tokens"]),
            segment.start + float(w["start"]),
            segment.start + float(w["end"]),
            float(w["probability"]),
        )
        for w in alignment
        if w["word"].strip()
    ]
    if not timed:
        return [segment]
    sentences, offset = [], 0
    for part in split_sentences(timed, lambda item: item[0], language):
        count = sum(len(toks) for _, toks, *_ in part)
        # Each sentence keeps its own tokens' log probabilities (the parts cover the tokens in order).
        own = (
            segment.token_logprobs[offset : offset + count]
            if len(segment.token_logprobs) == len(segment.tokens)
            else ()
        )
        sentences.append(_sentence(segment, part, own))
        offset += count
    return sentences


def _sentence(
    segment: Segment, part: list[tuple[str, list[int], float, float, float]], token_logprobs: tuple[TokenLogprob, ...]
) -> Segment:
    words = monotonic_words(
        [Word(word=w.strip(), start=round(s, 3), end=round(e, 3), score=round(p, 3)) for w, _, s, e, p in part],
        segment.start,
        segment.end,
    )
    return Segment(
        id=segment.id,
        seek=segment.seek,
        start=words[0].start,
        end=words[-1].end,
        text="".join(w for w, *_ in part).strip(),
        tokens=tuple(t for _, toks, *_ in part for t in toks),
        temperature=segment.temperature,
        avg_logprob=segment.avg_logprob,
        compression_ratio=segment.compression_ratio,
        no_speech_prob=segment.no_speech_prob,
        words=tuple(words),
        speaker=segment.speaker,
        token_logprobs=token_logprobs,
    )
