"""OpenAPI request bodies for the multipart audio endpoints.

The handlers read their forms themselves (app/api/forms.py: bounded while they stream in, and
Litestar's form binding drops repeated `name[]` fields), so Litestar cannot infer their request bodies. This
module describes them from the same msgspec Structs the parser decodes into, so the published
schema, and the fuzz tests generated from it, cannot drift from what the server accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
from litestar.openapi.spec import Operation

from app.schemas.transcription import TranscriptionForm, TranslationForm

# Wire names that differ from the Struct's field names.
_WIRE_NAMES = {"timestamp_granularities": "timestamp_granularities[]"}


def _form_field(schema: dict[str, Any]) -> dict[str, Any]:
    """A form field is never null: it is either sent or left out."""
    options = [option for option in schema.get("anyOf", ()) if option.get("type") != "null"]
    if len(options) == 1:
        return {**options[0], **({"default": schema["default"]} if schema.get("default") is not None else {})}
    return schema


def multipart_schema(form: type[msgspec.Struct]) -> dict[str, Any]:
    struct_schema = msgspec.json.schema(form)["$defs"][form.__name__]
    properties: dict[str, Any] = {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The recording (an audio or video container: wav, mp3, "
            "m4a, ogg, opus, flac, webm, …); or send `audio_url`.",
        }
    }
    for name, schema in struct_schema["properties"].items():
        properties[_WIRE_NAMES.get(name, name)] = _form_field(schema)
    # Exactly one of `file` and `audio_url`: JSON Schema's oneOf would say it, but clients' generators
    # handle it poorly, so it is stated in the description and enforced by the parser (400 otherwise).
    return {
        "type": "object",
        "properties": properties,
        "description": struct_schema.get("description", "") + " Send exactly one of `file` and `audio_url`.",
    }


def _multipart_operation(form: type[msgspec.Struct]) -> type[Operation]:
    body = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": multipart_schema(form),
                "encoding": {"timestamp_granularities[]": {"style": "form", "explode": True}},
            }
        },
    }

    @dataclass
    class MultipartOperation(Operation):
        request_body_schema: ClassVar[dict[str, Any]] = body

        def to_schema(self) -> dict[str, Any]:
            schema = super().to_schema()
            schema["requestBody"] = self.request_body_schema
            return schema

    MultipartOperation.__name__ = f"{form.__name__}Operation"
    return MultipartOperation


TranscriptionOperation = _multipart_operation(TranscriptionForm)
TranslationOperation = _multipart_operation(TranslationForm)
