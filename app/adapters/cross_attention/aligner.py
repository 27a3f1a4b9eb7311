"""Word times from the Whisper model's own cross-attention (DTW), needing no extra model.

faster-whisper's `find_alignment` force-aligns known text tokens against the encoder output
using the model's alignment heads. We run it per segment on that segment's audio, then split
segments at sentence ends so subtitles get sentence-sized cues, as whisperx's aligner does.
"""

from __future__ import annotations

import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import merge_punctuations
from whisperx.audio import N_SAMPLES, log_mel_spectrogram

from app.adapters.whisperx.model_store import WhisperModelStore
from app.domain.errors import AlignmentUnavailable
from app.domain.models import Audio, Segment, Transcript, TranscriptionOptions, Word
from app.domain.timeline import monotonic_words, renumber

SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 100
_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"
_SENTENCE_END = (".", "?", "!", "。", "？", "！")


class CrossAttentionAligner:
    name = "cross_attention"

    def __init__(self, models: WhisperModelStore) -> None:
        self.models = models

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        model = self.models.get(transcript.model or options.model)
        if model.model.is_multilingual:
            tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=transcript.language)
        elif transcript.language == "en":
            tokenizer = Tokenizer(model.hf_tokenizer, False)
        else:
            raise AlignmentUnavailable(transcript.language, f"model '{model.name}' is English-only")
        samples = np.asarray(audio.samples, dtype=np.float32)
        n_mels = model.feat_kwargs.get("feature_size") or 80
        segments: list[Segment] = []
        for segment in transcript.segments:
            segments.extend(self._align_segment(model, tokenizer, samples, n_mels, segment))
        return transcript.with_segments(renumber(segments), aligner=self.name)

    def _align_segment(self, model, tokenizer: Tokenizer, samples: np.ndarray, n_mels: int, segment: Segment) -> list[Segment]:
        tokens = [t for t in segment.tokens if t < tokenizer.eot] or tokenizer.encode(" " + segment.text.strip())
        if not tokens:
            return [segment]
        start_sample = int(segment.start * SAMPLE_RATE)
        chunk = samples[start_sample : int(segment.end * SAMPLE_RATE)][:N_SAMPLES]
        if chunk.size == 0:
            return [segment]
        mel = log_mel_spectrogram(chunk, n_mels=n_mels, padding=N_SAMPLES - chunk.shape[0]).numpy()[:, :3000]
        num_frames = min(3000, max(1, int(round(chunk.shape[0] / SAMPLE_RATE * FRAMES_PER_SECOND))))
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
        return [self._sentence(segment, part) for part in _sentences(timed)]

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


def _sentences(timed: list) -> list[list]:
    parts: list[list] = [[]]
    for item in timed:
        parts[-1].append(item)
        if item[0].strip().endswith(_SENTENCE_END):
            parts.append([])
    return [p for p in parts if p]
