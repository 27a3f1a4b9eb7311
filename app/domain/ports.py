"""The ports: what the domain needs from the outside world.

Every method here blocks (model inference, file decoding); callers run them off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import BinaryIO, Protocol, runtime_checkable

from app.domain.models import Audio, Diarization, RenderOptions, Segment, Transcript, TranscriptionOptions


class AudioDecoder(Protocol):
    def decode(self, source: BinaryIO) -> Audio:
        """Decode any container/codec to 16 kHz mono; raise InvalidAudio when it cannot."""
        ...


SegmentSink = Callable[[Segment], None]


class Transcriber(Protocol):
    name: str

    def transcribe(self, audio: Audio, options: TranscriptionOptions, on_segment: SegmentSink | None = None) -> Transcript:
        """Transcribe; call `on_segment` with each segment as soon as it is decoded (for streaming)."""
        ...


class Aligner(Protocol):
    """Gives every word of a transcript a start and end time.

    Raises AlignmentUnavailable when it has no model for the transcript's language,
    so the pipeline can fall back to the next aligner.
    """

    name: str

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript: ...


class Diarizer(Protocol):
    """Finds who spoke when; the domain then assigns those turns to segments and words."""

    name: str

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization: ...


class Formatter(Protocol):
    """Renders a transcript into one response format."""

    media_type: str

    def render(self, transcript: Transcript, options: RenderOptions) -> str | bytes: ...


@runtime_checkable
class ModelStore(Protocol):
    """The model management surface of one pipeline stage (list, load, unload)."""

    def available(self) -> Sequence[str]:
        """Names that could be loaded."""
        ...

    def loaded(self) -> Sequence[str]: ...

    def load(self, name: str) -> str:
        """Load (or keep) a model; return its canonical name. Raises ModelNotFound / ModelLoadFailed."""
        ...

    def unload(self, name: str) -> bool:
        """Drop a model from memory; False if it was not loaded."""
        ...
