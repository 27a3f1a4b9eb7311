"""A window Whisper decodes into a loop is decoded again, hotter, as OpenAI documents for temperature 0
(app/adapters/whisperx/decoding.py); other windows are decoded once. A live turn's final text the same."""

from __future__ import annotations

import numpy as np

from app.adapters.whisperx.decoding import BASE_OPTIONS, FALLBACK_TEMPERATURES, decode_windows, least_repetitive
from app.adapters.whisperx.model_store import Decoded, compression_ratio
from app.domain.models import TranscriptionOptions

LOOP = "I'd like to echo the remarks by the council. " * 12
FINE = "I'd like to echo the remarks by the council."


def decoded(text: str) -> Decoded:
    return Decoded(
        tokens=(1,),
        text=text,
        avg_logprob=-0.2,
        no_speech_prob=0.0,
        compression_ratio=compression_ratio(text),
        logprobs=(),
    )


class LoopingModel:
    """Window 1 loops below `cools_at`; window 0 never does. Records each call's temperature and rows."""

    def __init__(self, cools_at: float) -> None:
        self.cools_at = cools_at
        self.calls: list[tuple[float, int]] = []

    def decode_batch(self, features, tokenizer, options, temperature, encoder_output=None, logprobs=False):
        self.calls.append((temperature, len(features)))
        rows = [int(row[0, 0]) for row in features]
        return [decoded(LOOP if row == 1 and temperature < self.cools_at else FINE) for row in rows]


def decode(model: LoopingModel, temperature: float = 0.0) -> list[tuple[Decoded, float]]:
    features = np.stack([np.full((2, 3), row, dtype=np.float32) for row in (0, 1)])
    options = TranscriptionOptions(model="base", temperature=temperature)
    return decode_windows(model, features, features, None, BASE_OPTIONS, options)


def test_only_the_looping_window_is_decoded_again_until_it_stops_looping():
    model = LoopingModel(cools_at=0.4)
    (first, at_first), (second, at_second) = decode(model)
    assert (first.text, at_first) == (FINE, 0.0)
    assert (second.text, at_second) == (FINE, 0.4)
    assert model.calls == [(0.0, 2), (0.2, 1), (0.4, 1)]


def test_a_window_that_always_loops_keeps_its_least_repetitive_decoding():
    model = LoopingModel(cools_at=9.0)
    _, (second, _) = decode(model)
    assert second.text == LOOP and [t for t, _ in model.calls] == [0.0, *FALLBACK_TEMPERATURES]


def test_a_caller_who_sets_a_temperature_gets_exactly_that_one():
    model = LoopingModel(cools_at=9.0)
    decode(model, temperature=0.3)
    assert model.calls == [(0.3, 2)]


def live_decoding(cools_at: float, asked: list[float]):
    """A live turn's decoding that loops below `cools_at`: (text, compression ratio) per temperature."""

    def decode(temperature: float) -> tuple[str, float]:
        asked.append(temperature)
        text = LOOP if temperature < cools_at else FINE
        return text, compression_ratio(text)

    return decode


def test_a_live_turns_final_text_that_loops_is_decoded_again_hotter_until_it_does_not():
    asked: list[float] = []
    assert least_repetitive(live_decoding(cools_at=0.4, asked=asked), threshold=2.4) == FINE
    assert asked == [0.0, 0.2, 0.4]


def test_a_live_turn_that_does_not_loop_is_decoded_once_and_one_that_always_does_keeps_its_least_repetitive():
    asked: list[float] = []
    assert least_repetitive(live_decoding(cools_at=0.0, asked=asked), threshold=2.4) == FINE and asked == [0.0]
    asked.clear()
    assert least_repetitive(live_decoding(cools_at=9.0, asked=asked), threshold=2.4) == LOOP
    assert asked == [0.0, *FALLBACK_TEMPERATURES]
