"""A model that fails to load answers that request with a clear error, leaves the server serving
other models, and is retried by a later request once it is fixed."""

from __future__ import annotations

import shutil

from litestar.testing import TestClient

from app.adapters.models.bundled import BUNDLED_MODELS, package_dir
from app.config.settings import Settings
from app.entrypoints.http import create_app
from tests.conftest import FIXTURES

URL = "/v1/audio/transcriptions"


def test_a_corrupt_model_directory_fails_alone_and_can_be_retried(tmp_path):
    tiny = BUNDLED_MODELS["tiny.en"]
    source = package_dir(tiny.package) / tiny.subdir
    broken = tmp_path / "models" / "my-tiny"
    broken.mkdir(parents=True)
    for name in tiny.files:
        shutil.copy(source / name, broken / name)
    (broken / "model.bin").write_bytes(b"\x00" * 4096)  # truncated / corrupt weights
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "ALLOW_DOWNLOADS": "false",
            "WHISPER__MODEL": "tiny.en",
            "WHISPER__MODELS_DIR": str(tmp_path / "models"),
            "WHISPER__CPU_THREADS": "2",
        }
    )
    speech = (FIXTURES / "en_fox.wav").read_bytes()

    def transcribe(client: TestClient, model: str):
        return client.post(
            URL, files={"file": ("fox.wav", speech, "audio/wav")}, data={"model": model, "align": "false"}
        )

    with TestClient(create_app(settings=settings), timeout=300) as client:
        failed = transcribe(client, "my-tiny")
        assert failed.status_code == 503
        error = failed.json()["error"]
        assert error["type"] == "server_error" and error["param"] == "model"
        assert "my-tiny" in error["message"] and "could not be loaded" in error["message"]

        served = transcribe(client, "tiny.en")  # the server keeps serving its other models
        assert served.status_code == 200 and "fox" in served.json()["text"].lower()
        listed = {m["id"]: m["loaded"] for m in client.get("/models/list").json()["models"]}
        assert listed["my-tiny"] is False and listed["tiny.en"] is True

        shutil.copy(source / "model.bin", broken / "model.bin")  # the operator fixes the directory
        retried = transcribe(client, "my-tiny")
        assert retried.status_code == 200 and "fox" in retried.json()["text"].lower()
