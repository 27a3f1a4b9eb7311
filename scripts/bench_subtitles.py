"""`make bench-subtitles`: how often default srt breaks the timed-text norms, on real speech the cue
builder was not tuned on, with today's cues (`broadcast`) against one cue per Whisper segment
(`segments`, what the server gave before) in the same run.

Recordings, in groups reported apart: real council meetings (scripts/council.py, desk microphones,
fast English with cross-talk), DEVELOPMENT windows (what SUBTITLES__MAX_LAG_SECONDS was chosen on)
and HELD_OUT ones; cdp-backend's two real council recordings (3 min each); pyannote's real phone
call; and the earlier set: three far-field meetings of multilingual prompts (scripts/meetings.py,
HELD_OUT people) and two minutes of read Spanish and French prompts. Each is transcribed by the real
server (bundled `base`, diarized except the read speech) and rendered both ways.

Counted per cue: a line over 42 characters, more than 2 lines, shown under 5/6 s or over 7 s, an
overlap with the next cue, a reading speed over 20 characters a second where the next cue would have
left room for it to stay up longer, and over 20 characters a second at all (the share printed last,
target at most 5 %). How late cues start after their first word is printed too (the price of
SUBTITLES__MAX_LAG_SECONDS): the cues' words walked against the transcript's timed words.
"""

from __future__ import annotations

import io
import os
import re
import sys
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ALLOW_DOWNLOADS", "false")

import numpy as np
from litestar.testing import TestClient

from app.adapters.audio import PyAVDecoder, float_samples
from app.config.settings import Settings
from app.container import build_container
from app.entrypoints.http import create_app
from scripts import council
from scripts.meetings import meetings
from scripts.recordings import council_recordings
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


def recordings() -> list[tuple[str, str, bytes, bool]]:
    """(group, name, wav bytes, diarize)"""
    out = []
    for group, chosen in (("council, development", council.DEVELOPMENT), ("council, held out", council.HELD_OUT)):
        for window in council.windows(chosen, per_meeting=2, seed=5):
            out.append((group, f"{window.name} ({len(window.people)} people)", wav(window.samples), True))
    for name, path in council_recordings().items():  # 16 kHz mono: the briefing's WAV is over the upload limit
        with path.open("rb") as source:
            samples = float_samples(PyAVDecoder().decode(source).samples)
        out.append(("cdp council recordings", name, wav(samples), True))
    out.append(("pyannote call", "pyannote call (real, 2 people)", PYANNOTE_SAMPLE.read_bytes(), True))
    for made in meetings(HELD_OUT, count=3, seed=11, seconds=60.0):
        out.append(("earlier set", made.name, wav(made.samples), True))
    out.append(("earlier set", "read speech es+fr (held-out voices)", wav(read_speech()), False))
    return out


MARK = re.compile(r"^\[[^\]]*\]: |^- ", re.MULTILINE)


def lags(cues, words: list[dict]) -> list[float]:
    """How late each cue starts after its first word is spoken. The cues hold the transcript's words in
    order, so a cue's first character (spaces and speaker marks left out) falls in its first word."""
    starts = []  # (first character of the word, its start) in the words' text without spaces
    at = 0
    for word in words:
        starts.append((at, word["start"]))
        at += len("".join(word["word"].split()))
    out, position, index = [], 0, 0
    for cue in cues:
        while index + 1 < len(starts) and starts[index + 1][0] <= position:
            index += 1
        if starts:
            out.append(max(0.0, cue.start - starts[index][1]))
        position += len("".join(MARK.sub("", cue.text).split()))
    return out


def violations(cues) -> dict[str, int]:
    counts = dict.fromkeys(
        ("line > 42", "lines > 2", "shown < 5/6 s", "shown > 7 s", "overlap", "> 20 cps", "> 20 cps, any"), 0
    )
    for cue, following in zip(cues, [*cues[1:], None]):
        lines = cue.text.split("\n")
        duration = cue.end - cue.start
        counts["line > 42"] += sum(len(line) > 42 for line in lines)
        counts["lines > 2"] += len(lines) > 2
        counts["shown < 5/6 s"] += duration < 5 / 6 - 0.001
        counts["shown > 7 s"] += duration > 7.001
        counts["overlap"] += following is not None and following.start < cue.end - 0.001
        room = following is None or following.start > cue.end + 0.001
        fast = sum(len(line) for line in lines) / max(duration, 0.001) > 20.01
        counts["> 20 cps"] += fast and room and duration < 7
        counts["> 20 cps, any"] += fast
    return counts


def main() -> None:
    container = build_container(Settings.from_env())
    modes = ("segments", "broadcast")
    totals: dict[str, dict[str, dict[str, int]]] = {}
    late: list[float] = []
    print("| group | recording | cues (segments → broadcast) | violations (segments → broadcast) |")
    print("| --- | --- | --- | --- |")
    with TestClient(create_app(container)) as client:
        for group, name, audio, diarize in recordings():
            timed = client.post(
                "/v1/audio/transcriptions",
                files={"file": ("a.wav", audio, "audio/wav")},
                data={
                    "response_format": "verbose_json",
                    "timestamp_granularities[]": "word",
                    "diarize": str(diarize).lower(),
                },
                timeout=900,
            )
            timed.raise_for_status()
            row = {}
            for mode in modes:
                response = client.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("a.wav", audio, "audio/wav")},
                    data={"response_format": "srt", "subtitle_cues": mode, "diarize": str(diarize).lower()},
                    timeout=900,
                )
                response.raise_for_status()
                cues = parse_srt(response.text)
                counts = violations(cues)
                if mode == "broadcast":
                    late += lags(cues, timed.json()["words"])
                for key in (group, "all"):
                    total = totals.setdefault(key, {m: {"cues": 0} for m in modes})[mode]
                    total["cues"] += len(cues)
                    for norm, value in counts.items():
                        total[norm] = total.get(norm, 0) + value
                row[mode] = (len(cues), sum(counts.values()) - counts["> 20 cps, any"])
            print(
                f"| {group} | {name} | {row['segments'][0]} → {row['broadcast'][0]} | "
                f"{row['segments'][1]} → {row['broadcast'][1]} |"
            )
    print()
    print("| norm | segments | broadcast |")
    print("| --- | --- | --- |")
    for key in totals["all"]["broadcast"]:
        print(f"| {key} | {totals['all']['segments'][key]} | {totals['all']['broadcast'][key]} |")
    print()
    print("Cues read faster than 20 characters a second (target: at most 5 % of cues):")
    print("| group | segments | broadcast |")
    print("| --- | --- | --- |")
    for group, by_mode in totals.items():
        shares = [100 * by_mode[m]["> 20 cps, any"] / max(by_mode[m]["cues"], 1) for m in modes]
        print(f"| {group} | {shares[0]:.1f} % | {shares[1]:.1f} % |")
    lag = np.array(late)
    print()
    print(
        f"broadcast cues starting after their first word: median {np.median(lag):.2f} s, 95th percentile "
        f"{np.percentile(lag, 95):.2f} s, most {lag.max():.2f} s; {100 * np.mean(lag > 0.5):.0f} % over 0.5 s, "
        f"{100 * np.mean(lag > 1.0):.0f} % over 1 s"
    )


if __name__ == "__main__":
    main()
