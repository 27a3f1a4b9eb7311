"""Writes tests/fixtures/senko_native_fbank.npz: the filterbanks senko's native extractor
(libfbank_extractor.so) computes for stretches of pyannote's sample call. The suite checks the portable
path against them on every machine, also where the extractor cannot run (no AVX-512).

Run on a CPU with AVX-512: .venv/bin/python scripts/senko_native_fbank.py"""

from pathlib import Path

import numpy as np
import soundfile as sf
from senko import Diarizer

SAMPLE = Path(__import__("pyannote.audio", fromlist=["__file__"]).__file__).parent / "sample" / "sample.wav"
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "senko_native_fbank.npz"
# Two full 1.5 s stretches of senko's own length, one shorter, one shorter than a frame (padded).
SPANS = [(0.5, 2.0), (12.3, 13.8), (29.5, 30.0), (10.0, 10.02)]


def main() -> None:
    samples, rate = sf.read(str(SAMPLE), dtype="float32")
    assert rate == 16000
    flat, frames, offsets, dim = Diarizer(device="cpu", warmup=False, quiet=True)._extract_fbank_features(
        samples, SPANS
    )
    np.savez_compressed(
        OUT, spans=np.array(SPANS, dtype=np.float32), features=flat, frames=frames, offsets=offsets, dim=dim
    )
    print(OUT, flat.shape)


if __name__ == "__main__":
    main()
