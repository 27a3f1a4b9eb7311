"""Multipart forms as the request parser takes them: the text fields as a plain mapping, the file apart."""

from __future__ import annotations

import io
from typing import BinaryIO

from litestar.datastructures import FormMultiDict, UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from app.domain.errors import InvalidRequest
from app.services.audio_requests import Fields


def fields_of(form: FormMultiDict) -> Fields:
    """Every text part of the form, by name (a file part is not a field)."""
    return {key: values for key in form if (values := [v for v in form.getall(key) if isinstance(v, str)])}


def upload(form: FormMultiDict, max_bytes: int) -> BinaryIO | None:
    """The uploaded file, None when there is none."""
    file = form.get("file")
    if file is None:
        return None
    if not isinstance(file, UploadFile):
        raise InvalidRequest("'file' must be an uploaded file.", param="file")
    # The body limit leaves room for form framing; the file itself gets the exact limit.
    if file.file.seek(0, io.SEEK_END) > max_bytes:
        raise RequestEntityTooLarge
    file.file.seek(0)
    return file.file
