"""chunking_strategy's server_vad settings change what the real Silero VAD finds."""

from __future__ import annotations

import io

from app.adapters.audio import PyAVDecoder
from app.adapters.whisperx.vad import SileroVad
from app.domain.models import VadTuning
from tests.conftest import FIXTURES


def speech_seconds(chunks: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in chunks)


def test_padding_and_threshold_reach_the_vad():
    samples = PyAVDecoder().decode(io.BytesIO((FIXTURES / "three_speakers.wav").read_bytes())).samples
    vad = SileroVad()
    chunk = 2  # short chunks, so merging does not hide what the VAD found
    default = vad.speech_chunks(samples, chunk)
    unpadded = vad.speech_chunks(samples, chunk, VadTuning(speech_pad_ms=0))
    assert speech_seconds(unpadded) < speech_seconds(default) - 2  # prefix_padding_ms: less audio around speech
    # silence_duration_ms: the longer the silence that ends speech, the more pauses stay inside it.
    short, long = (
        speech_seconds(vad.speech_chunks(samples, chunk, VadTuning(speech_pad_ms=0, min_silence_ms=ms)))
        for ms in (50, 2000)
    )
    assert short < speech_seconds(unpadded) < long
    assert vad.speech_chunks(samples, chunk, VadTuning(threshold=0.999)) == []  # threshold: nothing is that sure
