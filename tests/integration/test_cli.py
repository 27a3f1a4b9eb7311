"""The installed `whisperx-api-server transcribe` command on the bundled tiny.en model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES
from tests.subtitles import parse_srt

COMMAND = str(Path(sys.executable).parent / "whisperx-api-server")


def run_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "ALLOW_DOWNLOADS": "false",
        "WHISPER__MODEL": "tiny.en",
        "WHISPER__CPU_THREADS": "2",
    }
    return subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True, timeout=300)


def test_transcribe_writes_one_output_per_input_and_reports_bad_files(tmp_path):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("not audio")
    out = tmp_path / "subs"
    done = run_cli(
        "transcribe",
        str(FIXTURES / "en_fox.wav"),
        str(FIXTURES / "en_weather.wav"),
        str(not_audio),
        "--format",
        "srt",
        "--output-dir",
        str(out),
        "--quiet",
        tmp_path=tmp_path,
    )
    assert done.returncode == 1, "a file that failed makes the exit status non-zero"
    assert "notes.txt: The file could not be decoded as audio" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["en_fox.srt", "en_weather.srt"]
    cues = parse_srt((out / "en_fox.srt").read_text())
    assert cues and "fox" in " ".join(c.text for c in cues).lower()
    assert all(c.start < c.end for c in cues)


def test_transcribe_with_word_timestamps_to_verbose_json(tmp_path):
    done = run_cli(
        "transcribe",
        str(FIXTURES / "en_fox.wav"),
        "--format",
        "verbose_json",
        "--word-timestamps",
        "--language",
        "en",
        "--output-dir",
        str(tmp_path),
        "--quiet",
        tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "en_fox.json").read_text())
    assert result["language"] == "english" and "fox" in result["text"].lower()
    assert result["words"] and all(w["start"] <= w["end"] for w in result["words"])
