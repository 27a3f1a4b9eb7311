"""Request forms read with their bounds enforced while the body streams in.

Litestar's form parser keeps any text field whole, however long, and counts parts only; a field of
megabytes would then be decoded on the event loop. Here each part is checked as its bytes arrive: a
form with too many parts is refused at the first part too many, a text field at the first byte over
its limit. The one file part spools to a temporary file, as Litestar's does (in memory up to 1 MiB).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import BinaryIO, cast
from urllib.parse import unquote_plus

import anyio
from litestar import Request
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from multipart import MultipartSegment, ParserError, PushMultipartParser

from app.domain.errors import InvalidRequest
from app.services.errors import ClientGone, RequestTooLarge

MAX_FORM_FIELDS = 256  # parts of one form; a full transcription request has under 150
MAX_FIELD_BYTES = 64 * 1024  # one text field
# A known-speaker reference is a data URL of 2-10 s of audio (app/schemas/speakers.py).
LARGE_FIELDS = {"known_speaker_references[]": 4 * 1024 * 1024, "known_speaker_references": 4 * 1024 * 1024}
FILE_FIELD = "file"
_SPOOL_BYTES = 1024 * 1024  # an upload stays in memory up to this, then spills to an unlinked temporary file


@dataclass
class Form:
    """The text fields by name (values in the order they came) and the uploaded file, if any."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    file: BinaryIO | None = None
    parts: int = 0

    def add_part(self, name: str) -> None:
        self.parts += 1
        if self.parts > MAX_FORM_FIELDS:
            raise InvalidRequest(
                f"Too many form fields: at most {MAX_FORM_FIELDS} (field {self.parts} is '{name}').", param=name
            )

    def upload(self, max_bytes: int) -> BinaryIO | None:
        """The uploaded file, rewound; None when there is none."""
        if self.file is None:
            return None
        # The body limit leaves room for form framing; the file itself gets the exact limit.
        if self.file.seek(0, io.SEEK_END) > max_bytes:
            raise RequestEntityTooLarge
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def field_limit(name: str) -> int:
    return LARGE_FIELDS.get(name, MAX_FIELD_BYTES)


def too_large(name: str) -> RequestTooLarge:
    return RequestTooLarge(f"Form field '{name}' is larger than {field_limit(name)} bytes.", param=name)


async def read_form(request: Request) -> Form:
    """The request's multipart or URL-encoded form; any other body is an empty form."""
    media_type, options = request.content_type
    try:
        if media_type == "multipart/form-data":
            boundary = options.get("boundary")
            if not boundary:
                raise InvalidRequest("multipart boundary missing in Content-Type")
            return await _multipart(request.stream(), boundary)
        if media_type == "application/x-www-form-urlencoded":
            return await _urlencoded(request.stream())
        return Form()
    except InternalServerException as exc:
        # Litestar signals a hang-up mid-upload only by this message (tested in tests/api/test_load.py).
        if exc.detail == "client disconnected prematurely":
            raise ClientGone() from None
        raise


async def _multipart(chunks: AsyncIterator[bytes], boundary: str) -> Form:
    form = Form()
    name, text, file = "", bytearray(), None
    try:
        with PushMultipartParser(boundary, max_header_count=16) as parser:
            async for chunk in chunks:
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        name, text, file = event.name, bytearray(), None
                        form.add_part(name)
                        if event.filename is not None:
                            if name != FILE_FIELD or form.file is not None:
                                raise InvalidRequest(
                                    f"Only one file may be uploaded, as '{FILE_FIELD}'; '{name}' is a file too.",
                                    param=name,
                                )
                            file = form.file = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES))
                        elif name == FILE_FIELD:
                            raise InvalidRequest(f"'{FILE_FIELD}' must be an uploaded file.", param=FILE_FIELD)
                    elif event:
                        if file is not None:
                            await _write(file, event)
                        else:
                            text += event
                            if len(text) > field_limit(name):
                                raise too_large(name)
                    elif file is not None:
                        file.seek(0)
                    else:
                        form.fields.setdefault(name, []).append(text.decode("utf-8", errors="replace"))
                if parser.closed:
                    break
            if not parser.closed:
                raise InvalidRequest("The multipart form ended before its closing boundary.")
    except ParserError as exc:
        form.close()
        raise InvalidRequest(f"Invalid multipart/form-data ({exc}).") from None
    except BaseException:
        form.close()
        raise
    return form


async def _write(file: BinaryIO, data: bytes | bytearray) -> None:
    if getattr(file, "_rolled", False):  # on disk: the write may block
        await anyio.to_thread.run_sync(file.write, data)
    else:
        file.write(data)


async def _urlencoded(chunks: AsyncIterator[bytes]) -> Form:
    form = Form()
    pending = bytearray()

    def add(raw: bytes) -> None:
        if not raw:
            return
        key, _, value = raw.partition(b"=")
        name = unquote_plus(key.decode("latin-1"))
        form.add_part(name)
        if len(value) > 3 * field_limit(name):  # percent-encoded, a byte is at most three characters
            raise too_large(name)
        decoded = unquote_plus(value.decode("latin-1"), encoding="utf-8", errors="replace")
        if len(decoded.encode()) > field_limit(name):
            raise too_large(name)
        form.fields.setdefault(name, []).append(decoded)

    async for chunk in chunks:
        pending += chunk
        *complete, rest = pending.split(b"&")
        for raw in complete:
            add(bytes(raw))
        pending = bytearray(rest)
        name = unquote_plus(bytes(pending.partition(b"=")[0]).decode("latin-1"))
        if len(pending) > 3 * field_limit(name) + len(name) * 3 + 1:
            raise too_large(name)
    add(bytes(pending))
    return form
