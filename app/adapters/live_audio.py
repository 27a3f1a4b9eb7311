"""Live audio for realtime sessions: OpenAI's input formats to 16 kHz mono, and streaming Silero VAD.

Both keep state across calls, so audio cut into arbitrary appends decodes exactly as if it had
come in one piece: PyAV's resampler carries its filter history, the VAD its recurrent state.
"""

from __future__ import annotations

import threading
from typing import Any

import av
import numpy as np

from app.domain.audio import SAMPLE_RATE
from app.domain.errors import InvalidRequest
from app.domain.live import VAD_FRAME_SAMPLES

PCM16_RATE = 24_000  # OpenAI's `audio/pcm`: little-endian 16-bit mono at 24 kHz, nothing else
G711_RATE = 8_000
G711_CODECS = {"audio/pcmu": "pcm_mulaw", "audio/pcma": "pcm_alaw"}
AUDIO_FORMATS = ("audio/pcm", *G711_CODECS)
_SILERO_CONTEXT = 64  # samples of the previous frame Silero's v5+ model looks back at


class PcmToSpeechRate:
    """One session's input stream: bytes of the session's format in, 16 kHz float32 out."""

    def __init__(self, audio_format: str) -> None:
        if audio_format not in AUDIO_FORMATS:
            raise InvalidRequest(
                f"Unsupported audio format '{audio_format[:40]}': use one of {', '.join(AUDIO_FORMATS)}.",
                param="session.audio.input.format.type",
            )
        self._codec: Any = None  # av's AudioCodecContext for G.711; PCM16 is read directly
        if audio_format in G711_CODECS:
            self._codec = av.CodecContext.create(G711_CODECS[audio_format], "r")
            self._codec.sample_rate = G711_RATE
            self._codec.layout = "mono"
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self._odd_byte = b""  # a PCM16 sample split across two appends

    def feed(self, data: bytes) -> np.ndarray:
        frames = self._decode(data)
        out = [frame.to_ndarray().reshape(-1) for source in frames for frame in self._resampler.resample(source)]
        return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)

    def _decode(self, data: bytes) -> list[av.AudioFrame]:
        if self._codec is not None:
            return list(self._codec.decode(av.Packet(data))) if data else []
        data, self._odd_byte = self._odd_byte + data, b""
        if len(data) % 2:
            data, self._odd_byte = data[:-1], data[-1:]
        if not data:
            return []
        frame = av.AudioFrame.from_ndarray(np.frombuffer(data, dtype="<i2").reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = PCM16_RATE
        return [frame]


class SileroSpeechStream:
    """faster-whisper's Silero ONNX model, run frame by frame with its state kept between calls
    (faster-whisper's own call starts from zero state every time, which suits whole files only)."""

    def __init__(self, session) -> None:
        self._session = session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_SILERO_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: np.ndarray) -> list[float]:
        audio = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        whole = len(audio) // VAD_FRAME_SAMPLES * VAD_FRAME_SAMPLES
        self._pending = audio[whole:]
        if whole == 0:
            return []
        frames = audio[:whole].reshape(-1, VAD_FRAME_SAMPLES)
        contexts = np.concatenate([self._context[None], frames[:-1, -_SILERO_CONTEXT:]])
        self._context = frames[-1, -_SILERO_CONTEXT:].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        output, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return [float(p) for p in np.asarray(output).reshape(-1)]


class LiveAudioStreams:
    """The LiveAudio port: one PCM converter and one VAD stream per session, over a shared model."""

    def __init__(self) -> None:
        self._model: Any = None  # faster-whisper's Silero VAD, loaded on first use
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self._vad_session()

    def _vad_session(self) -> Any:
        with self._lock:
            if self._model is None:
                from faster_whisper.vad import get_vad_model

                self._model = get_vad_model()
            return self._model.session

    def pcm_stream(self, audio_format: str) -> PcmToSpeechRate:
        return PcmToSpeechRate(audio_format)

    def speech_stream(self) -> SileroSpeechStream:
        return SileroSpeechStream(self._vad_session())
