"""Whisper's byte-level BPE tokens as text pieces and bytes (for logprobs and live deltas)."""

from __future__ import annotations

import codecs
from collections.abc import Sequence

import numpy as np


def _gpt2_byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet back to bytes (the inverse of its bytes_to_unicode)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = list(printable)
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + len(codes) - 188)
    return {chr(code): b for b, code in zip(printable, codes)}


_BYTE_OF = _gpt2_byte_decoder()


def token_pieces(hf_tokenizer, tokens: Sequence[int]) -> tuple[tuple[str, ...], tuple[bool, ...], tuple[bytes, ...]]:
    """Each token's text, decoded incrementally so the pieces join to exactly the decoded text (a
    character split over tokens belongs to the token that completes it); whether each token
    ends on a whole character; each token's bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces, whole, raw = [], [], []
    for token in tokens:
        data = bytes(_BYTE_OF[c] for c in hf_tokenizer.id_to_token(token) if c in _BYTE_OF)
        raw.append(data)
        pieces.append(decoder.decode(data))
        whole.append(decoder.getstate()[0] == b"")
    return tuple(pieces), tuple(whole), tuple(raw)


def log_softmax(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    shifted = values - values.max()
    return shifted - np.log(np.exp(shifted).sum())


def token_logprobs(logits: Sequence, tokens: Sequence[int]) -> tuple[float, ...]:
    """The log probability of each token from the decoder's logits at its step."""
    return tuple(float(log_softmax(np.asarray(step))[token]) for step, token in zip(logits, tokens))
