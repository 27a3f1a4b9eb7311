from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from app.config.settings import Settings, SettingsError
from app.container import build_container, choose_diarization_backend
from app.domain.errors import ModelLoadFailed
from app.domain.models import Audio, TranscriptionOptions


def test_unknown_backend_fails_at_build_time_listing_the_registered_ones():
    with pytest.raises(SettingsError) as error:
        build_container(Settings.from_env({"BACKENDS__ALIGNMENT": "magic"}))
    message = str(error.value)
    assert "magic" in message and "BACKENDS__ALIGNMENT" in message
    assert "cross_attention" in message and "whisperx" in message


def test_default_backends_are_the_whisperx_adapters():
    container = build_container(Settings.from_env({}))
    assert container.transcriber().name == "whisperx"
    assert [a.name for a in container.aligners()] == ["wav2vec2", "cross_attention"]
    # No HF_TOKEN and no local pyannote pipeline: `auto` picks the embedded diarizer.
    assert container.diarization_backend() == "speaker_clustering"
    assert container.diarizer().name == "speaker_clustering"
    assert sorted(container.formatters()) == ["aud", "diarized_json", "json", "srt", "text", "verbose_json", "vtt", "vtt_json"]


def test_alignment_backends_are_mixable():
    only_cross_attention = build_container(Settings.from_env({"BACKENDS__ALIGNMENT": "cross_attention"}))
    assert [a.name for a in only_cross_attention.aligners()] == ["cross_attention"]
    no_fallback = build_container(Settings.from_env({"ALIGNMENT__FALLBACK": "false"}))
    assert [a.name for a in no_fallback.aligners()] == ["wav2vec2"]


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch):
    """A third-party package registering a transcription backend through an entry point."""
    (tmp_path / "echo_backend.py").write_text(textwrap.dedent("""
        from app.domain.models import Transcript, Segment

        class EchoTranscriber:
            name = "echo"
            def __init__(self, settings):
                self.model = settings.whisper.model
            def transcribe(self, audio, options, on_segment=None):
                return Transcript(task=options.task, language="en", duration=audio.duration,
                                  segments=(Segment(id=0, start=0.0, end=audio.duration, text="echo " + self.model),))

        def factory(settings):
            return EchoTranscriber(settings)
    """))
    dist = tmp_path / "echo_backend-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[whisperx_api_server.transcription]\necho = echo_backend:factory\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("echo_backend", None)


def test_third_party_backends_register_through_entry_points(plugin_on_path):
    container = build_container(Settings.from_env({"BACKENDS__TRANSCRIPTION": "echo", "WHISPER__MODEL": "tiny.en"}))
    transcriber = container.transcriber()
    transcript = transcriber.transcribe(Audio(samples=None, duration=1.0), TranscriptionOptions(model="x"))
    assert transcript.text == "echo tiny.en"
    assert container.transcription_models().available() == []  # the plugin exposes no model store


def test_an_unregistered_plugin_name_is_still_refused(plugin_on_path):
    with pytest.raises(SettingsError, match="echo, whisperx"):
        build_container(Settings.from_env({"BACKENDS__TRANSCRIPTION": "nope"}))


class FakePyannoteStore:
    default_model = "pyannote/speaker-diarization-community-1"

    def __init__(self, reason=None, fails=False):
        self.reason, self.fails, self.loads = reason, fails, []

    def unavailable_reason(self, name=None):
        return self.reason

    def load(self, name):
        self.loads.append(name)
        if self.fails:
            raise ModelLoadFailed("gated repo", param="diarize")
        return name


@pytest.mark.parametrize(
    ("setting", "store", "expected", "loads"),
    [
        ("auto", FakePyannoteStore(), "whisperx", 1),
        ("auto", FakePyannoteStore(fails=True), "speaker_clustering", 1),
        ("auto", FakePyannoteStore(reason="no token"), "speaker_clustering", 0),
        ("whisperx", FakePyannoteStore(reason="no token"), "whisperx", 0),
        ("speaker_clustering", FakePyannoteStore(), "speaker_clustering", 0),
    ],
)
def test_diarization_backend_choice(setting, store, expected, loads):
    settings = Settings.from_env({"BACKENDS__DIARIZATION": setting})
    assert choose_diarization_backend(settings, store) == expected
    assert len(store.loads) == loads


def test_diarization_backend_is_decided_once():
    container = build_container(Settings.from_env({}))
    assert container.diarization_backend() is container.diarization_backend()
    assert container.diarization_models().available() == ["pyannote-segmentation+resemblyzer"]
