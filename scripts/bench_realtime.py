"""Realtime transcription latency and accuracy: `make bench-realtime`.

Streams recordings at real-time pace through the official SDK (`client.realtime.connect`, server
VAD) into a fresh server on this machine, 1, 2 and 3 sessions at once, each session a different
recording. Prints per session count, over every turn:
  - first delta: from `speech_started` arriving to the turn's first delta (target p50 <= 1.5 s);
  - completed: from `speech_stopped` arriving to `completed` (target p50 <= 1.0 s);
  - WER of the completed transcripts: against the known text for the synthetic recordings, and
    against the same server's offline (file) transcription for the real call.
Targets are printed, never asserted. Results also go to bench-results/realtime.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import warnings
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
warnings.filterwarnings("ignore")

from bench import Server, encode  # noqa: E402
from tests.realtime import load, pcm24, run_session, silence, transcription_session, word_error_rate  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
TEXTS = {
    "en_weather.wav": "Good morning everyone. Today the weather is sunny and warm, so we will walk to the park after lunch.",
    "en_fox.wav": "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore.",
    "es_beach.wav": "Hola, me llamo Carlos. Hoy hace buen tiempo y vamos a la playa con mis amigos.",
    "de_coffee.wav": "Guten Morgen. Ich trinke jeden Tag einen Kaffee und lese die Zeitung.",
}


def offline(server_url: str, samples: np.ndarray, language: str | None) -> str:
    """The same server's transcription of the whole recording as a file (beam search, full context)."""
    return httpx.post(
        f"{server_url}/v1/audio/transcriptions",
        files={"file": ("audio.wav", encode(samples))},
        data={"model": "whisper-1", "response_format": "text", **({"language": language} if language else {})},
        timeout=600,
    ).text


def programs(server_url: str) -> list[tuple[str, bytes, str, str | None]]:
    """(name, 24 kHz PCM with pauses, reference text, session language): three different recordings.
    Prints what the file endpoint makes of each, the yardstick for the live text."""
    import pyannote.audio

    call = load(Path(pyannote.audio.__file__).parent / "sample" / "sample.wav")
    gap = np.zeros(int(1.5 * 16_000), dtype=np.float32)
    english = np.concatenate([load(FIXTURES / "en_weather.wav"), gap, load(FIXTURES / "en_fox.wav")])
    other = np.concatenate([load(FIXTURES / "es_beach.wav"), gap, load(FIXTURES / "de_coffee.wav")])
    # The language is named where a client would know it; the mixed one is left to detection.
    recordings = [
        ("real phone call (en, 30 s)", call, None, None),
        ("synthetic en (2 clips)", english, f"{TEXTS['en_weather.wav']} {TEXTS['en_fox.wav']}", "en"),
        ("synthetic es + de (detected)", other, f"{TEXTS['es_beach.wav']} {TEXTS['de_coffee.wav']}", None),
    ]
    if COUNCIL:  # --council N: held-out real meetings too (scripts/council.py), the file transcript their yardstick
        import council

        for window in council.windows(council.HELD_OUT, COUNCIL, 2)[:COUNCIL]:
            TRUTH[f"council {window.name}"] = window.turns
            recordings.append((f"council {window.name}", window.samples, None, "en"))
    print("the file endpoint on the same recordings (the live text's yardstick):")
    chosen = []
    for name, samples, reference, language in recordings:
        text = offline(server_url, samples, language)
        if reference is None:  # no human transcript: the file transcription is the reference
            print(f"    {name:<30} reference for the live WER: {text.strip()[:80]}…")
            reference = text
        else:
            print(f"    {name:<30} WER {word_error_rate(reference, text):.1%}")
        chosen.append((name, pcm24(samples) + silence(2), reference, language))
    return chosen


MODEL = "gpt-4o-transcribe"  # --model: e.g. gpt-4o-transcribe-diarize, to time turns with their speakers
DELAY: str | None = None  # --delay: the sessions' `delay` (unset: the server's default, medium)
COUNCIL = 0  # --council: how many held-out council meeting windows to add
TRUTH: dict[str, list[tuple[float, float, str]]] = {}  # a council window's hand-labelled turns, by recording


async def one_session(url: str, pcm: bytes, language: str | None):
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{url}/v1", api_key="unused")
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()  # session.created
        session = transcription_session(language=language, model=MODEL)
        if DELAY:
            session["audio"]["input"]["transcription"]["delay"] = DELAY
        return await run_session(connection, pcm, session=session)


def live_speakers(session, truth: list[tuple[float, float, str]] | None) -> dict | None:
    """DER (collar 0.25 s, overlap scored) of a session's segment events against the hand labels."""
    segments = [event for _, event in session.events if event.type.endswith("input_audio_transcription.segment")]
    if truth is None or not segments:
        return None
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = Annotation(), Annotation()
    for index, (start, end, person) in enumerate(truth):
        reference[Segment(start, end), index] = person
    for index, event in enumerate(segments):
        offset = (session.items[event.item_id].audio_start_ms or 0) / 1000
        hypothesis[Segment(offset + event.start, offset + event.end), index] = event.speaker
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    details = metric(reference, hypothesis, detailed=True)
    return {"der": abs(metric), "scored_seconds": details["total"], "labels": len(hypothesis.labels())}


def summarize(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": float(np.percentile(values, 95)),
        "max": max(values),
    }


async def run_group(url: str, group: list[tuple[str, bytes, str, str | None]]) -> dict:
    sessions = await asyncio.gather(*(one_session(url, pcm, language) for _, pcm, _, language in group))
    first, completed, rows = [], [], []
    for (name, _, reference, _), session in zip(group, sessions, strict=True):
        items = list(session.items.values())
        first += [i.first_delta - i.started for i in items if i.first_delta is not None and i.started is not None]
        completed += [i.completed - i.stopped for i in items if i.completed is not None and i.stopped is not None]
        joined = all("".join(i.deltas) == (i.transcript or "") for i in items if i.completed is not None)
        live = " ".join("".join(i.deltas) for i in items if i.deltas)
        rows.append(
            {
                "recording": name,
                "turns": len(items),
                "wer": word_error_rate(reference, session.transcript),
                "deltas_wer": word_error_rate(reference, live),
                "deltas_join_to_completed": joined,
                "speakers": live_speakers(session, TRUTH.get(name)),
                "errors": [str(e) for e in session.errors],
                "transcript": session.transcript,
                "events": session.types(),
            }
        )
    return {"first_delays": first, "completed_delays": completed, "recordings": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="WHISPER__CPU_THREADS (0: every core)")
    parser.add_argument("--model", default=MODEL, help="the sessions' transcription model")
    parser.add_argument("--sessions", type=int, nargs="*", default=[1, 2, 3], help="how many at once")
    parser.add_argument("--delay", choices=["minimal", "low", "medium", "high", "xhigh"], help="the sessions' delay")
    parser.add_argument("--council", type=int, default=0, help="held-out council meeting windows to add")
    args = parser.parse_args()
    globals()["MODEL"], globals()["DELAY"], globals()["COUNCIL"] = args.model, args.delay, args.council
    server = Server(args.threads, {"REALTIME__MAX_SESSIONS": "8"})
    results: dict[str, dict] = {}
    try:
        recordings = programs(server.url)
        plans = {1: [[r] for r in recordings], 2: [recordings[:2]], 3: [recordings]}
        plans = {count: plans[count] for count in args.sessions}
        for count, groups in plans.items():
            merged: dict = {"groups": [], "recordings": []}
            for group in groups:
                result = asyncio.run(run_group(server.url, group))
                merged["recordings"] += result["recordings"]
                merged["groups"].append(result)
            results[str(count)] = merged
            merged["first_delta"] = summarize([v for g in merged["groups"] for v in g["first_delays"]])
            merged["completed"] = summarize([v for g in merged["groups"] for v in g["completed_delays"]])
            f, c = merged["first_delta"], merged["completed"]
            print(f"\n{count} session(s) at once, every turn:")
            print(
                f"  first delta after speech_started: p50 {f.get('p50', float('nan')):.2f} s, "
                f"p95 {f.get('p95', float('nan')):.2f} s (n={f['n']})  |  completed after speech_stopped: "
                f"p50 {c.get('p50', float('nan')):.2f} s, p95 {c.get('p95', float('nan')):.2f} s (n={c['n']})"
            )
            spoken = [r["speakers"] for r in merged["recordings"] if r.get("speakers")]
            if spoken:
                pooled = sum(s["der"] * s["scored_seconds"] for s in spoken) / sum(s["scored_seconds"] for s in spoken)
                print(
                    f"  live speakers (segment events) against the hand labels: DER {pooled:.1%} over {len(spoken)} meetings"
                )
            for row in merged["recordings"]:
                print(
                    f"    {row['recording']:<30} turns {row['turns']:>2}  WER {row['wer']:.1%} (deltas "
                    f"{row['deltas_wer']:.1%})  "
                    f"deltas join to completed: {row['deltas_join_to_completed']}  errors: {len(row['errors'])}"
                )
    finally:
        peak = server.peak_rss_mb()
        server.stop()
    print(f"\nserver peak RSS {peak:.0f} MB")
    print("targets: first delta p50 <= 1.5 s, completed p50 <= 1.0 s (1 session); within 2x of that with several.")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "realtime.json").write_text(json.dumps({"peak_rss_mb": peak, "sessions": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
