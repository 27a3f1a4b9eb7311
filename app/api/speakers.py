"""`/v1/speakers`: the registry of enrolled voices, per API key (beyond OpenAI). A request names them
with `known_speaker_names[]` alone."""

from __future__ import annotations

from typing import Annotated

import anyio
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from app.api.forms import read_form
from app.api.transcriptions import caller
from app.config.settings import Settings
from app.domain.errors import InvalidRequest
from app.schemas.speakers import SpeakerDeleted, SpeakerForm, SpeakerList, SpeakerView, speaker_view
from app.services.admission import Admission, UploadGate
from app.services.audio_requests import struct_of
from app.services.speakers import SpeakerService

MAX_PAGE = 100  # speakers in one page of GET /v1/speakers


class SpeakersController(Controller):
    path = "/v1/speakers"
    tags = ["speakers"]

    @post("/", status_code=201, operation_id="enrolSpeaker")
    async def enrol(
        self,
        request: Request,
        speakers: NamedDependency[SpeakerService],
        uploads: NamedDependency[UploadGate],
        settings: NamedDependency[Settings],
        admission: NamedDependency[Admission],
    ) -> SpeakerView:
        """Multipart: `name` and `file` (2-60 s of that person speaking). Keeps the voice print only."""
        form = await uploads.receive(lambda: read_form(request))
        try:
            fields = struct_of(form.fields, SpeakerForm)
            source = form.upload(settings.max_upload_size_bytes)
            if source is None:
                raise InvalidRequest("Enrol a speaker with an uploaded 'file'.", param="file")
            # Decoding and the speaker encoder are inference: in an inference slot, like a transcription.
            profile = await admission.run_admitted(
                caller(request).disconnected, lambda: speakers.enrol(request.state.owner, fields.name.strip(), source)
            )
        finally:
            form.close()
        return speaker_view(profile, speakers.current(profile))

    @get("/", operation_id="listSpeakers")
    async def list_speakers(
        self,
        request: Request,
        speakers: NamedDependency[SpeakerService],
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = MAX_PAGE,
        after: FromQuery[str | None] = None,
    ) -> SpeakerList:
        """Oldest first, `limit` at a time (at most 100); `after`: the last id of the page before."""
        profiles, has_more = await anyio.to_thread.run_sync(speakers.page, request.state.owner, limit, after)
        return SpeakerList(
            data=[speaker_view(p, speakers.current(p)) for p in profiles],
            has_more=has_more,
            first_id=profiles[0].id if profiles else None,
            last_id=profiles[-1].id if profiles else None,
        )

    @get("/{speaker_id:str}", operation_id="getSpeaker")
    async def get_speaker(
        self, speaker_id: FromPath[str], request: Request, speakers: NamedDependency[SpeakerService]
    ) -> SpeakerView:
        profile = await anyio.to_thread.run_sync(speakers.get, request.state.owner, speaker_id)
        return speaker_view(profile, speakers.current(profile))

    @delete("/{speaker_id:str}", status_code=200, operation_id="deleteSpeaker")
    async def delete_speaker(
        self, speaker_id: FromPath[str], request: Request, speakers: NamedDependency[SpeakerService]
    ) -> SpeakerDeleted:
        await anyio.to_thread.run_sync(speakers.delete, request.state.owner, speaker_id)
        return SpeakerDeleted(id=speaker_id)
