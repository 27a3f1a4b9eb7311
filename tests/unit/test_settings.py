from __future__ import annotations

import pytest

from app.adapters.models.device import (
    resolve_batch_size,
    resolve_batch_wait_seconds,
    resolve_compute_type,
    resolve_device,
    resolve_shared_batch_size,
)
from app.config.settings import Settings, SettingsError


def test_defaults():
    settings = Settings.from_env({})
    assert settings.whisper.model == "base"
    assert settings.default_response_format == "json"
    assert (settings.uvicorn_host, settings.uvicorn_port) == ("0.0.0.0", 8000)
    assert (settings.backends.transcription, settings.backends.alignment) == ("whisperx", "whisperx")
    assert settings.backends.diarization == "auto"
    assert settings.whisper.compute_type == "auto" and settings.whisper.inference_device == "auto"
    assert settings.whisper.chunk_size == 30 and settings.whisper.batch_size == 0
    assert settings.max_upload_size_bytes == 25 * 1024 * 1024


def test_nested_names_use_double_underscores_and_strings_are_converted():
    settings = Settings.from_env(
        {
            "WHISPER__MODEL": "tiny.en",
            "WHISPER__BATCH_SIZE": "4",
            "WHISPER__PRELOAD": "false",
            "BACKENDS__ALIGNMENT": "cross_attention",
            "ALIGNMENT__MODELS": '{"en": "/models/w2v-en"}',
            "DEFAULT_LANGUAGE": "",
            "LOG_FORMAT": "json",
            "HF_TOKEN": "secret",
            "UNRELATED": "x",
        }
    )
    assert (
        settings.whisper.model == "tiny.en" and settings.whisper.batch_size == 4 and settings.whisper.preload is False
    )
    assert settings.backends.alignment == "cross_attention"
    assert settings.alignment.models == {"en": "/models/w2v-en"}
    assert settings.default_language is None and settings.log_format == "json" and settings.hf_token == "secret"


@pytest.mark.parametrize(
    "env",
    [
        {"WHISPER__BATCH_SIZE": "many"},
        {"LOG_FORMAT": "xml"},
        {"ALIGNMENT__MODELS": "not json"},
        {"WHISPER__INFERENCE_DEVICE": "tpu"},
    ],
)
def test_bad_values_fail_with_the_setting_named(env):
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert str(error.value)


def test_device_defaults_are_decided_in_one_place():
    assert (resolve_batch_size(0, "cpu"), resolve_batch_size(0, "cuda"), resolve_batch_size(16, "cpu")) == (4, 8, 16)
    assert (resolve_shared_batch_size(0, 4), resolve_shared_batch_size(0, 16), resolve_shared_batch_size(2, 4)) == (
        8,
        16,
        2,
    )
    assert (
        resolve_batch_wait_seconds(None, "cpu"),
        resolve_batch_wait_seconds(None, "cuda"),
        resolve_batch_wait_seconds(5, "cpu"),
        resolve_batch_wait_seconds(-1, "cuda"),
    ) == (0.0, 0.02, 0.005, 0.0)
    assert (resolve_compute_type("auto", "cpu"), resolve_compute_type("auto", "cuda")) == ("int8", "float16")
    assert resolve_compute_type("float32", "cuda") == "float32" and resolve_device("cpu") == "cpu"


def test_cuda_without_a_visible_gpu_serves_on_the_cpu_and_says_why():
    """The CUDA image started on a host without a GPU."""
    import structlog

    with structlog.testing.capture_logs() as logs:
        assert resolve_device("cuda", gpu_visible=lambda: False) == "cpu"
        assert resolve_device("auto", gpu_visible=lambda: False) == "cpu"
    assert [log["event"] for log in logs] == ["no CUDA GPU is visible: serving on the CPU"]
    assert (
        resolve_device("cuda", gpu_visible=lambda: True) == resolve_device("auto", gpu_visible=lambda: True) == "cuda"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REALTIME__WEBRTC_HOSTS": "0.0.0.0"}, "REALTIME__WEBRTC_PUBLIC_ADDRESS"),  # offering 0.0.0.0 reaches nobody
        ({"REALTIME__WEBRTC_PUBLIC_ADDRESS": "0.0.0.0"}, "REALTIME__WEBRTC_PUBLIC_ADDRESS"),
        ({"REALTIME__WEBRTC_PUBLIC_ADDRESS": "example.com"}, "example.com"),
        ({"REALTIME__WEBRTC_HOSTS": "127.0.0.1,server.local"}, "server.local"),
    ],
)
def test_webrtc_addresses_are_ip_addresses_callers_can_reach(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_a_server_behind_nat_binds_every_address_and_offers_its_public_one():
    realtime = Settings.from_env(
        {"REALTIME__WEBRTC_HOSTS": "0.0.0.0", "REALTIME__WEBRTC_PUBLIC_ADDRESS": "192.0.2.10"}
    ).realtime
    assert (realtime.webrtc_hosts, realtime.webrtc_public_address) == (["0.0.0.0"], "192.0.2.10")
