"""Speakers people can name: references sent with a request (OpenAI's `known_speaker_*`) and the
registry of enrolled voices (`/v1/speakers`), both turned into the voice prints the pipeline matches."""

from __future__ import annotations

import builtins
import io
import secrets
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

from app.domain.errors import AudioTooLong, InvalidAudio, InvalidRequest, SpeakerLimitReached, SpeakerNotFound
from app.domain.models import Audio, KnownSpeaker, SpeakerProfile
from app.domain.ports.audio import AudioDecoder
from app.domain.ports.speakers import SpeakerRegistry, VoicePrinter

MAX_KNOWN_SPEAKERS = 4  # OpenAI's limit
REFERENCE_SECONDS = (2.0, 10.0)  # OpenAI's bounds for a reference
ENROLMENT_SECONDS = (2.0, 60.0)  # a registry voice print may be made from more speech
NAMES = "known_speaker_names[]"
REFERENCES = "known_speaker_references[]"


class SpeakerService:
    """Blocking (decoding, speaker encoder): call it off the event loop."""

    def __init__(
        self,
        decoder: AudioDecoder,
        printer: VoicePrinter,
        registry: SpeakerRegistry,
        max_per_owner: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.decoder = decoder
        self.printer = printer
        self.registry = registry
        self.max_per_owner = max_per_owner  # MAX_SPEAKERS_PER_KEY
        self.clock = clock

    def known_speakers(self, names: Sequence[str], references: Sequence[bytes], owner: str) -> tuple[KnownSpeaker, ...]:
        """The request's names with their voices: from its references, or else from the registry."""
        if references:
            return tuple(
                KnownSpeaker(name, self.printer.voice_print(self._speech(data, REFERENCE_SECONDS, REFERENCES, i)))
                for i, (name, data) in enumerate(zip(names, references, strict=True))
            )
        enrolled: dict[str, SpeakerProfile] = {}
        for profile in self.registry.list(owner):  # the latest enrolment of a name wins
            enrolled[profile.name] = profile
        missing = [name for name in names if name not in enrolled]
        if missing:
            raise InvalidRequest(
                f"No enrolled speaker is named '{missing[0][:64]}': send `known_speaker_references[]` "
                "with the names, or enrol the voice at /v1/speakers first.",
                param=NAMES,
            )
        stale = [name for name in names if not self.current(enrolled[name])]
        if stale:
            raise InvalidRequest(
                f"Speaker '{stale[0][:64]}' was enrolled with the voice model "
                f"'{enrolled[stale[0]].voice_model}', which this server no longer uses "
                f"('{self.printer.model}'): enrol the voice again at /v1/speakers, or send "
                "`known_speaker_references[]`.",
                param=NAMES,
            )
        return tuple(KnownSpeaker(name, enrolled[name].voice) for name in names)

    def current(self, profile: SpeakerProfile) -> bool:
        """Whether the profile's print can be compared with the prints made now."""
        return profile.voice_model == self.printer.model

    def enrol(self, owner: str, name: str, source: BinaryIO) -> SpeakerProfile:
        if len(self.registry.list(owner)) >= self.max_per_owner:  # before any decoding
            raise SpeakerLimitReached(self.max_per_owner)
        audio = self._speech(source.read(), ENROLMENT_SECONDS, "file")
        profile = SpeakerProfile(
            id=f"spk_{secrets.token_hex(12)}",
            owner=owner,
            name=name,
            voice=self.printer.voice_print(audio),
            created_at=self.clock(),
            seconds=round(audio.duration, 3),
            voice_model=self.printer.model,
        )
        self.registry.add(profile)
        return profile

    def list(self, owner: str) -> builtins.list[SpeakerProfile]:
        return self.registry.list(owner)

    def page(self, owner: str, limit: int, after: str | None = None) -> tuple[builtins.list[SpeakerProfile], bool]:
        """Up to `limit` profiles, oldest first, after the one with id `after`; and whether more follow."""
        profiles = self.registry.list(owner)
        if after is not None:
            ids = [p.id for p in profiles]
            if after not in ids:
                raise InvalidRequest(f"No speaker '{after[:64]}' to list after.", param="after")
            profiles = profiles[ids.index(after) + 1 :]
        return profiles[:limit], len(profiles) > limit

    def get(self, owner: str, speaker_id: str) -> SpeakerProfile:
        profile = self.registry.get(owner, speaker_id)
        if profile is None:
            raise SpeakerNotFound(speaker_id)
        return profile

    def delete(self, owner: str, speaker_id: str) -> None:
        if not self.registry.delete(owner, speaker_id):
            raise SpeakerNotFound(speaker_id)

    def _speech(self, data: bytes, bounds: tuple[float, float], param: str, index: int | None = None) -> Audio:
        which = f" #{index + 1}" if index is not None else ""
        shortest, longest = bounds
        try:
            # Decoding stops at the longest a reference may be: a small file can hold hours of silence.
            audio = self.decoder.decode(io.BytesIO(data), max_seconds=longest)
        except AudioTooLong:
            raise InvalidRequest(
                f"Speaker reference{which} is longer than {longest:g} seconds; it must be between "
                f"{shortest:g} and {longest:g} seconds.",
                param=param,
            ) from None
        except InvalidAudio as exc:
            raise InvalidRequest(
                f"Speaker reference{which} is not audio this server can decode: {exc.message}", param=param
            ) from None
        if not shortest <= audio.duration <= longest:
            raise InvalidRequest(
                f"Speaker reference{which} is {audio.duration:.1f} s long; it must be between "
                f"{shortest:g} and {longest:g} seconds.",
                param=param,
            )
        return audio
