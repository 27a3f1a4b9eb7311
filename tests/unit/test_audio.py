from __future__ import annotations

import io
import tracemalloc
import wave

import av
import numpy as np
import pytest

from app.adapters.audio import PyAVDecoder, float_samples
from app.domain.errors import AudioTooLong, InvalidAudio
from tests.audio_files import FORMATS, encode, tone_wav
from tests.conftest import FIXTURES

SPEECH = FIXTURES / "en_fox.wav"
with wave.open(str(SPEECH)) as _wav:
    SPEECH_SECONDS = _wav.getnframes() / _wav.getframerate()


@pytest.mark.parametrize("extension", sorted(FORMATS))
def test_decodes_every_common_upload_format_to_16k_mono(extension):
    audio = PyAVDecoder().decode(io.BytesIO(encode(SPEECH, extension)))
    assert audio.sample_rate == 16000 and audio.samples.ndim == 1 and str(audio.samples.dtype) == "int16"
    assert audio.duration == pytest.approx(SPEECH_SECONDS, abs=0.15)  # encoders pad a frame or two
    assert 0.01 < float(abs(float_samples(audio.samples)).max()) <= 1.0


def test_stereo_is_mixed_down():
    audio = PyAVDecoder().decode(io.BytesIO(encode(SPEECH, "flac", channels=2)))
    assert audio.samples.ndim == 1 and audio.duration == pytest.approx(SPEECH_SECONDS, abs=0.05)


@pytest.mark.parametrize(
    "payload", [b"", b"hello, this is text", bytes(range(256)) * 40, b"\x89PNG\r\n\x1a\n" + b"\0" * 100]
)
def test_non_audio_is_invalid_audio(payload):
    with pytest.raises(InvalidAudio) as error:
        PyAVDecoder().decode(io.BytesIO(payload))
    assert error.value.param == "file"


def test_truncated_file_decodes_what_is_there_or_fails_cleanly():
    data = encode(SPEECH, "mp3")
    try:
        audio = PyAVDecoder().decode(io.BytesIO(data[: len(data) // 2]))
    except InvalidAudio:
        return
    assert 0 < audio.duration < SPEECH_SECONDS


def test_header_only_wav_has_no_samples():
    header = tone_wav(0.5)[:44]
    with pytest.raises(InvalidAudio):
        PyAVDecoder().decode(io.BytesIO(header))


def test_audio_longer_than_the_limit_is_refused():
    with pytest.raises(InvalidAudio, match="longer than the limit of 1 seconds"):
        PyAVDecoder(max_seconds=1).decode(io.BytesIO(tone_wav(3)))
    assert PyAVDecoder(max_seconds=5).decode(io.BytesIO(tone_wav(3))).duration == pytest.approx(3.0)


def silent_flac(seconds: int) -> bytes:
    """A small file holding long audio: FLAC packs silence to almost nothing."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=16000, layout="mono")
        block = np.zeros((1, 16000 * 10), dtype=np.int16)
        for index in range(seconds // 10):
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * block.shape[1]
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def test_a_per_call_limit_stops_decoding_there_with_memory_to_match():
    data = silent_flac(1200)  # twenty minutes
    assert len(data) < 500_000
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLong, match="longer than the limit of 10 seconds"):
            PyAVDecoder(max_seconds=4 * 3600).decode(io.BytesIO(data), max_seconds=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000  # twenty minutes would be 38 MB of PCM


def test_long_audio_is_decoded_without_overshooting_its_buffer():
    audio = PyAVDecoder().decode(io.BytesIO(tone_wav(75)))  # longer than one growth block of 60 s
    assert audio.samples.size == 75 * 16000 and audio.duration == pytest.approx(75.0)


# Files that make FFmpeg open something else: a local file (concat script, HLS playlist) or a
# network socket (SDP session). The upload may be any bytes, so each must be refused, not followed.
SCRIPTS = {
    "ffconcat with a relative path": b"ffconcat version 1.0\nfile 'tests/fixtures/en_fox.wav'\n",
    "ffconcat with an absolute path": f"ffconcat version 1.0\nfile '{SPEECH}'\n".encode(),
    "HLS playlist": (
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n" + str(SPEECH).encode() + b"\n#EXT-X-ENDLIST\n"
    ),
    "SDP session": b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\n",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_uploads_that_point_elsewhere_are_refused(name, monkeypatch):
    monkeypatch.chdir(FIXTURES.parents[1])  # where the relative path in the concat script resolves
    with pytest.raises(InvalidAudio) as error:
        PyAVDecoder().decode(io.BytesIO(SCRIPTS[name]))
    assert error.value.param == "file"


def test_the_same_concat_script_is_what_ffmpeg_would_follow(monkeypatch):
    """Proves the script above is a real attack: PyAV without our sandbox reads the local file."""
    import av

    monkeypatch.chdir(FIXTURES.parents[1])
    with av.open(io.BytesIO(SCRIPTS["ffconcat with a relative path"])) as container:
        assert container.format.name == "concat" and container.streams.audio
