"""PyAV decoding of uploads, without an ffmpeg binary, sandboxed.

An upload is untrusted: FFmpeg's demuxers include scripts and playlists (concat, HLS, SDP, …)
that open other files, sockets and URLs. So the upload is opened with an allow-list of audio and
video container demuxers (`format_whitelist`) and no protocols at all (`protocol_whitelist`): the
bytes of the upload are all FFmpeg may read.
"""

from __future__ import annotations

from typing import BinaryIO

import av
import numpy as np

from app.domain.audio import SAMPLE_RATE
from app.domain.cancellation import checkpoint
from app.domain.errors import AudioTooLong, InvalidAudio
from app.domain.models import Audio

# An hour of 16 kHz 16-bit PCM is 115 MB; grow the output in blocks instead of keeping every frame.
_BLOCK_SAMPLES = SAMPLE_RATE * 60
# Container demuxers an upload may be (FFmpeg names; a name matches any alias it lists, "mov" covers
# mp4/m4a/3gp). Nothing that reads another resource: no concat, hls, dash, sdp, rtp, rtsp, image2,
# tee, subfile, data or text demuxers.
ALLOWED_DEMUXERS = (
    "wav",
    "w64",
    "aiff",
    "au",
    "caf",
    "flac",
    "mp3",
    "aac",
    "ac3",
    "eac3",
    "dts",
    "truehd",
    "amr",
    "amrnb",
    "amrwb",
    "ogg",
    "matroska",
    "webm",
    "mov",
    "mp4",
    "asf",
    "avi",
    "flv",
    "mpeg",
    "mpegts",
    "wv",
    "ape",
    "tta",
    "tak",
    "gsm",
    "voc",
    "loas",
    "dsf",
    "mlp",
    "rm",
    "nut",
    "mpc",
    "mpc8",
    "ircam",
    "sox",
)
_SANDBOX = {
    "format_whitelist": ",".join(ALLOWED_DEMUXERS),
    "protocol_whitelist": "none",  # the upload is handed over as a file object; nothing else is opened
}


def float_samples(samples) -> np.ndarray:
    """Samples as float32 in [-1, 1], what every model reads. Decoded audio is kept as 16-bit PCM
    (as Whisper's own loader reads it), half the memory of float32 for the whole recording; each
    reader converts the stretch it takes when it takes it."""
    array = np.asarray(samples)
    if array.dtype != np.int16:
        return array.astype(np.float32, copy=False)
    converted = array.astype(np.float32)
    converted *= 1 / 32768
    return converted


class PyAVDecoder:
    """Decodes the first audio stream to 16 kHz mono 16-bit PCM, refusing anything past `max_seconds`."""

    def __init__(self, max_seconds: float | None = None) -> None:
        self.max_seconds = max_seconds

    def decode(self, source: BinaryIO, max_seconds: float | None = None) -> Audio:
        limits = [s for s in (self.max_seconds, max_seconds) if s is not None]
        try:
            samples = self._decode(source, min(limits) if limits else None)
        except InvalidAudio:
            raise
        except (av.FFmpegError, ValueError, IndexError, EOFError, OSError) as exc:
            raise InvalidAudio(
                f"The file could not be decoded as audio ({_describe(exc)}). Send an audio or "
                "video file (wav, mp3, m4a, ogg, opus, flac, webm, …)."
            ) from exc
        if samples.size == 0:
            raise InvalidAudio("The file contains no audio samples.")
        return Audio(samples=samples, duration=samples.size / SAMPLE_RATE, sample_rate=SAMPLE_RATE)

    def _decode(self, source: BinaryIO, max_seconds: float | None) -> np.ndarray:
        limit = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
        with av.open(source, mode="r", metadata_errors="ignore", options=_SANDBOX) as container:
            if not container.streams.audio:
                raise InvalidAudio("The file has no audio stream.")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            out = _Growable(_expected_samples(container, stream, limit))
            for frame in _frames(container, stream):
                checkpoint()
                for resampled in resampler.resample(frame):
                    out.append(resampled.to_ndarray().reshape(-1))
                if limit is not None and out.size > limit:
                    raise AudioTooLong(limit / SAMPLE_RATE)
            for resampled in resampler.resample(None):
                out.append(resampled.to_ndarray().reshape(-1))
            return out.array()


def _frames(container: av.container.InputContainer, stream: av.audio.stream.AudioStream):
    """Decoded frames, skipping corrupt packets in the middle like ffmpeg does."""
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.InvalidDataError:
            continue


def _expected_samples(container, stream, limit: int | None) -> int:
    """The container's stated duration, to size the buffer once instead of doubling it."""
    seconds = None
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / av.time_base
    if not seconds or seconds <= 0:
        return _BLOCK_SAMPLES
    expected = int(seconds * SAMPLE_RATE) + SAMPLE_RATE  # a second of slack for codec padding
    return min(expected, limit + SAMPLE_RATE) if limit is not None else expected


class _Growable:
    def __init__(self, capacity: int = _BLOCK_SAMPLES) -> None:
        self._buffer = np.empty(max(capacity, 1), dtype=np.int16)
        self.size = 0

    def append(self, chunk: np.ndarray) -> None:
        needed = self.size + chunk.size
        if needed > self._buffer.size:
            grown = np.empty(
                max(needed, self._buffer.size + _BLOCK_SAMPLES, int(self._buffer.size * 1.25)), dtype=np.int16
            )
            grown[: self.size] = self._buffer[: self.size]
            self._buffer = grown
        self._buffer[self.size : needed] = chunk
        self.size = needed

    def array(self) -> np.ndarray:
        return self._buffer[: self.size].copy() if self.size < self._buffer.size // 2 else self._buffer[: self.size]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    # FFmpeg messages carry the (temporary) file name; keep only the reason.
    if ": '" in text:
        text = text.split(": '", 1)[0]
    return text or type(exc).__name__
