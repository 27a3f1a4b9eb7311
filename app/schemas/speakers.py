"""The speaker registry's wire shapes (`/v1/speakers`) and the speaker fields of a transcription request."""

from __future__ import annotations

from typing import Annotated

import msgspec

from app.domain.models import SpeakerProfile

SpeakerName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# A 2-10 s reference as a data URL: even uncompressed 48 kHz stereo stays under this.
SpeakerReference = Annotated[str, msgspec.Meta(max_length=4 * 1024 * 1024)]


class SpeakerForm(msgspec.Struct, kw_only=True):
    """Fields of POST /v1/speakers besides `file` (2-60 s of the person speaking)."""

    name: SpeakerName


class SpeakerView(msgspec.Struct, kw_only=True):
    id: str
    object: str = "speaker"
    name: str
    created_at: int
    seconds: float  # of speech the voice print was made from (the audio itself is not kept)
    voice_model: str  # the speaker encoder that made the print
    needs_reenrollment: bool  # made by another model than the server's: enrol the voice again to use it


class SpeakerList(msgspec.Struct, kw_only=True):
    """A page, as OpenAI's list endpoints give one (`?limit=&after=`)."""

    object: str = "list"
    data: list[SpeakerView]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class SpeakerDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "speaker.deleted"
    deleted: bool = True


def speaker_view(profile: SpeakerProfile, current: bool) -> SpeakerView:
    return SpeakerView(
        id=profile.id,
        name=profile.name,
        created_at=int(profile.created_at),
        seconds=profile.seconds,
        voice_model=profile.voice_model,
        needs_reenrollment=not current,
    )
