"""The one place request parameters are read, validated and turned into domain options."""

from __future__ import annotations

import io
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, TypeVar

import msgspec
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from app.api.auth import check_model_allowed
from app.api.schemas import TranscriptionForm, TranslationForm
from app.config.settings import Settings
from app.domain.errors import InvalidRequest
from app.domain.languages import WHISPER_LANGUAGES
from app.domain.models import RenderOptions, Task, TranscriptionOptions
from app.domain.ports import Formatter

FormT = TypeVar("FormT", bound=msgspec.Struct)
# openai-python sends arrays as repeated `name[]` parts; curl users often write `name`.
_LIST_FIELDS = {"timestamp_granularities[]": "timestamp_granularities", "timestamp_granularities": "timestamp_granularities"}
_ERROR_PATH = re.compile(r"at `\$\.([A-Za-z_]+)")


@dataclass(frozen=True, slots=True)
class AudioRequest:
    file: BinaryIO  # the upload's file, or a local file for the command line
    options: TranscriptionOptions
    render: RenderOptions
    response_format: str
    stream: bool = False
    run_async: bool = False
    callback_url: str | None = None


def form_fields(form: FormMultiDict, struct: type[FormT]) -> FormT:
    """Convert form parts to `struct`: strings to bools/numbers as msgspec does, errors naming the param."""
    fields = {f.encode_name for f in msgspec.structs.fields(struct)}
    raw: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getall(key) if isinstance(v, str)]
        if key in _LIST_FIELDS:
            raw.setdefault(_LIST_FIELDS[key], []).extend(v.strip() for v in values if v.strip())
        elif key in fields and values and values[-1].strip() != "":
            raw[key] = values[-1].strip() if key not in ("prompt", "hotwords") else values[-1]
    try:
        return msgspec.convert(raw, struct, strict=False)
    except msgspec.ValidationError as exc:
        match = _ERROR_PATH.search(str(exc))
        param = match.group(1) if match else None
        if param == "timestamp_granularities":
            param = "timestamp_granularities[]"
        raise InvalidRequest(f"Invalid value for '{param}': {str(exc).split(' - at ')[0]}", param=param) from exc


def upload(form: FormMultiDict, max_bytes: int) -> BinaryIO:
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise InvalidRequest("The 'file' field is required and must be an uploaded file.", param="file")
    # The body limit leaves room for form framing; the file itself gets the exact limit.
    if file.file.seek(0, io.SEEK_END) > max_bytes:
        raise RequestEntityTooLarge
    file.file.seek(0)
    return file.file


def transcription_request(form: FormMultiDict, settings: Settings, formats: Mapping[str, Formatter],
                          source: BinaryIO | None = None) -> AudioRequest:
    """The request's fields as domain options; `source` replaces the form's `file` (command line)."""
    fields = form_fields(form, TranscriptionForm)
    check_model_allowed(settings, fields.model)
    response_format = response_format_or_default(fields.response_format, settings, formats)
    language = _language(fields.language if "language" in form else settings.default_language)
    if fields.min_speakers and fields.max_speakers and fields.min_speakers > fields.max_speakers:
        raise InvalidRequest("'min_speakers' must not be greater than 'max_speakers'.", param="min_speakers")
    words = "word" in fields.timestamp_granularities
    options = TranscriptionOptions(
        model=fields.model,
        task=Task.TRANSCRIBE,
        language=language,
        prompt=fields.prompt,
        temperature=fields.temperature,
        hotwords=fields.hotwords,
        suppress_numerals=fields.suppress_numerals,
        # Highlighting words needs word times even when only segments are returned.
        word_timestamps=words or fields.highlight_words,
        align=fields.align,
        # A speaker-labelled format asks for diarization by itself.
        diarize=fields.diarize or getattr(formats[response_format], "needs_diarization", False),
        speaker_embeddings=fields.speaker_embeddings,
        min_speakers=fields.min_speakers,
        max_speakers=fields.max_speakers,
        chunk_size=fields.chunk_size or settings.whisper.chunk_size,
        batch_size=fields.batch_size or settings.whisper.batch_size,
    )
    render = RenderOptions(
        word_timestamps=words,
        segment_timestamps="segment" in fields.timestamp_granularities or not words,
        highlight_words=fields.highlight_words,
    )
    if fields.stream and response_format != "diarized_json":
        # A plain stream carries text deltas only: word times and speakers have nowhere to go.
        # diarized_json streams speaker segments after the deltas, so it keeps its stages.
        options = replace(options, align=False, diarize=False, word_timestamps=False)
    _check_async(fields)
    return AudioRequest(source if source is not None else upload(form, settings.max_upload_size_bytes), options,
                        render, response_format, stream=fields.stream, run_async=fields.run_async,
                        callback_url=fields.callback_url)


def translation_request(form: FormMultiDict, settings: Settings, formats: Mapping[str, Formatter],
                        source: BinaryIO | None = None) -> AudioRequest:
    fields = form_fields(form, TranslationForm)
    check_model_allowed(settings, fields.model)
    options = TranscriptionOptions(
        model=fields.model,
        task=Task.TRANSLATE,
        prompt=fields.prompt,
        temperature=fields.temperature,
        align=False,
        chunk_size=fields.chunk_size or settings.whisper.chunk_size,
        batch_size=fields.batch_size or settings.whisper.batch_size,
    )
    _check_async(fields)
    return AudioRequest(source if source is not None else upload(form, settings.max_upload_size_bytes), options,
                        RenderOptions(), response_format_or_default(fields.response_format, settings, formats),
                        run_async=fields.run_async, callback_url=fields.callback_url)


def _check_async(fields: TranslationForm) -> None:
    if getattr(fields, "stream", False) and fields.run_async:
        raise InvalidRequest("'stream' and 'async' cannot be combined: follow the job's events instead.",
                             param="stream")
    if fields.callback_url is not None and not fields.run_async:
        raise InvalidRequest("'callback_url' needs 'async=true'.", param="callback_url")


def required_field(form: FormMultiDict | Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"The '{name}' field is required.", param=name)
    return value.strip()


def _language(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().lower()
    if code not in WHISPER_LANGUAGES:
        raise InvalidRequest(f"Unsupported language '{value[:20]}': use an ISO 639-1 code such as 'en'.", param="language")
    return code


def response_format_or_default(value: str | None, settings: Settings, formats: Container[str]) -> str:
    chosen = value or settings.default_response_format
    if chosen not in formats:
        names = ", ".join(sorted(formats))  # type: ignore[call-overload]
        raise InvalidRequest(f"Unsupported response_format '{chosen[:40]}'. Supported: {names}.", param="response_format")
    return chosen
