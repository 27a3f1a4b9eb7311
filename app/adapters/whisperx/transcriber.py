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
from app.adapters.whisperx.features import between, log_mel_window, n_mels_of
from app.adapters.whisperx.model_store import ScoredWhisperModel, WhisperModelStore
from app.adapters.whisperx.tokens import token_pieces
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.domain.audio import FRAMES_PER_SECOND, SAMPLE_RATE, WINDOW_SECONDS
from app.domain.errors import InvalidRequest
from app.domain.models import Audio, Segment, Task, TokenLogprob, Transcript
from app.domain.models import TranscriptionOptions as Options
from app.domain.ports import SegmentSink, WordTimesWanted

# whisperx's defaults (asr.load_model), single temperature: we decode each chunk once.
_BASE_OPTIONS = TranscriptionOptions(
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


# A window detected in another language this surely is reported among the recording's languages.
LANGUAGE_CONFIDENCE = 0.8
STREAM_HEAD_SECONDS = 60  # where a stream looks for its first speech chunk before the rest of the file


class WhisperXTranscriber:
    name = "whisperx"
    # Words are timed from the encoder output each batch was decoded from: no second encoder pass.
    aligns_while_decoding = ALIGNER_NAME

    def __init__(self, models: WhisperModelStore, vad: PyannoteVad | SileroVad) -> None:
        self.models = models
        self.vad = vad
        self._numeral_tokens: dict[str, list[int]] = {}
        self._numeral_lock = threading.Lock()

    def transcribe(self, audio: Audio, options: Options, on_segment: SegmentSink | None = None,
                   time_words: WordTimesWanted | None = None) -> Transcript:
        with self.models.use(options.model) as model:
            return self._transcribe(model, audio, options, on_segment, time_words)

    def _transcribe(self, model: ScoredWhisperModel, audio: Audio, options: Options,
                    on_segment: SegmentSink | None, time_words: WordTimesWanted | None) -> Transcript:
        samples = audio.samples  # 16-bit PCM: windows are converted one by one (`between`)
        n_mels = n_mels_of(model)
        batches = self._batches(samples, options, streaming=on_segment is not None)
        first_batch = next(batches, None)

        def features_of(batch: Sequence[tuple[float, float]]) -> np.ndarray:
            # Built batch by batch: an hour of audio would otherwise hold every mel spectrogram at once.
            return np.stack([log_mel_window(between(samples, start, end), n_mels) for start, end in batch])

        # Encode the first batch once: it serves language detection (on speech, not leading
        # silence) and decoding alike, which saves a whole encoder pass on short clips.
        first_features = features_of(first_batch) if first_batch else None
        first_output = model.encode(first_features) if first_features is not None else None
        language = self._language(model, samples, first_output, options)
        detected = [language]
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task=options.task.value, language=language)
        asr_options = self._asr_options(model, tokenizer, options)

        word_tokenizer = alignment_tokenizer(model, language) if time_words is not None and time_words(language) else None

        segments: list[Segment] = []
        for index, batch in enumerate(itertools.chain([first_batch] if first_batch else [], batches)):
            batch_features = first_features if index == 0 else features_of(batch)
            encoder_output = first_output if index == 0 else model.encode(batch_features)
            detected += self._confident_languages(model, encoder_output, options)
            decoded_batch = model.decode_batch(batch_features, tokenizer, asr_options, options.temperature,
                                               encoder_output=encoder_output, logprobs=options.logprobs)
            rows = [self._segment(start, end, decoded, audio, options, model) if decoded.text.strip() else None
                    for (start, end), decoded in zip(batch, decoded_batch)]
            if word_tokenizer is not None:
                pieces = timed_sentences(model, word_tokenizer, encoder_output, rows, language)
            else:
                pieces = [[row] if row is not None else [] for row in rows]
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

    @staticmethod
    def _segment(start: float, end: float, decoded, audio: Audio, options: Options, model: ScoredWhisperModel) -> Segment:
        logprobs = ()
        if decoded.logprobs:
            pieces, _, raw = token_pieces(model.hf_tokenizer, decoded.tokens)
            logprobs = tuple(TokenLogprob(token=piece, bytes=tuple(data), logprob=round(score, 6))
                             for piece, data, score in zip(pieces, raw, decoded.logprobs))
        return Segment(
            id=0,
            seek=int(round(start * FRAMES_PER_SECOND)),  # mel frames, as OpenAI reports it
            start=round(start, 3),
            end=round(min(end, audio.duration), 3),  # VAD pads past the last sample
            text=decoded.text.strip(),
            tokens=decoded.tokens,
            temperature=options.temperature,
            avg_logprob=decoded.avg_logprob,
            compression_ratio=decoded.compression_ratio,
            no_speech_prob=decoded.no_speech_prob,
            token_logprobs=logprobs,
        )

    def _batches(self, samples: np.ndarray, options: Options, *, streaming: bool) -> Iterator[Sequence[tuple[float, float]]]:
        """Speech chunks in batches. A stream's first words should not wait for VAD over the whole
        file and a whole batch: its first chunk is found in the file's first minute and decoded alone,
        and the rest of the file is searched for speech after that."""
        size = max(1, options.batch_size)
        head = samples[: STREAM_HEAD_SECONDS * SAMPLE_RATE]
        if streaming and samples.shape[0] > head.shape[0]:
            head_chunks = self.vad.speech_chunks(head, options.chunk_size, options.vad)
            # The head decides the first chunk when that chunk could not have grown past it.
            if head_chunks and head_chunks[0][0] + options.chunk_size < STREAM_HEAD_SECONDS - 1:
                first = head_chunks[0]
                yield [first]
                rest = self.vad.speech_chunks(samples, options.chunk_size, options.vad)
                yield from _batches([c for c in rest if c[0] >= first[1] - 1e-3], size)
                return
        chunks = self.vad.speech_chunks(samples, options.chunk_size, options.vad)
        if streaming and chunks:
            yield chunks[:1]
            chunks = chunks[1:]
        yield from _batches(chunks, size)

    def _language(self, model: ScoredWhisperModel, samples: np.ndarray, encoder_output, options: Options) -> str:
        if not model.model.is_multilingual:
            if options.task is Task.TRANSLATE:
                raise InvalidRequest(f"Model '{model.name}' is English-only and cannot translate; use a multilingual model.", param="model")
            if options.language not in (None, "en"):
                raise InvalidRequest(f"Model '{model.name}' is English-only; language '{options.language}' needs a multilingual model.", param="language")
            if options.languages and "en" not in options.languages:
                raise InvalidRequest(f"Model '{model.name}' is English-only; 'languages[]' must include 'en'.",
                                     param="languages[]")
            return "en"
        if options.language:
            return options.language
        if encoder_output is None:  # no speech found: detect on the first 30 s as they are
            encoder_output = model.encode(log_mel_window(between(samples, 0, WINDOW_SECONDS), n_mels_of(model)))
        return _detections(model, encoder_output, options.languages)[0][0]

    @staticmethod
    def _confident_languages(model: ScoredWhisperModel, encoder_output, options: Options) -> list[str]:
        """Languages that windows of this batch are confidently in: a recording that switches language
        reports each (`languages` of `json`); the decoding keeps the recording's language."""
        if options.language or not model.model.is_multilingual:
            return []
        return [code for code, probability in _detections(model, encoder_output, options.languages)
                if probability >= LANGUAGE_CONFIDENCE]

    def _asr_options(self, model: ScoredWhisperModel, tokenizer: Tokenizer, options: Options) -> TranscriptionOptions:
        suppress = list(_BASE_OPTIONS.suppress_tokens)
        if options.suppress_numerals:
            suppress = sorted({*suppress, *self._numerals(model, tokenizer)})
        return dataclasses.replace(
            _BASE_OPTIONS,
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


def _detections(model: ScoredWhisperModel, encoder_output, allowed: Sequence[str]) -> list[tuple[str, float]]:
    """Per window, the likeliest language among `allowed` (any when empty) and its probability."""
    out = []
    for ranked in model.model.detect_language(encoder_output):
        candidates = [(token[2:-2], float(p)) for token, p in ranked if not allowed or token[2:-2] in allowed]
        out.append(candidates[0] if candidates else (allowed[0], 0.0))
    return out


def _batches(items: Sequence[tuple[float, float]], size: int) -> Iterator[Sequence[tuple[float, float]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
