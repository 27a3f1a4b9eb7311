"""Whisper (CTranslate2) models for the transcription stage, loaded once and shared.

The cross-attention aligner borrows the same loaded models, so a model is in memory once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import ctranslate2
import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions, get_ctranslate2_storage
from whisperx.asr import WhisperModel

from app.adapters.memory import release_freed_memory
from app.adapters.models.cache import ModelCache
from app.adapters.models.resolver import WhisperModelResolver
from app.adapters.native_threads import on_own_thread
from app.adapters.whisperx.batching import SharedBatches
from app.adapters.whisperx.tokens import token_logprobs
from app.domain.errors import ModelLoadFailed, OutOfMemory

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded chunk with the scores OpenAI's verbose_json reports."""

    tokens: tuple[int, ...]
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    logprobs: tuple[float, ...] = ()  # per token, when asked for


class ScoredWhisperModel(WhisperModel):
    """whisperx's batched WhisperModel, also returning tokens, no-speech probability and
    honouring temperature (whisperx's own batch decoder drops both)."""

    name: str = ""

    def __init__(self, *args: Any, batches: SharedBatches | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches = batches or SharedBatches()

    def encode(self, features: np.ndarray, wait_for_company: bool = True) -> ctranslate2.StorageView:
        """The encoder output of a batch of windows (all of one length), encoded together with the
        windows other requests are encoding at the same time. It is kept on the host: rows of
        different requests are joined and split there, and the decoder takes host input on any device."""
        features = features[np.newaxis] if features.ndim == 2 else features
        rows = self.batches.run(
            ("encode", features.shape[1:]),
            features,
            [None] * len(features),
            memory_errors_named(self._encode_rows),
            wait_for_company=wait_for_company,
        )
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(rows))

    def window_languages(self, encoder_output, wait_for_company: bool = True) -> list[list[tuple[str, float]]]:
        """Per window, every language token (`<|en|>`) with its probability, likeliest first: one
        decoder step, taken together with other requests' windows of the same length."""
        rows = np.asarray(encoder_output)
        return list(
            self.batches.run(
                ("detect", rows.shape[1:]),
                rows,
                [None] * len(rows),
                memory_errors_named(self._detect_rows),
                wait_for_company=wait_for_company,
            )
        )

    def _detect_rows(self, rows: np.ndarray, _: list) -> list:
        return self.model.detect_language(ctranslate2.StorageView.from_array(np.ascontiguousarray(rows)))

    def _encode_rows(self, features: np.ndarray, _: list) -> np.ndarray:
        """On CPU the windows go through the encoder one at a time: its self-attention holds heads ×
        1500² floats per window, which a batch encoded together multiplies, for no speed gain (one window
        already fills the cores)."""
        if self.model.device != "cpu":
            return np.asarray(self.model.encode(get_ctranslate2_storage(features), to_cpu=True))
        return np.concatenate(
            [np.asarray(self.model.encode(get_ctranslate2_storage(window[np.newaxis]))) for window in features]
        )

    def prompt_tokens(self, tokenizer: Tokenizer, prompt: str | None, hotwords: str | None) -> list[int]:
        """faster-whisper's decoder prompt, with `hotwords` and `prompt` sharing one budget of half the
        context (223 tokens, as Whisper keeps for a prompt): hotwords first, then the prompt's last
        tokens, as OpenAI documents ("only the final 224 tokens are considered"). faster-whisper gives
        each half the context, and both together overflow the 448 positions the decoder has."""
        budget = self.max_length // 2 - 1
        hot = tokenizer.encode(" " + hotwords.strip())[:budget] if hotwords and hotwords.strip() else []
        room = budget - len(hot)
        previous = tokenizer.encode(" " + prompt.strip())[-room:] if prompt and prompt.strip() and room > 0 else []
        tokens = [tokenizer.sot_prev, *hot, *previous] if hot or previous else []
        return [*tokens, *tokenizer.sot_sequence, tokenizer.no_timestamps]

    def decode_batch(
        self,
        features: np.ndarray,
        tokenizer: Tokenizer,
        options: TranscriptionOptions,
        temperature: float,
        encoder_output=None,
        logprobs: bool = False,
    ) -> list[Decoded]:
        prompt = self.prompt_tokens(tokenizer, options.initial_prompt, options.hotwords)
        if encoder_output is None:
            encoder_output = self.encode(features)
        if temperature > 0:
            search = {
                "beam_size": 1,
                "num_hypotheses": options.best_of,
                "sampling_topk": 0,
                "sampling_temperature": temperature,
            }
        else:
            search = {"beam_size": options.beam_size, "patience": options.patience}
        search.update(
            length_penalty=options.length_penalty,
            max_length=self.max_length,
            suppress_blank=options.suppress_blank,
            suppress_tokens=tuple(options.suppress_tokens),
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            repetition_penalty=options.repetition_penalty,
        )
        results = self.generate(np.asarray(encoder_output), [prompt] * features.shape[0], search)
        best_tokens = []
        for result in results:
            best = int(np.argmax(result.scores)) if len(result.scores) > 1 else 0
            best_tokens.append([t for t in result.sequences_ids[best] if t < tokenizer.eot])
        scores = self._scores(encoder_output, prompt, best_tokens) if logprobs else [()] * len(results)
        decoded = []
        for result, tokens, token_scores in zip(results, best_tokens, scores):
            best = int(np.argmax(result.scores)) if len(result.scores) > 1 else 0
            # ctranslate2 scores are length-normalised; undo it the way whisperx does.
            length = len(result.sequences_ids[best])
            avg_logprob = result.scores[best] * (length**options.length_penalty) / (length + 1)
            text = tokenizer.decode(tokens)
            decoded.append(
                Decoded(
                    tokens=tuple(tokens),
                    text=text,
                    avg_logprob=float(avg_logprob),
                    no_speech_prob=float(result.no_speech_prob),
                    compression_ratio=compression_ratio(text),
                    logprobs=token_scores,
                )
            )
        return decoded

    def generate(self, encoder_output: np.ndarray, prompts: list[list[int]], search: dict[str, Any]) -> Sequence[Any]:
        """The decoder's results for these windows, decoded together with other requests' windows of
        the same length and search options (each window keeps its own prompt)."""
        key = ("generate", encoder_output.shape[1:], tuple(sorted(search.items())))
        return cast(
            Sequence[Any],
            self.batches.run(
                key,
                encoder_output,
                prompts,
                memory_errors_named(lambda rows, row_prompts: self.generate_rows(rows, row_prompts, search)),
            ),
        )

    def generate_rows(self, rows: np.ndarray, prompts: list[list[int]], search: dict[str, Any]) -> list:
        """One decoder batch as it is: these encoder output rows, each with its prompt."""
        return self.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(rows)),
            prompts,
            return_scores=True,
            return_no_speech_prob=True,
            **{**search, "suppress_tokens": list(search["suppress_tokens"])},
        )

    def _scores(self, encoder_output, prompt: list[int], sequences: list[list[int]]) -> list[tuple[float, ...]]:
        """Each decoded token's log probability: the beam search reports none per token, so the chosen
        tokens are forced through the decoder once more (greedy, as cheap as one more decoding)."""
        forced = self.model.generate(
            encoder_output,
            [prompt + tokens for tokens in sequences],
            beam_size=1,
            max_length=self.max_length,
            suppress_blank=False,
            suppress_tokens=[],
            return_logits_vocab=True,
        )
        return [
            token_logprobs(result.logits[0][: len(tokens)], tokens) if result.logits else ()
            for result, tokens in zip(forced, sequences)
        ]


def memory_errors_named(run: Callable[..., T]) -> Callable[..., T]:
    """`run`, raising OutOfMemory where CTranslate2 or numpy run out of memory (a RuntimeError naming it,
    std::bad_alloc, MemoryError), so a request that cannot run is told why."""

    def named(*args: Any) -> T:
        try:
            return run(*args)
        except MemoryError:
            raise OutOfMemory() from None
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower() or "bad_alloc" in str(exc):
                raise OutOfMemory() from exc
            raise

    return named


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


class WhisperModelStore:
    """ModelStore for the transcription stage."""

    def __init__(
        self,
        resolver: WhisperModelResolver,
        device: str,
        compute_type: str,
        cpu_threads: int,
        max_loaded: int = 0,
        idle_seconds: float = 0.0,
        batch_windows: int = 1,
        batch_wait_seconds: float = 0.0,
    ) -> None:
        self.resolver = resolver
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        # Each loaded model gathers the windows of every request using it (app/adapters/whisperx/batching.py).
        self.batch_windows = batch_windows
        self.batch_wait_seconds = batch_wait_seconds
        self._cache: ModelCache[ScoredWhisperModel] = ModelCache(self._load, max_loaded, idle_seconds)

    @property
    def load_count(self) -> int:
        return self._cache.load_count

    def get(self, name: str | None) -> ScoredWhisperModel:
        return self._cache.get(self.resolver.canonical(name))

    def use(self, name: str | None) -> AbstractContextManager[ScoredWhisperModel]:
        """The model, kept loaded until the `with` block ends (MODELS__MAX_LOADED never evicts it)."""
        return self._cache.use(self.resolver.canonical(name))

    def unload_idle(self) -> list[str]:
        return self._cache.unload_idle()

    def available(self) -> list[str]:
        return sorted({*self.resolver.available(), *self._cache.loaded()})

    def requestable(self) -> list[str]:
        return sorted({*self.resolver.requestable(), *self._cache.loaded()})

    def loaded(self) -> list[str]:
        return self._cache.loaded()

    def load(self, name: str) -> str:
        return self.get(name).name

    def unload(self, name: str) -> bool:
        return self._cache.unload(self.resolver.canonical(name))

    def _load(self, name: str) -> ScoredWhisperModel:
        resolved = self.resolver.resolve(name)
        try:
            # On a thread that ends with the load: the OpenMP team converting the weights goes with it
            # (app/adapters/native_threads.py), leaving only the model's own.
            model = on_own_thread(
                lambda: ScoredWhisperModel(
                    str(resolved.path),
                    device=self.device,
                    compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads,
                    local_files_only=True,
                    batches=SharedBatches(
                        self.batch_windows, self.batch_wait_seconds, after_batch=release_freed_memory
                    ),
                ),
                name=f"load {name}",
            )
        except (RuntimeError, ValueError, OSError, MemoryError) as exc:
            raise ModelLoadFailed(f"Model '{name}' could not be loaded: {exc}", param="model") from exc
        model.name = name
        return model
