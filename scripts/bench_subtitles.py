"""`make bench-subtitles`: how often default srt breaks the timed-text norms, on real speech the cue
builder was not tuned on, with today's cues (`broadcast`) against one cue per Whisper segment
(`segments`, what the server gave before) in the same run.

Recordings: pyannote's real phone call, three held-out far-field meetings of real voices
(scripts/meetings.py, HELD_OUT people only) and two minutes of held-out read speech (Asterisk's
French and Spanish prompts, one after the other with natural pauses). Each is transcribed once by the
real server (bundled `base`, diarized for the meetings and the call) and rendered both ways.

Counted per cue: a line over 42 characters, more than 2 lines, shown under 5/6 s or over 7 s, an
overlap with the next cue, and a reading speed over 20 characters a second where the next cue
would have left room for it to stay up longer.
"""

from __future__ import annotations

import io
import os
import sys
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ALLOW_DOWNLOADS", "false")

import numpy as np
from litestar.testing import TestClient

from app.config.settings import Settings
from app.container import build_container
from app.entrypoints.http import create_app
from scripts.meetings import meetings
from scripts.voices import HELD_OUT, utterances
from tests.subtitles import parse_srt

RATE = 16000
PYANNOTE_SAMPLE = Path(__import__("pyannote.audio", fromlist=["__file__"]).__file__).parent / "sample" / "sample.wav"


def wav(samples: np.ndarray) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(1), target.setsampwidth(2), target.setframerate(RATE)
        target.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def read_speech(seconds: float = 120.0) -> np.ndarray:
    """Held-out prompts read one after another, a natural pause between sentences."""
    rng = np.random.default_rng(7)
    parts, total = [], 0.0
    speakers = [p for p in HELD_OUT if p.kind == "sentences"][1:]  # es-CO, then French
    for person in speakers:
        for clip in utterances(person, limit=80):
            if total >= seconds * (speakers.index(person) + 1) / len(speakers):
                break
            pause = np.zeros(int(rng.uniform(0.3, 0.9) * RATE), dtype=np.float32)
            parts += [clip.astype(np.float32), pause]
            total += (clip.size + pause.size) / RATE
    return np.concatenate(parts)


def recordings() -> list[tuple[str, bytes, bool]]:
    """(name, wav bytes, diarize)"""
    out = [("pyannote call (real, 2 people)", PYANNOTE_SAMPLE.read_bytes(), True)]
    for made in meetings(HELD_OUT, count=3, seed=11, seconds=60.0):
        out.append((made.name, wav(made.samples), True))
    out.append(("read speech es+fr (held-out voices)", wav(read_speech()), False))
    return out


def violations(cues) -> dict[str, int]:
    counts = dict.fromkeys(("line > 42", "lines > 2", "shown < 5/6 s", "shown > 7 s", "overlap", "> 20 cps"), 0)
    for cue, following in zip(cues, [*cues[1:], None]):
        lines = cue.text.split("\n")
        duration = cue.end - cue.start
        counts["line > 42"] += sum(len(line) > 42 for line in lines)
        counts["lines > 2"] += len(lines) > 2
        counts["shown < 5/6 s"] += duration < 5 / 6 - 0.001
        counts["shown > 7 s"] += duration > 7.001
        counts["overlap"] += following is not None and following.start < cue.end - 0.001
        room = following is None or following.start > cue.end + 0.001
        counts["> 20 cps"] += sum(len(line) for line in lines) / max(duration, 0.001) > 20.01 and room and duration < 7
    return counts


def main() -> None:
    container = build_container(Settings.from_env())
    totals = {mode: {"cues": 0} for mode in ("segments", "broadcast")}
    print("| recording | cues (segments → broadcast) | violations (segments → broadcast) |")
    print("| --- | --- | --- |")
    with TestClient(create_app(container)) as client:
        for name, audio, diarize in recordings():
            row = {}
            for mode in ("segments", "broadcast"):
                response = client.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("a.wav", audio, "audio/wav")},
                    data={"response_format": "srt", "subtitle_cues": mode, "diarize": str(diarize).lower()},
                    timeout=900,
                )
                response.raise_for_status()
                cues = parse_srt(response.text)
                counts = violations(cues)
                totals[mode]["cues"] += len(cues)
                for key, value in counts.items():
                    totals[mode][key] = totals[mode].get(key, 0) + value
                row[mode] = (len(cues), sum(counts.values()))
            print(
                f"| {name} | {row['segments'][0]} → {row['broadcast'][0]} | {row['segments'][1]} → {row['broadcast'][1]} |"
            )
    print()
    print("| norm | segments | broadcast |")
    print("| --- | --- | --- |")
    for key in totals["broadcast"]:
        print(f"| {key} | {totals['segments'][key]} | {totals['broadcast'][key]} |")


if __name__ == "__main__":
    main()
