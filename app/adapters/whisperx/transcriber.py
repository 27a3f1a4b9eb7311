"""Transcription with whisperx's building blocks: pyannote VAD chunks, batched Whisper decoding.

We drive the loop ourselves instead of calling FasterWhisperPipeline.transcribe because that
pipeline mutates its tokenizer and options on every call (unsafe across concurrent requests),
and drops what OpenAI's verbose_json reports (tokens, no_speech_prob, temperature).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterator, Sequence

import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions
from whisperx.asr import find_numeral_symbol_tokens

from app.adapters.cross_attention.words import ALIGNER_NAME, alignment_tokenizer, timed_sentences
from app.adapters.whisperx.decoding import BASE_OPTIONS, decode_windows, segment_of
from app.adapters.whisperx.features import between, by_length, file_window_frames, log_mel_window, n_mels_of
from app.adapters.whisperx.languages import choose_language, confident_languages, detections
from app.adapters.whisperx.model_store import ScoredWhisperModel, WhisperModelStore
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.domain.audio import SAMPLE_RATE
from app.domain.cancellation import checkpoint
from app.domain.models import Audio, Segment, Transcript
from app.domain.models import TranscriptionOptions as Options
from app.domain.ports.transcription import SegmentSink, WordTimesWanted

# The first chunk is cut this short and decoded alone: the first words of a stream come after one
# short window's decoding, not a full 30 s one's.
FIRST_CHUNK_SECONDS = 8
STREAM_HEAD_SECONDS = 60  # where the first speech chunk is looked for before the rest of the file


class WhisperXTranscriber:
    name = "whisperx"

    def __init__(self, models: WhisperModelStore, vad: PyannoteVad | SileroVad, fit_windows: bool = True) -> None:
        self.models = models
        self.vad = vad
        self.fit_windows = fit_windows  # WHISPER__FIT_WINDOWS
        self._numeral_tokens: dict[str, list[int]] = {}
        self._numeral_lock = threading.Lock()

    def warm_up(self, model: str) -> None:
        """Load `model` and the VAD before the first request needs them."""
        self.models.load(model)
        self.vad.warm_up()

    def times_words_like(self, aligner: str) -> bool:
        # Words are timed from the encoder output each batch was decoded from: no second encoder pass.
        return aligner == ALIGNER_NAME

    def transcribe(
        self,
        audio: Audio,
        options: Options,
        on_segment: SegmentSink | None = None,
        time_words: WordTimesWanted | None = None,
    ) -> Transcript:
        with self.models.use(options.model) as model:
            return self._transcribe(model, audio, options, on_segment, time_words)

    def _transcribe(
        self,
        model: ScoredWhisperModel,
        audio: Audio,
        options: Options,
        on_segment: SegmentSink | None,
        time_words: WordTimesWanted | None,
    ) -> Transcript:
        samples = audio.samples  # 16-bit PCM: windows are converted one by one (`between`)
        n_mels = n_mels_of(model)

        def encoded(batch: Sequence[tuple[float, float]]) -> list[tuple[list[int], np.ndarray, object]]:
            """The batch's windows grouped by length (each group is one encoder and decoder batch): their
            positions in the batch, features and encoder output. Built batch by batch: an hour of audio
            would otherwise hold every mel spectrogram at once."""
            checkpoint()  # a batch boundary: a cancelled request decodes no further batch
            out = []
            for frames, indices in by_length(
                [self._frames(start, end, audio.duration) for start, end in batch]
            ).items():
                features = np.stack([log_mel_window(between(samples, *batch[i]), n_mels, frames) for i in indices])
                out.append((indices, features, model.encode(features)))
            return out

        # Only a caller that takes segments as they come waits for the first chunk alone.
        batches = self._batches(samples, options, first_alone=on_segment is not None)
        first_batch = next(batches, None)
        first_groups = encoded(first_batch) if first_batch else []
        first_output = first_groups[0][2] if first_groups else None
        first_detections: list[list[tuple[str, float]]] = []

        def detect(encoder_output) -> list[tuple[str, float]]:
            """Per window of this encoder output, its likeliest language. The first chunk's is asked
            twice (it may decide the language, and it is reported among the detected ones): run once."""
            if encoder_output is not first_output:
                return detections(model, encoder_output, options.languages)
            if not first_detections:
                first_detections.append(detections(model, encoder_output, options.languages))
            return first_detections[0]

        language = choose_language(
            model, samples, first_batch, first_groups, audio.duration, options, detect, self.fit_windows
        )
        detected = [language]
        tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task=options.task.value, language=language
        )
        asr_options = self._asr_options(model, tokenizer, options)

        word_tokenizer = (
            alignment_tokenizer(model, language) if time_words is not None and time_words(language) else None
        )

        segments: list[Segment] = []
        later = ((batch, encoded(batch)) for batch in batches)
        for batch, groups in itertools.chain([(first_batch, first_groups)] if first_batch else [], later):
            pieces: list[list[Segment]] = [[] for _ in batch]
            for indices, features, encoder_output in groups:
                checkpoint()
                detected += confident_languages(model, encoder_output, options, detect)
                decoded_group = decode_windows(model, features, encoder_output, tokenizer, asr_options, options)
                rows = [
                    segment_of(*batch[i], decoded, temperature, audio, options, model) if decoded.text.strip() else None
                    for i, (decoded, temperature) in zip(indices, decoded_group)
                ]
                if word_tokenizer is not None:
                    timed = timed_sentences(model, word_tokenizer, encoder_output, rows, language)
                else:
                    timed = [[row] if row is not None else [] for row in rows]
                for i, sentences in zip(indices, timed):
                    pieces[i] = sentences
            for segment in itertools.chain.from_iterable(pieces):
                segment = dataclasses.replace(segment, id=len(segments))
                segments.append(segment)
                if on_segment is not None:
                    on_segment(segment)
        return Transcript(
            task=options.task,
            language=language,
            duration=audio.duration,
            segments=tuple(segments),
            model=model.name,
            aligner=ALIGNER_NAME if word_tokenizer is not None else None,
            languages=tuple(dict.fromkeys(detected)),
        )

    def _frames(self, start: float, end: float, duration: float) -> int:
        """A window's length: fitted to its chunk in steps of 10 s, so that windows of different
        requests share the model's batches; Whisper's full 30 s when fitting is off."""
        return file_window_frames(min(end, duration) - start, self.fit_windows)

    def _batches(
        self, samples: np.ndarray, options: Options, *, first_alone: bool
    ) -> Iterator[Sequence[tuple[float, float]]]:
        """Speech chunks in batches, the first chunk short: at most FIRST_CHUNK_SECONDS, cut at a pause,
        found in the file's first minute, and with `first_alone` in a batch of its own (a stream's first
        words wait neither for VAD over the whole file nor for a 30 s window's decoding). Plain requests
        are cut the same way, so a stream says what they say, but decode the first chunk in one batch
        with the next ones: a short clip's two windows cost one decoder call, not two in a row."""
        size = max(1, options.batch_size)
        head = samples[: STREAM_HEAD_SECONDS * SAMPLE_RATE]
        head_seconds = head.shape[0] / SAMPLE_RATE
        whole = head.shape[0] == samples.shape[0]
        heads = self.vad.speech_chunks(head, min(FIRST_CHUNK_SECONDS, options.chunk_size), options.vad)
        # The head decides the first chunk unless that chunk runs into the head's end.
        if not heads or (not whole and heads[0][1] > head_seconds - 1):
            yield from _batches([] if whole else self.vad.speech_chunks(samples, options.chunk_size, options.vad), size)
            return
        first = heads[0]
        if first_alone:
            yield [first]
        remaining = samples[int(first[1] * SAMPLE_RATE) :]
        rest = (
            self.vad.speech_chunks(remaining, options.chunk_size, options.vad)
            if remaining.shape[0] >= SAMPLE_RATE // 10
            else []
        )
        rest = [(start + first[1], end + first[1]) for start, end in rest]
        yield from _batches(rest, size) if first_alone else _batches([first, *rest], size)

    def _asr_options(self, model: ScoredWhisperModel, tokenizer: Tokenizer, options: Options) -> TranscriptionOptions:
        suppress = list(BASE_OPTIONS.suppress_tokens)
        if options.suppress_numerals:
            suppress = sorted({*suppress, *self._numerals(model, tokenizer)})
        return dataclasses.replace(
            BASE_OPTIONS,
            initial_prompt=options.prompt or None,
            hotwords=options.hotwords or None,
            suppress_tokens=suppress,
            multilingual=model.model.is_multilingual,
        )

    def _numerals(self, model: ScoredWhisperModel, tokenizer: Tokenizer) -> list[int]:
        # Scanning the whole vocabulary takes a while; the answer depends on the model only.
        with self._numeral_lock:
            if model.name not in self._numeral_tokens:
                self._numeral_tokens[model.name] = find_numeral_symbol_tokens(tokenizer)
            return self._numeral_tokens[model.name]


def _batches(items: Sequence[tuple[float, float]], size: int) -> Iterator[Sequence[tuple[float, float]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
