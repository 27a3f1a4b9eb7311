"""Real people's speech that ships inside Debian packages, for building meetings to diarize.

Telephone-system prompts (Asterisk: sentences of 1-4 s by professional voices) and a children's
game's spoken words (KTuberling: one volunteer per language) give 18 different people. They are
fetched with `apt-get download` and unpacked into a cache folder (no root, nothing installed):

    python scripts/voices.py        # prints who is there

People are split in two: DEVELOPMENT voices are the ones the diarizer's settings were chosen on;
HELD_OUT voices are only ever scored, never tuned on.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16000
CACHE = Path(os.environ.get("WXAS_VOICES", Path.home() / ".cache" / "whisperx-api-server" / "voices"))
PACKAGES = (
    "asterisk-core-sounds-en-g722",
    "asterisk-core-sounds-fr-g722",
    "asterisk-core-sounds-it-g722",
    "asterisk-core-sounds-ru-g722",
    "asterisk-prompt-it-menardi-wav",
    "asterisk-prompt-es-co",
    "asterisk-prompt-fr-armelle",
    "ktuberling-data",
)
ASTERISK = "usr/share/asterisk/sounds"
KTUBERLING = "usr/share/ktuberling/sounds"


@dataclass(frozen=True)
class Person:
    name: str
    folder: str  # inside the unpacked packages
    pattern: str
    kind: str  # "sentences" (1-4 s prompts) or "words" (single words, joined into turns)
    raw_format: str | None = None  # container-less codecs PyAV must be told about


DEVELOPMENT = (
    Person("Allison (en-US, Asterisk)", f"{ASTERISK}/en_US_f_Allison", "*.g722", "sentences", "g722"),
    Person("June (fr-CA, Asterisk)", f"{ASTERISK}/fr_CA_f_June", "*.g722", "sentences", "g722"),
    Person("Carlo (it-IT, Asterisk)", f"{ASTERISK}/it_IT_m_Carlo", "*.g722", "sentences", "g722"),
    Person("Paola Dal Zot (it-IT, Asterisk)", f"{ASTERISK}/it_IT_f_Menardi", "*.wav", "sentences"),
    Person("KTuberling en", f"{KTUBERLING}/en", "*.ogg", "words"),
    Person("KTuberling de", f"{KTUBERLING}/de", "*.ogg", "words"),
    Person("KTuberling wa", f"{KTUBERLING}/wa", "*.ogg", "words"),
    Person("KTuberling uk", f"{KTUBERLING}/uk", "*.ogg", "words"),
    Person("KTuberling ca", f"{KTUBERLING}/ca", "*.ogg", "words"),
    Person("KTuberling nn", f"{KTUBERLING}/nn", "*.opus", "words"),
)
HELD_OUT = (
    Person("IVR voice (ru-RU, Asterisk)", f"{ASTERISK}/ru_RU_f_IvrvoiceRU", "*.g722", "sentences", "g722"),
    Person("es-CO (Asterisk)", f"{ASTERISK}/es", "*.gsm", "sentences", "gsm"),
    Person("Armelle Desjardins (fr, Asterisk)", f"{ASTERISK}/fr", "*.gsm", "sentences", "gsm"),
    Person("KTuberling ru", f"{KTUBERLING}/ru", "*.ogg", "words"),
    Person("KTuberling el", f"{KTUBERLING}/el", "*.ogg", "words"),
    Person("KTuberling sl", f"{KTUBERLING}/sl", "*.ogg", "words"),
    Person("KTuberling gl", f"{KTUBERLING}/gl", "*.ogg", "words"),
    Person("KTuberling lt", f"{KTUBERLING}/lt", "*.ogg", "words"),
)


def fetch() -> Path:
    """The unpacked packages, downloaded once into CACHE."""
    root = CACHE / "root"
    done = CACHE / ".unpacked"
    if done.exists():
        return root
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        download = subprocess.run(["apt-get", "download", *missing], cwd=debs, capture_output=True, text=True)
        if download.returncode != 0:  # the package lists may never have been fetched on a new machine
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
            subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True, capture_output=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    done.touch()
    return root


def decode(path: Path, raw_format: str | None = None) -> np.ndarray:
    """16 kHz mono float32 samples of one file."""
    with av.open(str(path), format=raw_format, metadata_errors="ignore") as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks = [out.to_ndarray()[0] for frame in container.decode(audio=0) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray()[0] for out in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def trim(samples: np.ndarray) -> np.ndarray:
    """Without the silence (or room noise: some word recordings carry it 30 dB under the word) before
    and after the speech."""
    frame = SAMPLE_RATE // 100
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    if not frames.size:  # a recording shorter than 10 ms
        return samples[:0]
    level = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(level > max(level.max() - 25.0, np.percentile(level, 10) + 15.0))
    if not loud.size:
        return samples[:0]
    return samples[max(0, loud[0] - 5) * frame : (loud[-1] + 6) * frame]


def utterances(person: Person, root: Path | None = None, limit: int = 120) -> list[np.ndarray]:
    """The person's recordings, trimmed, in file-name order (at most `limit` of them)."""
    root = root or fetch()
    files = sorted((root / person.folder).glob(person.pattern))[:limit]
    clips = [trim(decode(f, person.raw_format)) for f in files]
    return [c for c in clips if c.size >= SAMPLE_RATE // 4]


if __name__ == "__main__":
    root = fetch()
    for group, people in (("development", DEVELOPMENT), ("held out", HELD_OUT)):
        for person in people:
            clips = utterances(person, root)
            seconds = [c.size / SAMPLE_RATE for c in clips]
            print(f"{group:12} {person.name:36} {len(clips):4} clips, {np.median(seconds):4.1f} s median")
