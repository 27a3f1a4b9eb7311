"""Live speakers (`gpt-4o-transcribe-diarize` sessions) on real meetings: `make bench-live-speakers`.

Each window of scripts/council.py's meetings (at the desk and through the room) is heard as a live
session hears it, with the server's own parts: Silero's probability for every VAD frame, server VAD's
turns (OpenAI's defaults; a turn longer than 15 s in windows of 15 s, as the session cuts it), every
turn printed piece by piece by CAM++ where it holds speech, and SessionSpeakers labelling each turn as
it ends, in order, with no look-ahead. Nothing is decoded: this scores speakers only.

Printed per set: DER of the live segments against the hand labels (collar 0.25 s, overlap scored, as
`make bench-diarization` scores files), the share of speech given the wrong person (confusion), and
speakers found against present. `--sweep` scores a grid of CUT_SIMILARITY x SAME_PERSON_SIMILARITY on
the development meetings (the held-out ones are never swept). Targets are printed, not asserted.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyannote.core import Annotation, Segment  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

import council  # noqa: E402  (scripts/council.py: real meetings rebuilt from speakerbox's clips)
from app.adapters.live_audio import LiveAudioStreams  # noqa: E402
from app.adapters.speaker_clustering.campplus import CamPlusPlusEncoder  # noqa: E402
from app.adapters.speaker_clustering.diarizer import EncoderVoicePrinter  # noqa: E402
from app.domain import live_speakers  # noqa: E402
from app.domain.live import VAD_FRAME_SAMPLES, SpeechStarted, SpeechStopped, TurnDetection, TurnDetector  # noqa: E402
from app.domain.models import Audio  # noqa: E402
from app.services.realtime.speakers import MIN_SPEECH_SHARE  # noqa: E402

RATE = 16_000
LONGEST_WINDOW = 15.0  # seconds: a longer turn is labelled window by window, as the session cuts it
WINDOWS_PER_MEETING = 4
SETS = {"development": (council.DEVELOPMENT, 1), "held out": (council.HELD_OUT, 2)}


@dataclass
class Heard:
    """One window as a live session hears it: each turn's pieces (session seconds) and their voices."""

    name: str
    turns: list[list[live_speakers.PiecePrint]]
    reference: Annotation
    present: int
    seconds: float


def annotation(turns) -> Annotation:
    out = Annotation()
    for index, (start, end, label) in enumerate(turns):
        out[Segment(start, end), str(index)] = label
    return out


def hear(window: council.Window, printer: EncoderVoicePrinter, streams: LiveAudioStreams) -> Heard:
    samples = window.samples.astype(np.float32)
    probabilities = streams.speech_stream().feed(samples)
    detector = TurnDetector(TurnDetection())
    turns: list[tuple[int, int]] = []
    start = None
    for event in detector.feed(probabilities):
        if isinstance(event, SpeechStarted):
            start = event.sample
        elif isinstance(event, SpeechStopped) and start is not None:
            turns.append((start, event.sample))
            start = None
    if start is not None:
        turns.append((start, samples.size))
    speech = np.repeat(np.asarray(probabilities) >= 0.5, VAD_FRAME_SAMPLES)
    heard: list[list[live_speakers.PiecePrint]] = []
    for first, last in turns:
        step = int(LONGEST_WINDOW * RATE)
        for begin in range(first, last, step):
            end = min(last, begin + step)
            spans = [
                (a, b)
                for a, b in live_speakers.piece_spans((end - begin) / RATE)
                if speech[begin + int(a * RATE) : begin + int(b * RATE)].mean() >= MIN_SPEECH_SHARE
            ]
            piece = samples[begin:end]
            prints = printer.voice_prints(Audio(samples=piece, duration=piece.size / RATE), spans) if spans else []
            offset = begin / RATE
            heard.append(
                [live_speakers.PiecePrint(offset + a, offset + b, v) for (a, b), v in zip(spans, prints, strict=True)]
            )
    return Heard(window.name, heard, annotation(window.turns), len(council.present(window.turns)), samples.size / RATE)


def label(heard: Heard) -> Annotation:
    people = live_speakers.SessionSpeakers()
    hypothesis = Annotation()
    for index, pieces in enumerate(heard.turns):
        if not pieces:
            continue
        offset = pieces[0].start
        relative = [live_speakers.PiecePrint(p.start - offset, p.end - offset, p.voice) for p in pieces]
        for k, span in enumerate(people.label_turn(relative)):
            hypothesis[Segment(offset + span.start, offset + span.end), f"{index}.{k}"] = span.speaker
    return hypothesis


def score(recordings: list[Heard]) -> dict[str, float]:
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    count_errors = []
    for heard in recordings:
        hypothesis = label(heard)
        metric(heard.reference, hypothesis, detailed=True)
        count_errors.append(abs(len(hypothesis.labels()) - heard.present))
    total = metric[:]
    return {
        "der": abs(metric),
        "confusion": total["confusion"] / total["total"],
        "missed": total["missed detection"] / total["total"],
        "false_alarm": total["false alarm"] / total["total"],
        "count_right": sum(e == 0 for e in count_errors) / len(count_errors),
        "count_off": float(np.mean(count_errors)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep", action="store_true", help="a grid of thresholds on the development meetings")
    args = parser.parse_args()
    printer = EncoderVoicePrinter(CamPlusPlusEncoder())
    streams = LiveAudioStreams()
    sets: dict[str, list[Heard]] = {}
    for name, (meetings, seed) in SETS.items():
        if args.sweep and name != "development":
            continue
        for far in (False, True):
            windows = council.windows(meetings, WINDOWS_PER_MEETING, seed + 10 * far, far_field=far)
            sets[f"{name}{', far' if far else ''}"] = [hear(w, printer, streams) for w in windows]
    if args.sweep:
        recordings = [h for heard in sets.values() for h in heard]
        for cut in (0.25, 0.3, 0.35, 0.4, 0.45):
            for same in (0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
                live_speakers.CUT_SIMILARITY, live_speakers.SAME_PERSON_SIMILARITY = cut, same
                found = score(recordings)
                print(
                    f"cut {cut:.2f} same {same:.2f}: DER {found['der']:.1%} confusion {found['confusion']:.1%} "
                    f"count right {found['count_right']:.0%} off {found['count_off']:.2f}"
                )
        return
    print(
        f"live speakers, CUT_SIMILARITY {live_speakers.CUT_SIMILARITY}, "
        f"SAME_PERSON_SIMILARITY {live_speakers.SAME_PERSON_SIMILARITY}"
    )
    for name, recordings in sets.items():
        found = score(recordings)
        seconds = sum(h.seconds for h in recordings)
        print(
            f"{name:22} {len(recordings)} windows, {seconds / 60:.1f} min: DER {found['der']:.1%} (confusion "
            f"{found['confusion']:.1%}, missed {found['missed']:.1%}, false alarm {found['false_alarm']:.1%}); "
            f"speakers right in {found['count_right']:.0%} of windows, off by {found['count_off']:.2f}"
        )


if __name__ == "__main__":
    main()
