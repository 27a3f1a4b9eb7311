"""Diarization quality and speed of the embedded backend, printed (never asserted).

    make bench-diarization

DER uses pyannote.metrics with a 0.25 s collar on:
- pyannote.audio's sample.wav: a real two-person phone call with its reference RTTM;
- tests/fixtures/three_speakers.wav: three espeak voices taking turns A B C A B;
- eighteen one-minute meetings (three seeds, six each) of 3-4 voices with 1-4 s turns, pauses and
  cross-talk, built from the real call's two voices and speed-perturbed copies of them
  (scripts/meetings.py), reference turns exact by construction. No real multi-party meeting with
  reference turns ships offline. The diarizer's piece length and brief-speaker threshold were
  chosen on these meetings, so they are a development set, not a held-out one.
Time is the median of three runs after the models are loaded, on this machine's CPU.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
import warnings
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from pyannote.core import Annotation, Segment  # noqa: E402
from pyannote.database.util import load_rttm  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from app.adapters.audio import PyAVDecoder, float_samples  # noqa: E402
from app.adapters.speaker_clustering.diarizer import SpeakerClusteringDiarizer, VoiceEncoder  # noqa: E402
from app.adapters.speaker_clustering.local_speakers import SegmentationModel  # noqa: E402
from app.domain.models import Audio, TranscriptionOptions  # noqa: E402
from scripts.meetings import meetings  # noqa: E402


MEETING_SEEDS = (16, 17, 18)


def sample_reference() -> tuple[Path, Annotation]:
    import pyannote.audio

    folder = Path(pyannote.audio.__file__).parent / "sample"
    return folder / "sample.wav", load_rttm(str(folder / "sample.rttm"))["sample"]


def three_speakers_reference() -> tuple[Path, Annotation]:
    path = ROOT / "tests" / "fixtures" / "three_speakers.wav"
    with wave.open(str(path)) as wav:
        total = wav.getnframes() / wav.getframerate()
    # The fixture is A B C A B of these lengths (scripts/make_fixtures.sh).
    lengths, order = [5.5798, 6.1468, 6.6772, 5.5798, 6.1468], "ABCAB"
    scale = total / sum(lengths)
    reference, start = Annotation(), 0.0
    for speaker, length in zip(order, lengths):
        reference[Segment(start, start + length * scale)] = speaker
        start += length * scale
    return path, reference


def main() -> None:
    diarizer = SpeakerClusteringDiarizer(SegmentationModel(), VoiceEncoder())
    started = time.perf_counter()
    diarizer.segmentation.warm_up()
    diarizer.encoder.warm_up()
    load_seconds = time.perf_counter() - started
    rows = []
    pooled = DiarizationErrorRate(collar=0.25)  # accumulates over every recording: the pooled DER
    pooled_meetings = DiarizationErrorRate(collar=0.25)
    recordings = {}
    for name, (path, reference) in {"pyannote sample.wav (phone call)": sample_reference(),
                                    "three_speakers.wav (espeak)": three_speakers_reference()}.items():
        recordings[name] = (PyAVDecoder().decode(io.BytesIO(path.read_bytes())), reference)
    call, call_reference = recordings["pyannote sample.wav (phone call)"]
    for seed in MEETING_SEEDS:
        for made in meetings(float_samples(call.samples), call_reference, seed=seed):
            reference = Annotation()
            for start, end, speaker in made.turns:
                reference[Segment(start, end), len(reference)] = speaker
            recordings[f"{made.name} (seed {seed})"] = (Audio(samples=made.samples, duration=made.samples.size / 16000),
                                                         reference)
    for name, (audio, reference) in recordings.items():
        times, result = [], None
        for _ in range(3):
            t0 = time.perf_counter()
            result = diarizer.diarize(audio, TranscriptionOptions(model="base"))
            times.append(time.perf_counter() - t0)
        hypothesis = Annotation()
        for track, turn in enumerate(result.turns):  # a track each: turns of two speakers may cover the same time
            hypothesis[Segment(turn.start, turn.end), track] = turn.speaker
        details = pooled(reference, hypothesis, detailed=True)
        if name.startswith("meeting"):
            pooled_meetings(reference, hypothesis)
        seconds = statistics.median(times)
        rows.append({
            "recording": name, "audio_seconds": round(audio.duration, 2),
            "der": round(details["diarization error rate"], 4),
            "missed": round(details["missed detection"] / details["total"], 4),
            "false_alarm": round(details["false alarm"] / details["total"], 4),
            "confusion": round(details["confusion"] / details["total"], 4),
            "speakers_found": len(result.speakers), "speakers_true": len(reference.labels()),
            "diarize_seconds": round(seconds, 3), "realtime_factor": round(audio.duration / seconds, 1),
        })
    print(f"embedded diarizer (speaker_clustering), models loaded in {load_seconds:.1f} s\n")
    header = f"{'recording':40} {'DER':>6} {'miss':>6} {'FA':>6} {'conf':>6} {'spk found/true':>15} {'time s':>7} {'RTFx':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['recording']:40} {r['der']:6.1%} {r['missed']:6.1%} {r['false_alarm']:6.1%} {r['confusion']:6.1%} "
              f"{r['speakers_found']:>7}/{r['speakers_true']:<7} {r['diarize_seconds']:7.2f} {r['realtime_factor']:6.1f}")
    count_error = statistics.mean(abs(r["speakers_found"] - r["speakers_true"]) for r in rows)
    print(f"{'pooled, all':40} {abs(pooled):6.1%}   speaker count off by {count_error:.2f} on average")
    print(f"{'pooled, meetings':40} {abs(pooled_meetings):6.1%}")
    print("targets (issue 16): pooled DER <= 25 % on multi-party meetings, <= 10 % on two-person calls.")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "diarization.json").write_text(json.dumps({"load_seconds": round(load_seconds, 2), "results": rows,
                                                      "pooled_der": round(abs(pooled), 4),
                                                      "pooled_meeting_der": round(abs(pooled_meetings), 4),
                                                      "speaker_count_error": count_error}, indent=2))
    print(f"\nwritten to {out / 'diarization.json'}")


if __name__ == "__main__":
    main()
