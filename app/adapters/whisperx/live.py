"""Live turns: one Whisper window decoded directly, continuing from the tokens already sent.

The stable tokens go after the decoder prompt as a forced prefix, so each new hypothesis can only
extend what the client has seen (the deltas join to exactly the final transcript), and the prefix
costs one decoder pass instead of being generated again.
"""

from __future__ import annotations

import dataclasses

from faster_whisper.tokenizer import Tokenizer

from app.adapters.audio import float_samples
from app.adapters.whisperx.decoding import least_repetitive
from app.adapters.whisperx.features import fitted_frames, log_mel_window, n_mels_of
from app.adapters.whisperx.model_store import ScoredWhisperModel, WhisperModelStore, compression_ratio
from app.adapters.whisperx.tokens import token_logprobs, token_pieces
from app.domain.audio import SAMPLE_RATE, WINDOW_SAMPLES
from app.domain.errors import InvalidRequest, ModelNotFound
from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import Audio

BEAM_SIZE = 5  # the final decoding of a turn, as for files; live hypotheses are greedy (fast)
# Whisper's rules for a window without speech and for a decoding stuck repeating itself
# (openai/whisper transcribe.py).
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4


class WhisperUtteranceTranscriber:
    def __init__(self, models: WhisperModelStore) -> None:
        self.models = models

    def check_model(self, model: str | None) -> None:
        name = self.models.resolver.canonical(model)
        if name not in self.models.requestable():
            raise ModelNotFound("model", name, self.models.available())

    def decode(self, audio: Audio, request: UtteranceRequest) -> Hypothesis:
        with self.models.use(request.model) as model:
            return self._decode(model, audio, request)

    def _decode(self, model: ScoredWhisperModel, audio: Audio, request: UtteranceRequest) -> Hypothesis:
        samples = float_samples(audio.samples[-WINDOW_SAMPLES:])
        # A turn is short: its window is fitted to it (the encoder's cost grows with the input).
        encoded = model.encode(
            log_mel_window(samples, n_mels_of(model), fitted_frames(len(samples) / SAMPLE_RATE))[None],
            wait_for_company=False,
        )  # one turn at a time (DecodeQueue): nobody to wait for
        language, language_probability = self._language(model, encoded, request.language, request.languages)
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
        prefix = list(request.prefix)
        prompt = model.prompt_tokens(tokenizer, request.prompt, request.hotwords) + prefix

        def decode(temperature: float) -> tuple[Hypothesis, float]:
            return self._generate(model, encoded, prompt, prefix, tokenizer, request, language, temperature=temperature)

        # A turn's final text that loops is decoded again, hotter, as a file's window is.
        hypothesis = least_repetitive(decode, COMPRESSION_RATIO_THRESHOLD) if request.final else decode(0.0)[0]
        return dataclasses.replace(hypothesis, language_probability=language_probability)

    @staticmethod
    def _generate(
        model: ScoredWhisperModel,
        encoded,
        prompt: list[int],
        prefix: list[int],
        tokenizer: Tokenizer,
        request: UtteranceRequest,
        language: str,
        *,
        temperature: float,
    ) -> tuple[Hypothesis, float]:
        """One decoding after `prompt` (which ends with the forced `prefix`), and its compression ratio."""
        greedy = not request.final or request.logprobs  # ctranslate2 reports token scores for greedy search only
        search = (
            {"beam_size": 1, "sampling_topk": 0, "sampling_temperature": temperature}
            if temperature > 0
            else {"beam_size": 1 if greedy else BEAM_SIZE}
        )
        result = model.model.generate(
            encoded,
            [prompt],
            max_length=model.max_length,
            suppress_blank=not prefix,  # only a turn's very first token may not be blank
            return_scores=True,
            return_no_speech_prob=True,
            return_logits_vocab=request.logprobs,
            **search,
        )[0]
        sequence = result.sequences_ids[0]
        generated = sequence[len(prefix) :] if sequence[: len(prefix)] == prefix else sequence
        tokens = [t for t in generated if t < tokenizer.eot]
        logprobs: tuple[float, ...] = ()
        if request.logprobs and result.logits:
            logprobs = token_logprobs(result.logits[0][len(prefix) :], tokens)
        pieces, whole, token_bytes = token_pieces(model.hf_tokenizer, tokens)
        # ctranslate2's score is length-normalised; undo it as the file transcriber does.
        average = result.scores[0] * len(sequence) / (len(sequence) + 1) if result.scores else 0.0
        ratio = compression_ratio("".join(pieces))
        hypothesis = Hypothesis(
            tokens=tuple(tokens),
            pieces=pieces,
            whole=whole,
            token_bytes=token_bytes if request.logprobs else (),
            logprobs=logprobs,
            language=language,
            repetitive=ratio > COMPRESSION_RATIO_THRESHOLD,
            no_speech=not prefix and result.no_speech_prob > NO_SPEECH_THRESHOLD and average < LOGPROB_THRESHOLD,
        )
        return hypothesis, ratio

    def _language(
        self, model: ScoredWhisperModel, encoded, language: str | None, languages: tuple[str, ...]
    ) -> tuple[str, float]:
        if not model.model.is_multilingual:
            if language not in (None, "en") or (languages and "en" not in languages):
                raise InvalidRequest(
                    f"Model '{model.name}' is English-only; language '{language}' needs a multilingual model.",
                    param="session.audio.input.transcription.language",
                )
            return "en", 1.0
        if language:
            return language, 1.0
        found = [(token[2:-2], float(p)) for token, p in model.window_languages(encoded, wait_for_company=False)[0]]
        if languages:  # the likeliest of those allowed, as sure as it is among them
            allowed = [(code, p) for code, p in found if code in languages] or [(languages[0], 0.0)]
            total = sum(p for _, p in allowed) or 1.0
            return allowed[0][0], allowed[0][1] / total
        return found[0]
