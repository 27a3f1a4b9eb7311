"""Work nobody waits for stops at its next checkpoint; other work never notices."""

from __future__ import annotations

import io
import threading

import pytest

from app.domain.cancellation import Cancellation, checkpoint
from app.domain.errors import Cancelled
from app.domain.models import TranscriptionOptions
from app.domain.pipeline import TranscriptionPipeline
from tests.fakes import FakeAligner, FakeDecoder, FakeDiarizer, FakeTranscriber, FakeVoicePrinter


def test_a_checkpoint_passes_until_its_cancellation_is_cancelled():
    cancellation = Cancellation()
    cancellation.run(checkpoint)
    cancellation.cancel()
    with pytest.raises(Cancelled):
        cancellation.run(checkpoint)


def test_work_under_no_cancellation_or_another_one_is_not_stopped():
    cancelled = Cancellation()
    cancelled.cancel()
    checkpoint()  # no cancellation here
    Cancellation().run(checkpoint)
    passed = []
    other = threading.Thread(target=lambda: passed.append(checkpoint()))  # a thread of its own context
    cancelled.run(other.start)
    other.join()
    assert passed == [None]


class CancellingTranscriber(FakeTranscriber):
    """Its client leaves while it transcribes."""

    def __init__(self, cancellation: Cancellation) -> None:
        super().__init__()
        self.cancellation = cancellation

    def transcribe(self, audio, options, on_segment=None, time_words=None):
        transcript = super().transcribe(audio, options, on_segment, time_words)
        self.cancellation.cancel()
        return transcript


def test_a_cancelled_pipeline_starts_no_further_stage():
    cancellation = Cancellation()
    aligner, diarizer = FakeAligner(), FakeDiarizer()
    pipeline = TranscriptionPipeline(
        FakeDecoder(), CancellingTranscriber(cancellation), [aligner], diarizer, FakeVoicePrinter()
    )
    with pytest.raises(Cancelled):
        cancellation.run(
            lambda: pipeline.run(
                io.BytesIO(b"2"), TranscriptionOptions(model="base", diarize=True, word_timestamps=True)
            )
        )
    assert aligner.calls == 0 and diarizer.calls == []
