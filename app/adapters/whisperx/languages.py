"""Which language a recording is transcribed in, and which others its windows are surely in."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from app.adapters.whisperx.features import between, file_window_frames, log_mel_window, n_mels_of
from app.adapters.whisperx.model_store import ScoredWhisperModel
from app.domain.audio import WINDOW_SECONDS
from app.domain.errors import InvalidRequest
from app.domain.models import Task
from app.domain.models import TranscriptionOptions as Options

# A window detected in another language this surely is reported among the recording's languages.
LANGUAGE_CONFIDENCE = 0.8
DETECTION_SECONDS = 5  # a first chunk at least this long, and sure of its language, tells it itself
Detect = Callable[[object], list[tuple[str, float]]]


def choose_language(
    model: ScoredWhisperModel,
    samples: np.ndarray,
    first_batch,
    first_groups,
    duration: float,
    options: Options,
    detect: Detect,
    fit_windows: bool,
) -> str:
    """The request's language, checked against an English-only model, or the one detected from the
    first speech on. `first_batch`/`first_groups`: the first batch's chunks and their encoded groups."""
    if not model.model.is_multilingual:
        if options.task is Task.TRANSLATE:
            raise InvalidRequest(
                f"Model '{model.name}' is English-only and cannot translate; use a multilingual model.",
                param="model",
            )
        if options.language not in (None, "en"):
            raise InvalidRequest(
                f"Model '{model.name}' is English-only; language '{options.language}' needs a multilingual model.",
                param="language",
            )
        if options.languages and "en" not in options.languages:
            raise InvalidRequest(
                f"Model '{model.name}' is English-only; 'languages[]' must include 'en'.", param="languages[]"
            )
        return "en"
    if options.language:
        return options.language
    # Detected from the first speech on (not leading silence). The first chunk's own encoder output
    # serves where it is all there is, or where it holds 5 s and is sure of its language (a short
    # clip then pays no second encoder pass); otherwise Whisper's 30 s window decides: a few
    # seconds of speech, or of two languages, are easily taken for the wrong language.
    start = first_batch[0][0] if first_batch else 0.0
    if first_groups:
        first_end = first_batch[0][1]
        if duration - first_end < 1.0:
            return detect(first_groups[0][2])[0][0]
        if first_end - start >= DETECTION_SECONDS:
            language, probability = detect(first_groups[0][2])[0]
            if probability >= LANGUAGE_CONFIDENCE:
                return language
    end = min(duration, start + WINDOW_SECONDS)
    frames = file_window_frames(end - start, fit_windows)
    encoder_output = model.encode(log_mel_window(between(samples, start, end), n_mels_of(model), frames)[None])
    return detections(model, encoder_output, options.languages)[0][0]


def confident_languages(model: ScoredWhisperModel, encoder_output, options: Options, detect: Detect) -> list[str]:
    """Languages that windows of this batch are confidently in: a recording that switches language
    reports each (`languages` of `json`); the decoding keeps the recording's language."""
    if options.language or not model.model.is_multilingual:
        return []
    return [code for code, probability in detect(encoder_output) if probability >= LANGUAGE_CONFIDENCE]


def detections(model: ScoredWhisperModel, encoder_output, allowed: Sequence[str]) -> list[tuple[str, float]]:
    """Per window, the likeliest language among `allowed` (any when empty) and its probability."""
    out = []
    for ranked in model.window_languages(encoder_output):
        candidates = [(token[2:-2], float(p)) for token, p in ranked if not allowed or token[2:-2] in allowed]
        out.append(candidates[0] if candidates else (allowed[0], 0.0))
    return out
