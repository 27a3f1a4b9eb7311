"""Token log probabilities that spell the text they come with (OpenAI's `include[]=logprobs`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.domain.models import Segment, TokenLogprob, Transcript


def spelled(tokens: Sequence[TokenLogprob], text: str) -> tuple[TokenLogprob, ...]:
    """`tokens` with their pieces adjusted to join to exactly `text` (a segment's decoded text with its
    outer spaces stripped, and the space that joins it to the one before): () when they cannot."""
    pieces = [t.token for t in tokens]
    while pieces and not pieces[0].strip():
        pieces.pop(0)
        tokens = tokens[1:]
    if not pieces:
        return ()
    stripped = text.lstrip()
    pieces[0] = text[: len(text) - len(stripped)] + pieces[0].lstrip()
    pieces[-1] = pieces[-1].rstrip() if len(pieces) > 1 or pieces[-1].strip() else pieces[-1]
    if "".join(pieces) != text:
        return ()
    return tuple(
        token if token.token == piece else replace(token, token=piece, bytes=tuple(piece.encode()))
        for token, piece in zip(tokens, pieces, strict=True)
    )


def segment_logprobs(segment: Segment, leading: str) -> tuple[TokenLogprob, ...]:
    return spelled(segment.token_logprobs, leading + segment.text.strip())


def transcript_logprobs(transcript: Transcript) -> tuple[TokenLogprob, ...]:
    """Every segment's tokens, joined as the transcript's text joins the segments."""
    out: list[TokenLogprob] = []
    started = False
    for segment in transcript.segments:
        if segment.text.strip():
            out += segment_logprobs(segment, " " if started else "")
            started = True
    return tuple(out)
