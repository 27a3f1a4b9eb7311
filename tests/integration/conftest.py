"""The real pipeline on the bundled models. Downloads are off so results do not depend on the network:
wav2vec2 alignment is then unavailable and the cross-attention aligner does the word timing."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app.config.settings import Settings
from app.container import Application, build_container
from app.entrypoints.http import create_app

PYANNOTE_SAMPLE = Path(__import__("pyannote.audio", fromlist=["__file__"]).__file__).parent / "sample"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in this folder runs real models or real services: `-m "not integration"` skips it."""
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


def real_settings_in(data_dir: Path, **env: str) -> Settings:
    """The real server's settings (bundled `base`, offline), with a test's own variables on top."""
    base = {
        "DATA_DIR": str(data_dir),
        "ALLOW_DOWNLOADS": "false",
        "WHISPER__MODEL": "base",
        "WHISPER__CPU_THREADS": "2",
        "REALTIME__WEBRTC_HOSTS": "127.0.0.1",  # calls stay on loopback
    }
    return Settings.from_env({**base, **env})


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory) -> Settings:
    return real_settings_in(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def real_container(real_settings) -> Application:
    return build_container(real_settings)


@pytest.fixture(scope="session")
def real_client(real_container) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(real_container), timeout=600) as client:
        yield client


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower().replace("’", "'"))


def recall(reference: str, hypothesis: str) -> float:
    """Share of reference words found in the hypothesis (order-free, multiset)."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    remaining = list(hyp)
    found = 0
    for word in ref:
        if word in remaining:
            remaining.remove(word)
            found += 1
    return found / len(ref)


def similarity(reference: str, hypothesis: str) -> float:
    """Letter-level similarity (0..1), blind to spacing and punctuation ("sea shore" = "seashore")."""

    def letters(text: str) -> str:
        return "".join(words_of(text))

    return difflib.SequenceMatcher(None, letters(reference), letters(hypothesis)).ratio()


def stm_utterances() -> list[tuple[float, float, str, str]]:
    rows = []
    for line in (PYANNOTE_SAMPLE / "sample.stm").read_text().splitlines():
        parts = line.split(maxsplit=5)
        rows.append((float(parts[3]), float(parts[4]), parts[2], parts[5]))
    return rows
