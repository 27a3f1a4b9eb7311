"""The cross-attention aligner: word times for a transcript that arrives without them.

The whisperx transcriber times words while it decodes (app/adapters/cross_attention/words.py over
the encoder output it already has); this aligner serves the rest: a fallback after another aligner,
or a transcript from a transcriber that cannot. It encodes each segment's window again, in batches.
"""

from __future__ import annotations

import numpy as np

from app.adapters.cross_attention.words import ALIGNER_NAME, alignment_tokenizer, timed_sentences
from app.adapters.whisperx.features import between, by_length, file_window_frames, log_mel_window, n_mels_of
from app.adapters.whisperx.model_store import WhisperModelStore
from app.domain.cancellation import checkpoint
from app.domain.models import Audio, Segment, Transcript, TranscriptionOptions
from app.domain.timeline import renumber


class CrossAttentionAligner:
    name = ALIGNER_NAME

    def __init__(self, models: WhisperModelStore, fit_windows: bool = True) -> None:
        self.models = models
        self.fit_windows = fit_windows  # WHISPER__FIT_WINDOWS: the windows the transcriber decoded from

    def can_align(self, language: str) -> bool:
        return True  # any language a multilingual Whisper model decodes; English-only ones say so in align

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        with self.models.use(transcript.model or options.model) as model:
            tokenizer = alignment_tokenizer(model, transcript.language)
            samples = audio.samples
            n_mels = n_mels_of(model)
            size = max(1, options.batch_size)
            segments: list[Segment] = []
            for i in range(0, len(transcript.segments), size):
                checkpoint()
                batch = transcript.segments[i : i + size]
                timed: list[list[Segment]] = [[] for _ in batch]
                lengths = [file_window_frames(min(s.end, audio.duration) - s.start, self.fit_windows) for s in batch]
                for frames, indices in by_length(lengths).items():
                    windows = np.stack(
                        [
                            log_mel_window(between(samples, batch[j].start, batch[j].end), n_mels, frames)
                            for j in indices
                        ]
                    )
                    rows = [batch[j] for j in indices]
                    for j, sentences in zip(
                        indices, timed_sentences(model, tokenizer, model.encode(windows), rows, transcript.language)
                    ):
                        timed[j] = sentences
                segments.extend(s for sentences in timed for s in sentences)
        return transcript.with_segments(renumber(segments), aligner=self.name)
