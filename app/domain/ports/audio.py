"""Audio in: uploads decoded, URLs fetched, live streams turned into 16 kHz samples as they arrive."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, Protocol

from app.domain.models import Audio

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float32]  # 16 kHz mono


class AudioDecoder(Protocol):
    def decode(self, source: BinaryIO, max_seconds: float | None = None) -> Audio:
        """Decode any container/codec to 16 kHz mono; raise InvalidAudio when it cannot, and AudioTooLong
        as soon as the audio passes `max_seconds` (when given; the decoder may have a tighter limit of its own)."""
        ...


class AudioFetcher(Protocol):
    """Gets a recording from a URL the client named (`audio_url`), under the outbound address policy."""

    def fetch(self, url: str) -> BinaryIO:
        """The downloaded bytes, rewound; InvalidRequest (param `audio_url`) when refused or unavailable."""
        ...


class PcmStream(Protocol):
    """A live audio stream in one of the realtime formats, turned into 16 kHz mono as it arrives."""

    def feed(self, data: bytes) -> Samples:
        """The samples these bytes complete; keeps partial samples for the next call."""
        ...


class SpeechStream(Protocol):
    """Streaming voice activity: a speech probability per VAD frame, its state carried across calls."""

    def feed(self, samples: Samples) -> list[float]:
        """Probabilities of the whole frames these samples complete (one per VAD_FRAME_SAMPLES)."""
        ...


class LiveAudio(Protocol):
    """Opens the per-session streams of live transcription."""

    def pcm_stream(self, audio_format: str) -> PcmStream:
        """`audio/pcm` (24 kHz PCM16), `audio/pcmu` or `audio/pcma` (8 kHz G.711)."""
        ...

    def speech_stream(self) -> SpeechStream: ...
