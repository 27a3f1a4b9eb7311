"""wav2vec2 forced alignment through whisperx (`load_align_model` + `align`).

Models come from ALIGNMENT__MODELS_DIR/<language> (a Hugging Face wav2vec2 CTC directory),
from an explicit per-language name, or from whisperx's defaults (torchaudio / hub) when
downloads are allowed. A language with no loadable model raises AlignmentUnavailable, and the
pipeline falls back to the cross-attention aligner.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from app.adapters.audio import float_samples
from app.adapters.models.cache import ModelCache
from app.adapters.whisperx.model_store import WhisperModelStore
from app.adapters.whisperx.punkt import ensure_punkt
from app.domain.cancellation import checkpoint
from app.domain.errors import AlignmentUnavailable, ModelNotFound
from app.domain.languages import required_language, word_joiner
from app.domain.models import Audio, Segment, Transcript, TranscriptionOptions, Word
from app.domain.sentences import split_sentences
from app.domain.timeline import monotonic_words, renumber


class Wav2Vec2ModelStore:
    """ModelStore for the alignment stage; models are keyed by language code."""

    def __init__(
        self,
        device: str,
        models_dir: Path | None,
        model_names: dict[str, str],
        allow_download: bool,
        download_dir: Path | None,
        max_loaded: int = 0,
        idle_seconds: float = 0.0,
    ) -> None:
        self.device = device
        self.models_dir = models_dir
        self.model_names = model_names
        self.allow_download = allow_download
        self.download_dir = download_dir
        self._cache: ModelCache[tuple[Any, dict]] = ModelCache(self._load, max_loaded, idle_seconds)
        self._failures: dict[str, str] = {}  # language -> why it could not load (until an explicit load)
        self._lock = threading.Lock()

    def get(self, language: str) -> tuple[Any, dict]:
        with self._lock:
            reason = self._failures.get(language)
        if reason is not None:
            raise AlignmentUnavailable(language, reason)
        try:
            return self._cache.get(language)
        except AlignmentUnavailable as exc:
            with self._lock:
                self._failures[language] = exc.reason
            raise

    def may_load(self, language: str) -> bool:
        """Whether a model for `language` could load, without loading it: one is named or local, or
        downloads are allowed, and loading it has not failed already."""
        with self._lock:
            if language in self._failures:
                return False
        return language in self._cache.loaded() or self._source(language)[0] is not None or self.allow_download

    def available(self) -> list[str]:
        names = set(self.model_names)
        if self.models_dir is not None and self.models_dir.is_dir():
            names.update(p.name for p in self.models_dir.iterdir() if (p / "config.json").is_file())
        if self.allow_download:
            from whisperx.alignment import DEFAULT_ALIGN_MODELS_HF, DEFAULT_ALIGN_MODELS_TORCH

            names.update(DEFAULT_ALIGN_MODELS_TORCH, DEFAULT_ALIGN_MODELS_HF)
        return sorted(names | set(self._cache.loaded()))

    def requestable(self) -> list[str]:
        return self.available()

    def loaded(self) -> list[str]:
        return self._cache.loaded()

    def unload_idle(self) -> list[str]:
        return self._cache.unload_idle()

    def load(self, language: str) -> str:
        language = required_language(language)
        with self._lock:
            self._failures.pop(language, None)  # an explicit load retries a failed one
        try:
            self.get(language)
        except AlignmentUnavailable as exc:
            raise ModelNotFound("alignment model for language", language, self.available(), param="language") from exc
        return language

    def unload(self, language: str) -> bool:
        return self._cache.unload(required_language(language))

    def _source(self, language: str) -> tuple[str | None, bool]:
        """(model name or path, local only?)"""
        if self.models_dir is not None:
            local = (self.models_dir / language).resolve()
            if local.parent == self.models_dir.resolve() and (local / "config.json").is_file():
                return str(local), True
        if language in self.model_names:
            name = self.model_names[language]
            return name, not self.allow_download and not Path(name).is_dir()
        return None, not self.allow_download

    def _load(self, language: str) -> tuple[Any, dict]:
        import whisperx

        name, local_only = self._source(language)
        if name is None and local_only:
            raise AlignmentUnavailable(
                language, "no local wav2vec2 model (ALIGNMENT__MODELS_DIR) and downloads are disabled"
            )
        try:
            return whisperx.load_align_model(
                language_code=language,
                device=self.device,
                model_name=name,
                model_dir=str(self.download_dir) if self.download_dir else None,
                model_cache_only=local_only,
            )
        except Exception as exc:
            raise AlignmentUnavailable(language, f"{type(exc).__name__}: {str(exc)[:200]}") from exc


class Wav2Vec2Aligner:
    """Word times from a wav2vec2 CTC model. whisperx aligns each Whisper segment; sentences are then
    cut by our own splitter (app/domain/sentences.py), the one every aligner shares."""

    name = "wav2vec2"

    def __init__(self, models: Wav2Vec2ModelStore, whisper_models: WhisperModelStore, data_dir: Path) -> None:
        self.models = models
        self.whisper_models = whisper_models
        self.data_dir = data_dir

    def can_align(self, language: str) -> bool:
        return self.models.may_load(language)

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        from whisperx.utils import PUNKT_LANGUAGES

        model, metadata = self.models.get(transcript.language)
        # whisperx.align loads a Punkt model (whose cuts we do not use): keep that offline.
        ensure_punkt(PUNKT_LANGUAGES.get(transcript.language, "english"), self.data_dir)
        samples = float_samples(audio.samples)  # whisperx.align slices it as one float array
        encode = self._tokenizer(transcript)
        segments: list[Segment] = []
        for segment in transcript.segments:
            checkpoint()
            words = self._words(segment, model, metadata, samples)
            if not words:
                segments.append(segment)  # nothing alignable (e.g. only symbols): keep it as decoded
                continue
            for sentence in split_sentences(words, lambda word: word.word, transcript.language):
                segments.append(_sentence(segment, sentence, transcript.language, encode))
        return transcript.with_segments(renumber(segments), aligner=self.name)

    def _words(self, segment: Segment, model, metadata: dict, samples: np.ndarray) -> list[Word]:
        import whisperx

        source = [{"text": segment.text, "start": segment.start, "end": segment.end}]
        result = whisperx.align(source, model, metadata, samples, self.models.device)
        raw = [w for piece in result["segments"] for w in piece.get("words", [])]
        words = [
            Word(
                word=w["word"],
                start=float(w.get("start", segment.start)),
                end=float(w.get("end", w.get("start", segment.start))),
                score=float(w["score"]) if "score" in w else None,
            )
            for w in raw
            if w["word"].strip()
        ]
        return monotonic_words(words, segment.start, segment.end) if words else []

    def _tokenizer(self, transcript: Transcript):
        try:
            tokenizer = self.whisper_models.get(transcript.model).hf_tokenizer
        except Exception:  # noqa: BLE001 - a third-party transcriber's model: no Whisper tokens
            return lambda text: ()
        return lambda text: tuple(tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)


def _sentence(origin: Segment, words: list[Word], language: str, encode) -> Segment:
    """One sentence of a Whisper segment; it keeps the decoding scores of the segment it came from."""
    text = word_joiner(language).join(w.word for w in words).strip()
    return Segment(
        id=0,
        seek=origin.seek,
        start=round(words[0].start, 3),
        end=round(words[-1].end, 3),
        text=text,
        tokens=encode(text),
        temperature=origin.temperature,
        avg_logprob=origin.avg_logprob,
        compression_ratio=origin.compression_ratio,
        no_speech_prob=origin.no_speech_prob,
        words=tuple(words),
    )
