"""The one place request fields are read, validated and turned into domain options.

Framework-free: the fields come as a plain mapping of name -> values (a form field may repeat, as
`include[]` does), so the HTTP API, the command line and the MCP tools share every rule.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, BinaryIO, TypeVar

import msgspec

from app.config.settings import Settings
from app.domain.errors import InvalidRequest
from app.domain.languages import validated_language
from app.domain.model_policy import ModelPolicy
from app.domain.models import DIARIZE_MODEL_ALIASES, RenderOptions, SubtitleRules, Task, TranscriptionOptions, VadTuning
from app.schemas.transcription import ServerVad, TranscriptionForm, TranslationForm
from app.services.formats import Formats
from app.services.transcription import AudioRequest, ExecutionMode

Fields = Mapping[str, Sequence[str]]  # each field's values, in the order they came


def fields_from(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(name, value) pairs, as a form lists them, as Fields."""
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


FormT = TypeVar("FormT", bound=msgspec.Struct)
# openai-python sends arrays as repeated `name[]` parts; curl users often write `name`.
_LIST_FIELDS = {
    f"{name}{suffix}": name
    for name in (
        "timestamp_granularities",
        "known_speaker_names",
        "known_speaker_references",
        "languages",
        "keywords",
        "include",
    )
    for suffix in ("[]", "")
}
_NESTED_FIELD = re.compile(r"^([a-z_]+)\[([a-z_]+)\]$")
_JSON_FIELDS = {"chunking_strategy"}


def struct_of(fields: Fields, struct: type[FormT]) -> FormT:
    """Convert request fields to `struct`: strings to bools/numbers as msgspec does, errors naming the param."""
    names = {f.encode_name for f in msgspec.structs.fields(struct)}
    raw: dict[str, Any] = {}
    for key, values in fields.items():
        nested = _NESTED_FIELD.match(key)
        if nested and nested.group(1) in names and values:  # `chunking_strategy[threshold]`, as openai-python sends
            parent = raw.setdefault(nested.group(1), {})
            if isinstance(parent, dict):
                parent[nested.group(2)] = values[-1].strip()
        elif key in _JSON_FIELDS and values and values[-1].strip().startswith("{"):  # curl: a JSON object
            try:
                raw[key] = msgspec.json.decode(values[-1])
            except msgspec.DecodeError:
                raise InvalidRequest(f"Invalid value for '{key}': not a JSON object.", param=key) from None
        elif key in _LIST_FIELDS:
            raw.setdefault(_LIST_FIELDS[key], []).extend(v.strip() for v in values if v.strip())
        elif key in names and values and values[-1].strip() != "":
            raw[key] = values[-1].strip() if key not in ("prompt", "hotwords") else values[-1]
    try:
        return msgspec.convert(raw, struct, strict=False)
    except msgspec.ValidationError as exc:
        param = (param_of(str(exc)) or "").split(".")[0] or None  # a form field, as OpenAI names params
        if param in _LIST_FIELDS.values():
            param = f"{param}[]"
        raise InvalidRequest(f"Invalid value for '{param}': {str(exc).split(' - at ')[0]}", param=param) from exc


def param_of(message: str) -> str | None:
    """The field a msgspec validation message names, as a dotted path (`session.audio.input.format.rate`),
    list indexes left out; for a missing field, the field itself."""
    text, separator, path = message.partition(" - at `$.")
    parts = [re.sub(r"\[\d+\]", "", path.rstrip("`"))] if separator else []
    missing = text.partition("missing required field `")[2].partition("`")[0]
    if missing:
        parts.append(missing)
    return ".".join(parts) or None


class AudioRequestParser:
    """The audio endpoints' fields -> AudioRequest, with the server's defaults and limits."""

    def __init__(
        self, settings: Settings, formatters: Formats, default_batch_size: int, model_policy: ModelPolicy
    ) -> None:
        self.settings = settings
        self.formatters = formatters
        self.default_batch_size = default_batch_size  # WHISPER__BATCH_SIZE, resolved for the device
        self.model_policy = model_policy

    def transcription(self, given: Fields, source: BinaryIO | None) -> AudioRequest:
        """The request's fields as domain options; `source` is the uploaded audio, None for an `audio_url`."""
        settings = self.settings
        fields = struct_of(given, TranscriptionForm)
        self.model_policy.check(fields.model)
        diarizing_model = fields.model.strip() in DIARIZE_MODEL_ALIASES
        response_format = self.response_format(fields.response_format or ("diarized_json" if diarizing_model else None))
        names, references = _known_speakers(fields)
        language = validated_language(fields.language if "language" in given else settings.default_language)
        languages = tuple(
            dict.fromkeys(filter(None, (validated_language(c, param="languages[]") for c in fields.languages)))
        )
        if language is not None and languages and language not in languages:
            raise InvalidRequest(f"'language' is '{language}', which 'languages[]' does not list.", param="languages[]")
        min_speakers, max_speakers = fields.min_speakers, fields.max_speakers
        if fields.num_speakers is not None:
            if (min_speakers or fields.num_speakers) != fields.num_speakers or (
                max_speakers or fields.num_speakers
            ) != fields.num_speakers:
                raise InvalidRequest("'num_speakers' contradicts 'min_speakers'/'max_speakers'.", param="num_speakers")
            min_speakers = max_speakers = fields.num_speakers
        if min_speakers and max_speakers and min_speakers > max_speakers:
            raise InvalidRequest("'min_speakers' must not be greater than 'max_speakers'.", param="min_speakers")
        words = "word" in fields.timestamp_granularities
        formatter = self.formatters[response_format]
        shows_speakers = formatter.needs_diarization
        # A speaker format asks for diarization by itself, and so do the diarizing model and known speakers.
        diarize = fields.diarize or shows_speakers or diarizing_model or bool(names)
        options = TranscriptionOptions(
            model=fields.model,
            task=Task.TRANSCRIBE,
            language=language,
            prompt=fields.prompt,
            temperature=fields.temperature,
            hotwords=_hotwords(fields.hotwords, fields.keywords),
            languages=languages,
            logprobs="logprobs" in fields.include,
            suppress_numerals=fields.suppress_numerals,
            # Highlighting words needs word times even when only segments are returned.
            word_timestamps=words or fields.highlight_words,
            # Alignment only where the response can show it: segment times or words, or speakers (which are
            # given word by word). `json` and `text` without speakers show the text alone, which it keeps.
            align=fields.align and (formatter.shows_timings or words or fields.highlight_words or diarize),
            diarize=diarize,
            speaker_embeddings=fields.speaker_embeddings,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            chunk_size=fields.chunk_size or settings.whisper.chunk_size,
            batch_size=fields.batch_size or self.default_batch_size,
            vad=_vad_tuning(fields.chunking_strategy),
        )
        render = RenderOptions(
            word_timestamps=words,
            segment_timestamps="segment" in fields.timestamp_granularities or not words,
            highlight_words=fields.highlight_words,
            subtitles=self._subtitle_rules(fields),
            logprobs="logprobs" in fields.include,
        )
        if fields.stream and not shows_speakers:
            # A plain stream carries text deltas only: word times and speakers have nowhere to go.
            # A speaker format streams speaker segments after the deltas, so it keeps its stages.
            options = replace(options, align=False, diarize=False, word_timestamps=False)
        return AudioRequest(
            _one_source(fields, source),
            options,
            render,
            response_format,
            shows_speakers,
            mode=_mode(fields, stream=fields.stream),
            callback_url=fields.callback_url,
            audio_url=fields.audio_url,
            known_speaker_names=names,
            known_speaker_references=references,
        )

    def translation(self, given: Fields, source: BinaryIO | None) -> AudioRequest:
        fields = struct_of(given, TranslationForm)
        self.model_policy.check(fields.model)
        options = TranscriptionOptions(
            model=fields.model,
            task=Task.TRANSLATE,
            prompt=fields.prompt,
            temperature=fields.temperature,
            chunk_size=fields.chunk_size or self.settings.whisper.chunk_size,
            batch_size=fields.batch_size or self.default_batch_size,
        )
        return AudioRequest(
            _one_source(fields, source),
            options,
            RenderOptions(subtitles=self._subtitle_rules(fields)),
            self.response_format(fields.response_format),
            mode=_mode(fields, stream=False),
            callback_url=fields.callback_url,
            audio_url=fields.audio_url,
        )

    def _subtitle_rules(self, fields: TranslationForm) -> SubtitleRules:
        defaults = self.settings.subtitles
        return SubtitleRules(
            max_line_width=fields.max_line_width or defaults.max_line_width,
            max_line_count=fields.max_line_count or defaults.max_line_count,
            min_seconds=defaults.min_cue_seconds,
            max_seconds=defaults.max_cue_seconds,
            max_chars_per_second=defaults.max_chars_per_second,
            max_lag_seconds=defaults.max_lag_seconds,
            per_segment=(fields.subtitle_cues or defaults.cues) == "segments",
        )

    def response_format(self, value: str | None) -> str:
        return self.formatters.chosen(value)


def _one_source(fields: TranslationForm, source: BinaryIO | None) -> BinaryIO | None:
    """Exactly one of an uploaded file and an `audio_url`."""
    by_url = bool(fields.audio_url and fields.audio_url.strip())
    if by_url and source is not None:
        raise InvalidRequest("Send either 'file' or 'audio_url', not both.", param="audio_url")
    if not by_url and source is None:
        raise InvalidRequest(
            "The 'file' field (or an 'audio_url') is required; 'file' must be an uploaded file.", param="file"
        )
    return source


def _known_speakers(fields: TranscriptionForm) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    """OpenAI's `known_speaker_names[]` with their `known_speaker_references[]` (data URLs, decoded
    here to bytes), or names alone, looked up in the caller's speaker registry."""
    names = tuple(name.strip() for name in fields.known_speaker_names)
    if len(set(names)) != len(names) or not all(names):
        raise InvalidRequest(
            "`known_speaker_names[]` must be distinct, non-empty names.", param="known_speaker_names[]"
        )
    references = fields.known_speaker_references
    if references and len(references) != len(names):
        raise InvalidRequest(
            f"{len(references)} `known_speaker_references[]` for {len(names)} `known_speaker_names[]`: "
            "send one reference per name (or none, for enrolled speakers).",
            param="known_speaker_references[]",
        )
    return names, tuple(_data_url(value, index) for index, value in enumerate(references))


def _data_url(value: str, index: int) -> bytes:
    """`data:<media type>;base64,<data>`, as OpenAI takes a speaker reference."""
    header, comma, data = value.strip().partition(",")
    if not (header.startswith("data:") and header.endswith(";base64") and comma):
        raise InvalidRequest(
            f"Speaker reference #{index + 1} must be a base64 data URL (data:audio/wav;base64,...).",
            param="known_speaker_references[]",
        )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            f"Speaker reference #{index + 1} is not valid base64.", param="known_speaker_references[]"
        ) from None


def _hotwords(hotwords: str | None, keywords: list[str]) -> str | None:
    """OpenAI's `keywords[]` are what whisperX calls hotwords: words the decoder is primed with."""
    listed = ", ".join(k.strip() for k in keywords if k.strip())
    return ", ".join(part for part in (hotwords, listed) if part and part.strip()) or None


def _vad_tuning(strategy: ServerVad | str | None) -> VadTuning:
    """OpenAI's server_vad fields as our VAD's: threshold as is, prefix padding as the speech padding,
    silence duration as the silence that ends speech. "auto" (or nothing): the server's settings."""
    if not isinstance(strategy, ServerVad):
        return VadTuning()
    return VadTuning(
        threshold=strategy.threshold,
        speech_pad_ms=strategy.prefix_padding_ms,
        min_silence_ms=strategy.silence_duration_ms,
    )


def _mode(fields: TranslationForm, *, stream: bool) -> ExecutionMode:
    if stream and fields.run_async:
        raise InvalidRequest(
            "'stream' and 'async' cannot be combined: follow the job's events instead.", param="stream"
        )
    if fields.callback_url is not None and not fields.run_async:
        raise InvalidRequest("'callback_url' needs 'async=true'.", param="callback_url")
    if fields.run_async:
        return ExecutionMode.ASYNC
    return ExecutionMode.STREAM if stream else ExecutionMode.SYNC


def required_field(fields: Fields, name: str) -> str:
    value = fields.get(name, [""])[-1]
    if not value.strip():
        raise InvalidRequest(f"The '{name}' field is required.", param=name)
    return value.strip()
