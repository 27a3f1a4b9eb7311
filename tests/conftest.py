from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from app.config.settings import Settings
from app.container import Container, build_container
from app.main import create_app
from tests.fakes import FakeAligner, FakeDecoder, FakeDiarizer, FakeModelStore, FakeTranscriber

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"DATA_DIR": str(tmp_path / "data"), "WHISPER__PRELOAD": "false"})


@pytest.fixture
def fake_transcriber() -> FakeTranscriber:
    return FakeTranscriber()


@pytest.fixture
def fake_aligner() -> FakeAligner:
    return FakeAligner()


@pytest.fixture
def fake_diarizer() -> FakeDiarizer:
    return FakeDiarizer()


@pytest.fixture
def fake_models() -> dict[str, FakeModelStore]:
    return {
        "transcription": FakeModelStore(),
        "alignment": FakeModelStore(known=("en", "de")),
        "diarization": FakeModelStore(known=("pyannote/speaker-diarization-community-1",)),
    }


@pytest.fixture
def container(settings, fake_transcriber, fake_aligner, fake_diarizer, fake_models) -> Iterator[Container]:
    """The real container with every adapter overridden by a fake (before anything is built)."""
    container = build_container(settings)
    with (
        container.decoder.override(FakeDecoder()),
        container.transcriber.override(fake_transcriber),
        container.aligners.override([fake_aligner]),
        container.diarizer.override(fake_diarizer),
        container.transcription_models.override(fake_models["transcription"]),
        container.alignment_models.override(fake_models["alignment"]),
        container.diarization_models.override(fake_models["diarization"]),
    ):
        yield container


@pytest.fixture
def client(container: Container) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, seconds: float) -> None:
    """Poll a server process's /healthcheck until it answers 200."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/healthcheck", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy within {seconds:g} s")


@contextmanager
def serving(app: Litestar) -> Iterator[str]:
    """`app` under real uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 120
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_server(container) -> Iterator[str]:
    """The app under real uvicorn, so responses really stream and hang-ups are real."""
    with serving(create_app(container)) as url:
        yield url


def audio_file(seconds: float = 2.0, name: str = "speech.wav") -> dict:
    """An upload the FakeDecoder reads as `seconds` of audio."""
    return {"file": (name, str(seconds).encode(), "audio/wav")}
