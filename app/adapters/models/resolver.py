"""The one place a Whisper model name becomes a CTranslate2 model directory.

Order: an existing path (configured names only), the configured models directory, the bundled
packages, then the Hugging Face hub (local cache first, download when allowed) — for the names in
the `downloadable` allow-list only, so a client cannot make the server fetch any repository.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from app.adapters.models.bundled import BUNDLED_MODELS, BundledModelInstaller, is_installed
from app.domain.errors import InvalidRequest, ModelLoadFailed, ModelNotFound
from app.domain.models import DEFAULT_MODEL_ALIASES

# A bare name or one "org/name" hub id: no dot-dot, no absolute path, no backslash or control char.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127})?$")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    name: str
    path: Path
    source: str  # path | models_dir | bundled | hub


def is_ctranslate2_dir(path: Path) -> bool:
    return path.is_dir() and (path / "model.bin").is_file() and (path / "config.json").is_file()


class WhisperModelResolver:
    def __init__(
        self,
        default_model: str,
        installer: BundledModelInstaller,
        models_dir: Path | None = None,
        allow_download: bool = True,
        hub_cache_dir: Path | None = None,
        downloadable: Collection[str] | None = None,
        allowed: Collection[str] = (),
    ) -> None:
        self.default_model = default_model
        self.installer = installer
        self.models_dir = models_dir
        self.allow_download = allow_download
        self.hub_cache_dir = hub_cache_dir
        # None: faster-whisper's own names (its download_model maps each to a Systran repository).
        self.downloadable = frozenset(downloadable) if downloadable is not None else None
        self.allowed = frozenset(allowed)  # MODELS__ALLOWED: downloadable too

    def canonical(self, name: str | None) -> str:
        """The name a request means: the default for `whisper-1`/empty, else the name itself, checked."""
        name = (name or "").strip()
        if name in DEFAULT_MODEL_ALIASES:
            return self.default_model
        if name == self.default_model:
            return name  # configured by the operator, so it may be a path
        if ".." in name or not _SAFE_NAME.match(name):
            raise InvalidRequest(
                f"Invalid model name '{name[:200]}': use a model name such as 'base' or an 'org/name' hub id.",
                param="model",
            )
        return name

    def resolve(self, name: str | None) -> ResolvedModel:
        name = self.canonical(name)
        if name == self.default_model and is_ctranslate2_dir(Path(name).expanduser()):
            return ResolvedModel(name, Path(name).expanduser().resolve(), "path")
        local = self._in_models_dir(name)
        if local is not None:
            return ResolvedModel(name, local, "models_dir")
        bundled = BUNDLED_MODELS.get(name)
        if bundled is not None and is_installed(bundled):
            return ResolvedModel(name, self.installer.path(bundled), "bundled")
        hub = self._from_hub(name)
        if hub is not None:
            return ResolvedModel(name, hub, "hub")
        raise ModelNotFound("model", name, self.available())

    def available(self) -> list[str]:
        """Names that load without a download: bundled, models directory, and the hub cache."""
        names = {n for n, m in BUNDLED_MODELS.items() if is_installed(m)}
        if self.models_dir is not None and self.models_dir.is_dir():
            names.update(p.name for p in self.models_dir.iterdir() if is_ctranslate2_dir(p))
        if is_ctranslate2_dir(Path(self.default_model).expanduser()) or self.default_model in names:
            names.add(self.default_model)
        return sorted(names)

    def requestable(self) -> list[str]:
        """`available`, plus the allow-listed hub names when downloads are allowed."""
        names = set(self.available())
        if self.allow_download:
            names.update(self._hub_names())
        return sorted(names)

    def _hub_names(self) -> frozenset[str]:
        from faster_whisper.utils import available_models

        return (self.downloadable if self.downloadable is not None else frozenset(available_models())) | self.allowed

    def _in_models_dir(self, name: str) -> Path | None:
        if self.models_dir is None:
            return None
        root = self.models_dir.resolve()
        candidate = (root / name).resolve()
        if root not in candidate.parents or not is_ctranslate2_dir(candidate):
            return None
        return candidate

    def may_download(self, name: str) -> bool:
        return name in self._hub_names() or name == self.default_model

    def _from_hub(self, name: str) -> Path | None:
        from faster_whisper.utils import download_model

        if not self.may_download(name):
            return None
        cache = str(self.hub_cache_dir) if self.hub_cache_dir else None
        try:
            return Path(download_model(name, local_files_only=True, cache_dir=cache))
        except Exception:  # noqa: BLE001 - not cached yet; try the network below
            pass
        if not self.allow_download:
            return None
        try:
            return Path(download_model(name, cache_dir=cache))
        except Exception as exc:
            message = str(exc)
            if "404" in message or "Repository Not Found" in message or "LocalEntryNotFound" in type(exc).__name__:
                return None
            raise ModelLoadFailed(f"Downloading model '{name}' failed: {message[:300]}", param="model") from exc
