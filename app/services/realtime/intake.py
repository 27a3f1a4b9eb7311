"""A session's incoming audio: each append bounded, then decoded from base64, converted to 16 kHz and
scored by the VAD in a worker thread, in pieces."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

import anyio
import numpy as np
import numpy.typing as npt

from app.domain.audio import REALTIME_BYTES_PER_SECOND, SAMPLE_RATE
from app.domain.ports.audio import LiveAudio, PcmStream, SpeechStream
from app.services.realtime.audio import SessionAudio
from app.services.realtime.config import RealtimeEventError, RealtimeLimits

# An append is converted this many bytes at a time (10 s of `audio/pcm`, 40 s of G.711): the working
# memory of the resampler and the VAD stays that of one piece, however large the append.
CONVERT_PIECE_BYTES = 480_000


class AudioIntake:
    def __init__(
        self,
        live_audio: LiveAudio,
        audio: SessionAudio,
        limits: RealtimeLimits,
        audio_format: str,
        clock: Callable[[], float],
    ) -> None:
        self.live_audio = live_audio
        self.audio = audio
        self.limits = limits
        self.clock = clock
        self._opened = clock()
        self.audio_format = audio_format
        self._pcm: PcmStream = live_audio.pcm_stream(audio_format)
        self._vad: SpeechStream = live_audio.speech_stream()

    def change_format(self, audio_format: str) -> None:
        self.audio_format = audio_format
        self._pcm = self.live_audio.pcm_stream(audio_format)

    async def take(self, encoded: str) -> tuple[npt.NDArray[np.float32], list[float]]:
        """The append's 16 kHz samples and their speech probabilities; RealtimeEventError when it would
        pass a limit (checked before any of it is decoded) or is not base64."""
        if len(encoded) > self.limits.max_append_bytes * 4 // 3 + 4:
            raise RealtimeEventError(
                f"An append may carry at most {self.limits.max_append_bytes} bytes of audio.",
                param="audio",
                code="audio_too_large",
            )
        # The append counts, and so does audio that ran ahead of the clock (silence is trimmed as it
        # comes, so the buffer alone would never fill).
        seconds = _decoded_size(encoded) / REALTIME_BYTES_PER_SECOND.get(self.audio_format, SAMPLE_RATE * 2)
        self._check_held(seconds)
        ahead = self.audio.received / SAMPLE_RATE + seconds - (self.clock() - self._opened)
        if ahead > self.limits.max_ahead_seconds:
            raise RealtimeEventError(
                f"With this append the session would have received {ahead:.0f} s more audio than time has passed "
                f"(the limit is {self.limits.max_ahead_seconds:g} s, REALTIME__MAX_AHEAD_SECONDS): send audio no "
                "faster than real time.",
                param="audio",
                code="input_audio_buffer_full",
            )
        # Base64, conversion and the VAD are CPU work: in a thread, so no session stalls the event loop.
        return await anyio.to_thread.run_sync(self._convert, encoded)

    async def take_samples(self, samples: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], list[float]]:
        """A call's track, already 16 kHz and paced by the caller's clock, scored by the VAD in a thread."""
        self._check_held(len(samples) / SAMPLE_RATE)
        return samples, await anyio.to_thread.run_sync(self._vad.feed, samples)

    def _check_held(self, seconds: float) -> None:
        limit = self.limits.max_buffer_seconds
        held = self.audio.held_seconds() + seconds
        if held > limit:
            raise RealtimeEventError(
                f"With this audio the session would hold {held:.0f} s not yet transcribed (the limit is "
                f"{limit:g} s): send audio no faster than it can be transcribed, or commit.",
                param="audio",
                code="input_audio_buffer_full",
            )

    def _convert(self, encoded: str) -> tuple[npt.NDArray[np.float32], list[float]]:
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise RealtimeEventError("`audio` is not valid base64.", param="audio", code="invalid_value") from None
        samples: list[npt.NDArray[np.float32]] = []
        probabilities: list[float] = []
        for start in range(0, len(data), CONVERT_PIECE_BYTES):
            piece = self._pcm.feed(data[start : start + CONVERT_PIECE_BYTES])
            if len(piece):
                samples.append(piece)
                probabilities += self._vad.feed(piece)
        return (np.concatenate(samples) if samples else np.zeros(0, np.float32)), probabilities


def _decoded_size(encoded: str) -> int:
    """The bytes a base64 text decodes to, without decoding it (an invalid one is refused when decoded)."""
    return len(encoded) * 3 // 4 - (2 if encoded.endswith("==") else 1 if encoded.endswith("=") else 0)
