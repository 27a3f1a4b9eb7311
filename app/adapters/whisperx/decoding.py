"""Decoding one batch of windows: whisperx's options, Whisper's temperature fallback, and each
window's segment as OpenAI's verbose_json reports it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import ctranslate2
import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions

from app.adapters.whisperx.model_store import Decoded, ScoredWhisperModel
from app.adapters.whisperx.tokens import token_pieces
from app.domain.audio import FRAMES_PER_SECOND
from app.domain.cancellation import checkpoint
from app.domain.models import Audio, Segment, TokenLogprob
from app.domain.models import TranscriptionOptions as Options

# Temperatures a window that decoded into a loop is tried at, in turn (Whisper's own schedule).
FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0)
FALLBACK_SEED = 0
T = TypeVar("T")
# whisperx's defaults (asr.load_model), single temperature: each chunk is decoded once, again only on a loop.
BASE_OPTIONS = TranscriptionOptions(
    beam_size=5,
    best_of=5,
    patience=1,
    length_penalty=1,
    repetition_penalty=1,
    no_repeat_ngram_size=0,
    log_prob_threshold=-1.0,
    no_speech_threshold=0.6,
    compression_ratio_threshold=2.4,
    condition_on_previous_text=False,
    prompt_reset_on_temperature=0.5,
    temperatures=[0.0],
    initial_prompt=None,
    prefix=None,
    suppress_blank=True,
    suppress_tokens=[-1],
    without_timestamps=True,
    max_initial_timestamp=0.0,
    word_timestamps=False,
    prepend_punctuations="\"'“¿([{-",
    append_punctuations="\"'.。,，!！?？:：”)]}、",
    multilingual=False,
    max_new_tokens=None,
    clip_timestamps=None,
    hallucination_silence_threshold=None,
    hotwords=None,
)


def least_repetitive(decode: Callable[[float], tuple[T, float]], threshold: float) -> T:
    """`decode(temperature)` -> (a decoding, its compression ratio): at 0, and while the best one so far
    loops (its ratio is past `threshold`), hotter, by Whisper's schedule. The least repetitive one."""
    best, ratio = decode(0.0)
    for temperature in FALLBACK_TEMPERATURES:
        if ratio <= threshold:
            break
        ctranslate2.set_random_seed(FALLBACK_SEED)  # the same audio gives the same text each time
        retried, retried_ratio = decode(temperature)
        if retried_ratio < ratio:
            best, ratio = retried, retried_ratio
    return best


def decode_windows(
    model: ScoredWhisperModel,
    features: np.ndarray,
    encoder_output,
    tokenizer: Tokenizer,
    asr_options: TranscriptionOptions,
    options: Options,
) -> list[tuple[Decoded, float]]:
    """Each window's text and the temperature that made it. At temperature 0 a window that decoded
    into a loop (its text compresses past the threshold) is decoded again, hotter, until it does
    not: Whisper's fallback, and what OpenAI documents for temperature 0 (whisperx's batches drop it)."""
    decoded = model.decode_batch(
        features,
        tokenizer,
        asr_options,
        options.temperature,
        encoder_output=encoder_output,
        logprobs=options.logprobs,
    )
    results = [(d, options.temperature) for d in decoded]
    if options.temperature > 0:
        return results
    threshold = asr_options.compression_ratio_threshold or float("inf")
    for temperature in FALLBACK_TEMPERATURES:
        looping = [i for i, (d, _) in enumerate(results) if d.compression_ratio > threshold]
        if not looping:
            break
        checkpoint()
        ctranslate2.set_random_seed(FALLBACK_SEED)  # the same file gives the same text each time
        again = model.decode_batch(
            features[looping],
            tokenizer,
            asr_options,
            temperature,
            encoder_output=np.asarray(encoder_output)[looping],
            logprobs=options.logprobs,
        )
        for i, retried in zip(looping, again):
            if retried.compression_ratio < results[i][0].compression_ratio:
                results[i] = (retried, temperature)
    return results


def segment_of(
    start: float,
    end: float,
    decoded: Decoded,
    temperature: float,
    audio: Audio,
    options: Options,
    model: ScoredWhisperModel,
) -> Segment:
    logprobs: tuple[TokenLogprob, ...] = ()
    if decoded.logprobs:
        pieces, _, raw = token_pieces(model.hf_tokenizer, decoded.tokens)
        logprobs = tuple(
            TokenLogprob(token=piece, bytes=tuple(data), logprob=round(score, 6))
            for piece, data, score in zip(pieces, raw, decoded.logprobs)
        )
    return Segment(
        id=0,
        seek=int(round(start * FRAMES_PER_SECOND)),  # mel frames, as OpenAI reports it
        start=round(start, 3),
        end=round(min(end, audio.duration), 3),  # VAD pads past the last sample
        text=decoded.text.strip(),
        tokens=decoded.tokens,
        temperature=temperature,
        avg_logprob=decoded.avg_logprob,
        compression_ratio=decoded.compression_ratio,
        no_speech_prob=decoded.no_speech_prob,
        token_logprobs=logprobs,
    )
