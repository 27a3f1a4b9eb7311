"""Word times from the Whisper model's own cross-attention (DTW), needing no extra model.

faster-whisper's `find_alignment` force-aligns known text tokens against the encoder output
using the model's alignment heads. We run it per segment on that segment's audio, then split
segments at sentence ends (app/domain/sentences.py) so subtitles get sentence-sized cues.
"""

from __future__ import annotations

import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import merge_punctuations

from app.adapters.whisperx.features import between, log_mel_window, n_mels_of
from app.adapters.whisperx.model_store import WhisperModelStore
from app.domain.audio import SAMPLE_RATE, FRAMES_PER_SECOND, WINDOW_FRAMES
from app.domain.errors import AlignmentUnavailable
from app.domain.models import Audio, Segment, Transcript, TranscriptionOptions, Word
from app.domain.sentences import split_sentences
from app.domain.timeline import monotonic_words, renumber

_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"


class CrossAttentionAligner:
    name = "cross_attention"

    def __init__(self, models: WhisperModelStore) -> None:
        self.models = models

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        with self.models.use(transcript.model or options.model) as model:
            return self._align(model, audio, transcript)

    def _align(self, model, audio: Audio, transcript: Transcript) -> Transcript:
        if model.model.is_multilingual:
            tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=transcript.language)
        elif transcript.language == "en":
            tokenizer = Tokenizer(model.hf_tokenizer, False)
        else:
            raise AlignmentUnavailable(transcript.language, f"model '{model.name}' is English-only")
        samples = np.asarray(audio.samples, dtype=np.float32)
        n_mels = n_mels_of(model)
        segments: list[Segment] = []
        for segment in transcript.segments:
            segments.extend(self._align_segment(model, tokenizer, samples, n_mels, segment, transcript.language))
        return transcript.with_segments(renumber(segments), aligner=self.name)

    def _align_segment(self, model, tokenizer: Tokenizer, samples: np.ndarray, n_mels: int, segment: Segment,
                       language: str) -> list[Segment]:
        tokens = [t for t in segment.tokens if t < tokenizer.eot] or tokenizer.encode(" " + segment.text.strip())
        if not tokens:
            return [segment]
        chunk = between(samples, segment.start, segment.end)
        if chunk.size == 0:
            return [segment]
        mel = log_mel_window(chunk, n_mels)
        num_frames = min(WINDOW_FRAMES, max(1, int(round(chunk.shape[0] / SAMPLE_RATE * FRAMES_PER_SECOND))))
        encoder_output = model.encode(mel[np.newaxis])
        alignment = model.find_alignment(tokenizer, [tokens], encoder_output, num_frames)[0]
        merge_punctuations(alignment, _PREPEND, _APPEND)
        timed = [
            (w["word"], list(w["tokens"]), segment.start + float(w["start"]), segment.start + float(w["end"]), float(w["probability"]))
            for w in alignment
            if w["word"].strip()
        ]
        if not timed:
            return [segment]
        return [self._sentence(segment, part) for part in split_sentences(timed, lambda item: item[0], language)]

    @staticmethod
    def _sentence(segment: Segment, part: list[tuple[str, list[int], float, float, float]]) -> Segment:
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
        )

