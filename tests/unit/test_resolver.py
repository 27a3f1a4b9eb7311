from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.adapters.models import bundled
from app.adapters.models.bundled import BUNDLED_MODELS, BundledModel, BundledModelInstaller, sha256_of
from app.adapters.models.resolver import WhisperModelResolver
from app.domain.errors import InvalidRequest, ModelLoadFailed, ModelNotFound


def fake_ct2_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "model.bin").write_bytes(b"weights")
    (path / "config.json").write_text("{}")
    return path


@pytest.fixture
def resolver(tmp_path: Path) -> WhisperModelResolver:
    return WhisperModelResolver(
        "base", BundledModelInstaller(tmp_path / "data"), models_dir=tmp_path / "models", allow_download=False
    )


@pytest.mark.parametrize("alias", ["whisper-1", "", None, "  whisper-1 "])
def test_whisper_1_and_empty_mean_the_configured_default(resolver, alias):
    assert resolver.canonical(alias) == "base"


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "/etc/passwd", "a/../../b", "models\\x", "a/b/c", "~root", "x\ny", "a b"]
)
def test_path_tricks_are_rejected(resolver, name):
    with pytest.raises(InvalidRequest) as error:
        resolver.resolve(name)
    assert error.value.param == "model"


def test_bundled_models_are_verified_and_base_is_assembled_once(resolver, tmp_path):
    tiny = resolver.resolve("tiny.en")
    assert tiny.source == "bundled" and (tiny.path / "model.bin").is_file()
    base = resolver.resolve("whisper-1")
    assert base.name == "base" and base.path == tmp_path / "data" / "models" / "base"
    assert sha256_of(base.path / "model.bin") == BUNDLED_MODELS["base"].files["model.bin"]
    assert resolver.available() == ["base", "tiny.en"]


def test_a_tampered_assembly_is_rebuilt_from_the_verified_parts(tmp_path):
    installer = BundledModelInstaller(tmp_path / "data")
    path = installer.path(BUNDLED_MODELS["base"])
    (path / "model.bin").write_bytes(b"tampered")
    rebuilt = BundledModelInstaller(tmp_path / "data").path(BUNDLED_MODELS["base"])
    assert sha256_of(rebuilt / "model.bin") == BUNDLED_MODELS["base"].files["model.bin"]


def test_a_checksum_mismatch_refuses_the_model(tmp_path, monkeypatch):
    package = tmp_path / "evil_models"
    (package / "model").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "model" / "model.bin").write_bytes(b"not what we reviewed")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = BundledModel(
        name="evil", description="", package="evil_models", subdir="model", files={"model.bin": "0" * 64}
    )
    with pytest.raises(ModelLoadFailed, match="checksum"):
        BundledModelInstaller(tmp_path / "data").path(model)


def test_models_dir_entries_resolve_and_are_listed(resolver, tmp_path):
    fake_ct2_dir(tmp_path / "models" / "my-finetune")
    resolved = resolver.resolve("my-finetune")
    assert resolved.source == "models_dir" and resolved.path == (tmp_path / "models" / "my-finetune").resolve()
    assert "my-finetune" in resolver.available()


def test_a_configured_default_may_be_a_path(tmp_path):
    model_dir = fake_ct2_dir(tmp_path / "custom")
    resolver = WhisperModelResolver(str(model_dir), BundledModelInstaller(tmp_path / "data"), allow_download=False)
    assert resolver.resolve("whisper-1").source == "path"
    assert str(model_dir) in resolver.available()


def test_unknown_names_are_404_listing_what_is_available(resolver):
    with pytest.raises(ModelNotFound) as error:
        resolver.resolve("large-v3")  # a hub name: not cached here and downloads are off
    assert error.value.available == ["base", "tiny.en"]
    assert "base, tiny.en" in error.value.message


def test_missing_package_is_not_listed(tmp_path, monkeypatch):
    monkeypatch.setitem(
        bundled.BUNDLED_MODELS,
        "ghost",
        BundledModel(name="ghost", description="", package="no_such_pkg", subdir="m", files={}),
    )
    resolver = WhisperModelResolver("base", BundledModelInstaller(tmp_path), allow_download=False)
    assert "ghost" not in resolver.available()
    with pytest.raises(ModelNotFound):
        resolver.resolve("ghost")


def test_copying_is_not_needed_for_single_file_models(tmp_path):
    path = BundledModelInstaller(tmp_path).path(BUNDLED_MODELS["tiny.en"])
    assert path.name == "model" and not (tmp_path / "models").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)


class HubSpy:
    """Stands in for faster-whisper's download_model: records what would be fetched, fetches nothing."""

    def __init__(self, root: Path) -> None:
        self.root, self.asked = root, []

    def __call__(self, name, local_files_only=False, cache_dir=None):
        self.asked.append((name, local_files_only))
        return str(fake_ct2_dir(self.root / name.replace("/", "--") / str(len(self.asked))))


@pytest.mark.parametrize(
    ("downloadable", "name", "fetched"),
    [
        (None, "small", True),  # faster-whisper's own names
        (None, "attacker/model-with-a-payload", False),  # any other repository: never asked for
        (["org/approved"], "org/approved", True),
        (["org/approved"], "small", False),  # MODELS__DOWNLOADABLE replaces the default list
    ],
)
def test_the_hub_is_asked_only_for_allow_listed_names(tmp_path, monkeypatch, downloadable, name, fetched):
    import faster_whisper.utils

    spy = HubSpy(tmp_path / "hub")
    monkeypatch.setattr(faster_whisper.utils, "download_model", spy)
    resolver = WhisperModelResolver(
        "base", BundledModelInstaller(tmp_path / "data"), allow_download=True, downloadable=downloadable
    )
    if fetched:
        assert resolver.resolve(name).source == "hub" and spy.asked
    else:
        with pytest.raises(ModelNotFound):
            resolver.resolve(name)
        assert spy.asked == []  # not even the local hub cache was consulted for it


def test_the_container_adds_allowed_models_to_the_downloadable_ones():
    from app.config.settings import Settings
    from app.container import build_container

    container = build_container(Settings.from_env({"MODELS__ALLOWED": "org/ours", "MODELS__DOWNLOADABLE": "small"}))
    resolver = container.transcription.whisper_models().resolver
    assert resolver.may_download("org/ours") and resolver.may_download("small")
    assert not resolver.may_download("large-v3") and not resolver.may_download("org/theirs")
