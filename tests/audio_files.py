"""Encode a WAV fixture into other containers/codecs with PyAV, as clients would upload them."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# container format, codec, sample rate the codec wants
FORMATS: dict[str, tuple[str, str, int]] = {
    "wav": ("wav", "pcm_s16le", 16000),
    "mp3": ("mp3", "libmp3lame", 44100),
    "m4a": ("ipod", "aac", 44100),
    "ogg": ("ogg", "libopus", 48000),
    "opus": ("opus", "libopus", 48000),
    "flac": ("flac", "flac", 16000),
    "webm": ("webm", "libopus", 48000),
    "mp4": ("mp4", "aac", 44100),
    "3gp": ("3gp", "aac", 16000),
    "aac": ("adts", "aac", 44100),
    "ac3": ("ac3", "ac3", 48000),
    "mp2": ("mp2", "mp2", 48000),
    "amr": ("amr", "libopencore_amrnb", 8000),
    "aiff": ("aiff", "pcm_s16be", 16000),
    "au": ("au", "pcm_s16be", 16000),
    "caf": ("caf", "pcm_s16le", 16000),
    "wv": ("wv", "wavpack", 16000),
    "mka": ("matroska", "flac", 16000),
    "avi": ("avi", "pcm_s16le", 16000),
    "flv": ("flv", "libmp3lame", 44100),
    "ts": ("mpegts", "mp2", 48000),
}


def encode(source: Path, extension: str, *, channels: int = 1) -> bytes:
    container_format, codec, rate = FORMATS[extension]
    out = io.BytesIO()
    with av.open(str(source)) as inp, av.open(out, mode="w", format=container_format) as output:
        layout = "stereo" if channels == 2 else "mono"
        stream = output.add_stream(codec, rate=rate, layout=layout)
        resampler = av.AudioResampler(format=stream.format.name if stream.format else "s16", layout=layout, rate=rate)
        for frame in inp.decode(audio=0):
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    output.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return out.getvalue()


def wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    """Mono float samples (-1..1) as 16-bit WAV bytes."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    out = io.BytesIO()
    with av.open(out, mode="w", format="wav") as output:
        stream = output.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return out.getvalue()


def tone_wav(seconds: float, rate: int = 16000) -> bytes:
    """A 440 Hz tone as 16-bit mono WAV bytes."""
    return wav(0.2 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate), rate)
