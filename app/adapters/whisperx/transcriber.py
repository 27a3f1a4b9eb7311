"""Transcription with whisperx's building blocks: pyannote VAD chunks, batched Whisper decoding.

We drive the loop ourselves instead of calling FasterWhisperPipeline.transcribe because that
pipeline mutates its tokenizer and options on every call (unsafe across concurrent requests),
and drops what OpenAI's verbose_json reports (tokens, no_speech_prob, temperature).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence

import ctranslate2
import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions
from whisperx.asr import find_numeral_symbol_tokens

from app.adapters.cross_attention.words import ALIGNER_NAME, alignment_tokenizer, timed_sentences
from app.adapters.whisperx.features import between, by_length, file_window_frames, log_mel_window, n_mels_of
from app.adapters.whisperx.model_store import Decoded, ScoredWhisperModel, WhisperModelStore
from app.adapters.whisperx.tokens import token_pieces
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.domain.audio import FRAMES_PER_SECOND, SAMPLE_RATE, WINDOW_SECONDS
from app.domain.cancellation import checkpoint
from app.domain.errors import InvalidRequest
from app.domain.models import Audio, Segment, Task, TokenLogprob, Transcript
from app.domain.models import TranscriptionOptions as Options
from app.domain.ports.transcription import SegmentSink, WordTimesWanted

# Temperatures a window that decoded into a loop is tried at, in turn (Whisper's own schedule).
FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0)
FALLBACK_SEED = 0
# whisperx's defaults (asr.load_model), single temperature: each chunk is decoded once, again only on a loop.
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
# The first chunk is cut this short and decoded alone: the first words of a stream come after one
# short window's decoding, not a full 30 s one's.
FIRST_CHUNK_SECONDS = 8
STREAM_HEAD_SECONDS = 60  # where the first speech chunk is looked for before the rest of the file
DETECTION_SECONDS = 5  # a first chunk at least this long, and sure of its language, tells it itself


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
                return _detections(model, encoder_output, options.languages)
            if not first_detections:
                first_detections.append(_detections(model, encoder_output, options.languages))
            return first_detections[0]

        language = self._language(model, samples, first_batch, first_groups, audio.duration, options, detect)
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
                detected += self._confident_languages(model, encoder_output, options, detect)
                decoded_group = self._decode(model, features, encoder_output, tokenizer, asr_options, options)
                rows = [
                    self._segment(*batch[i], decoded, temperature, audio, options, model)
                    if decoded.text.strip()
                    else None
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

    @staticmethod
    def _decode(
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

    @staticmethod
    def _segment(
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

    def _language(
        self,
        model: ScoredWhisperModel,
        samples: np.ndarray,
        first_batch,
        first_groups,
        duration: float,
        options: Options,
        detect: Callable[[object], list[tuple[str, float]]],
    ) -> str:
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
        frames = self._frames(start, end, duration)
        encoder_output = model.encode(log_mel_window(between(samples, start, end), n_mels_of(model), frames)[None])
        return _detections(model, encoder_output, options.languages)[0][0]

    @staticmethod
    def _confident_languages(
        model: ScoredWhisperModel, encoder_output, options: Options, detect: Callable[[object], list[tuple[str, float]]]
    ) -> list[str]:
        """Languages that windows of this batch are confidently in: a recording that switches language
        reports each (`languages` of `json`); the decoding keeps the recording's language."""
        if options.language or not model.model.is_multilingual:
            return []
        return [code for code, probability in detect(encoder_output) if probability >= LANGUAGE_CONFIDENCE]

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
    for ranked in model.window_languages(encoder_output):
        candidates = [(token[2:-2], float(p)) for token, p in ranked if not allowed or token[2:-2] in allowed]
        out.append(candidates[0] if candidates else (allowed[0], 0.0))
    return out


def _batches(items: Sequence[tuple[float, float]], size: int) -> Iterator[Sequence[tuple[float, float]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
