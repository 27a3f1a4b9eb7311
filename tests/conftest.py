from __future__ import annotations

import os
import tempfile

# Hermetic: no test may see (or be changed by) models that happen to be in this machine's Hugging Face
# cache. Set before anything imports huggingface_hub, which reads these once.
_HUB_HOME = tempfile.mkdtemp(prefix="wxas-test-hf-")
os.environ["HF_HOME"] = _HUB_HOME
os.environ["HF_HUB_CACHE"] = os.path.join(_HUB_HOME, "hub")
os.environ.pop("HF_TOKEN", None)

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from app.config.settings import Settings
from app.container import Application, build_container
from app.entrypoints.http import create_app
from tests.fakes import (
    FakeAligner,
    FakeDiarizer,
    FakeModelStore,
    Fakes,
    FakeTranscriber,
    FakeUtteranceTranscriber,
    FakeVoicePrinter,
    override_with,
)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def settings_env() -> dict[str, str]:
    """Environment variables a test pins, e.g. `@pytest.mark.parametrize("settings_env", [{...}])`."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, settings_env: dict[str, str]) -> Settings:
    """Built from the pinned variables only, never from this machine's environment."""
    # WebRTC calls offer ICE candidates on loopback only: tests never send to another address.
    base = {"DATA_DIR": str(tmp_path / "data"), "WHISPER__PRELOAD": "false", "REALTIME__WEBRTC_HOSTS": "127.0.0.1"}
    return Settings.from_env({**base, **settings_env})


def translations_deprecated_by_the_client():
    """openai 3.x marks `audio.translations.create` deprecated while OpenAI still serves it, and so do
    we: that warning is expected, and any other warning from a test still fails it."""
    return pytest.warns(DeprecationWarning, match="deprecated")


def pin(**env: str):
    """Decorate a test to run on settings with these variables: `@pin(MAX_QUEUED_REQUESTS="0")`."""
    return pytest.mark.parametrize("settings_env", [env], ids=[",".join(env)])


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
    return Fakes().models


@pytest.fixture
def fake_voice_printer() -> FakeVoicePrinter:
    return FakeVoicePrinter()


@pytest.fixture
def fake_live_transcriber() -> FakeUtteranceTranscriber:
    return FakeUtteranceTranscriber()


@pytest.fixture
def container(
    settings, fake_transcriber, fake_aligner, fake_diarizer, fake_models, fake_live_transcriber, fake_voice_printer
) -> Iterator[Application]:
    """The real container with every adapter overridden by a fake (before anything is built)."""
    container = build_container(settings)
    fakes = Fakes(
        transcriber=fake_transcriber,
        aligner=fake_aligner,
        diarizer=fake_diarizer,
        models=fake_models,
        live_transcriber=fake_live_transcriber,
        voice_printer=fake_voice_printer,
    )
    with override_with(container, fakes):
        yield container


@pytest.fixture
def client(container: Application) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], seconds: float = 20, what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail after `seconds`. For ordering a test's steps on what the
    server did, never on how long it usually takes."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not come true within {seconds:g} s"
        time.sleep(0.01)


async def until(condition: Callable[[], object], seconds: float = 20, what: str = "the condition") -> None:
    """`wait_for` for async tests: polls without blocking the event loop the server may share."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not come true within {seconds:g} s"
        await anyio.sleep(0.01)


def info(url: str) -> dict:
    """The server's /info (its queue and uploads right now)."""
    return httpx.get(f"{url}/info", timeout=10).json()


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
