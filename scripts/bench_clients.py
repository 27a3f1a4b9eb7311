"""Many clients at once, short clips, and what fitted windows do to accuracy: part of `make bench`.

Recordings: real read speech by seven different people in five languages (the Asterisk prompt voices
that scripts/voices.py fetches from Debian packages), joined into 16 clips of 5-30 s, none repeated.
Rows:
- 1, 2, 4 and 8 clients at once, each sending all 16 clips from a different one on: aggregate ×RT,
  p50/p95 latency;
  the library (faster-whisper's BatchedInferencePipeline, per clip, one at a time) in the same run.
- What batching the model's calls across requests can give 8 clients at best on this machine: one
  client's calls replayed in full batches (`batching_ceiling`).
- Short clips (≤ 15 s), one client: server p50 latency over the library's (each clip's best of two on
  both sides).
- The 16 clips in one file: server against the library (seconds, words) and the stream's first delta.
  Both decode a file in the one language they detect, so on this five-language file their words differ
  by design (the server detects English from its first speech and renders the rest in English).
- Fitted windows (WHISPER__FIT_WINDOWS) on and off, in-process on the same model: WER on clips whose
  words are known (Allison's spelling alphabet, months and days: 30 clips), and how many words of the
  16 real clips change.
Targets are printed, never asserted.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import voices  # noqa: E402  (scripts/voices.py)
from tests.realtime import word_error_rate  # noqa: E402

SAMPLE_RATE = 16_000
CLIP_SECONDS = (5, 7, 9, 11, 13, 15, 20, 25, 30, 6, 8, 10, 12, 14, 18, 28)
NATO = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
    "quebec romeo sierra tango uniform victor whiskey x-ray yankee zulu"
).split()
MONTHS = "january february march april may june july august september october november december".split()
DAYS = "sunday monday tuesday wednesday thursday friday saturday".split()
ALLISON = f"{voices.ASTERISK}/en_US_f_Allison"


def pause(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def real_clips() -> list[tuple[str, np.ndarray]]:
    """16 clips of 5-30 s, each one person's consecutive prompts with 0.5 s between them."""
    root = voices.fetch()
    people = [p for p in (*voices.DEVELOPMENT, *voices.HELD_OUT) if p.kind == "sentences"]
    pools = {p.name: voices.utterances(p, root, limit=200) for p in people}
    clips = []
    for index, seconds in enumerate(CLIP_SECONDS):
        person = people[index % len(people)]
        pieces: list[np.ndarray] = []
        while pools[person.name] and sum(p.size for p in pieces) < (seconds - 0.5) * SAMPLE_RATE:
            pieces += [pools[person.name].pop(0), pause(0.5)]
        clip = np.concatenate(pieces)[: seconds * SAMPLE_RATE]
        clips.append((f"{person.name}, {clip.size / SAMPLE_RATE:.0f} s", clip))
    return clips


def known_text_clips() -> list[tuple[str, np.ndarray, str]]:
    """30 clips of 6-32 s whose words are known: Allison's spelling alphabet, months and days, six
    of set vocabularies and 24 of random mixes with pauses of 0.2-0.6 s between the words."""
    root = voices.fetch() / ALLISON
    words = {
        **{w: root / "phonetic" / f"{chr(97 + i)}_p.g722" for i, w in enumerate(NATO)},
        **{w: root / "digits" / f"mon-{i}.g722" for i, w in enumerate(MONTHS)},
        **{w: root / "digits" / f"day-{i}.g722" for i, w in enumerate(DAYS)},
    }
    sounds = {w: voices.trim(voices.decode(path, "g722")) for w, path in words.items() if path.exists()}
    rng, mixed = random.Random(25), random.Random(7)
    plans = [
        (NATO, 12, 0.35),
        (MONTHS, 10, 0.35),
        (DAYS, 9, 0.35),
        (NATO, 20, 0.35),
        (MONTHS, 16, 0.35),
        (NATO + DAYS, 24, 0.35),
    ]
    chosen_lists = [
        ([rng.choice([w for w in vocabulary if w in sounds]) for _ in range(count)], gap)
        for vocabulary, count, gap in plans
    ]
    for _ in range(24):
        count = mixed.randint(6, 26)
        chosen = [mixed.choice(list(sounds)) for _ in range(count)]
        chosen_lists.append((chosen, mixed.choice([0.2, 0.35, 0.6])))
    clips = []
    for index, (chosen, gap) in enumerate(chosen_lists):
        audio = np.concatenate([piece for w in chosen for piece in (sounds[w], pause(gap))])
        clips.append((f"known words {index + 1}, {audio.size / SAMPLE_RATE:.0f} s", audio, " ".join(chosen)))
    return clips


def library_pipeline(threads: int):
    """The library the server is measured against: faster-whisper's BatchedInferencePipeline on the
    bundled `base`, int8, CPU. Loaded at its best, as the server loads its models: on a thread that
    ends with the load (app/adapters/native_threads.py). Loaded in the main thread, as faster-whisper's
    README does, it keeps an OpenMP team beside the model's and ran 25 % slower here (the 122 s file
    5.0-5.3 s against 3.8-4.7 s)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from app.adapters.models.bundled import BUNDLED_MODELS, BundledModelInstaller
    from app.adapters.native_threads import on_own_thread
    from app.config.settings import Settings

    path = BundledModelInstaller(Settings.from_env().data_path).path(BUNDLED_MODELS["base"])
    model = on_own_thread(
        lambda: WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads),
        name="load library model",
    )
    return BatchedInferencePipeline(model)


def library_latencies(clips: list[tuple[str, np.ndarray]], threads: int) -> dict[str, float]:
    """Seconds per clip for the library, one clip at a time (best of two)."""
    pipeline = library_pipeline(threads)

    def run(samples: np.ndarray) -> float:
        started = time.perf_counter()
        segments, _ = pipeline.transcribe(samples, batch_size=8)
        list(segments)
        return time.perf_counter() - started

    run(clips[0][1])
    return {name: min(run(samples), run(samples)) for name, samples in clips}


def clients_rows(url_transcribe, uploads: list[tuple[str, bytes, float]]) -> list[dict]:
    """For 1, 2, 4, 8 clients at once: each sends every clip, one after another, starting at a
    different one (client i at clip 2i), so the clips in flight together differ."""
    rows = []
    for clients in (1, 2, 4, 8):
        latencies: dict[tuple[int, str], float] = {}
        shares = [uploads[2 * i :] + uploads[: 2 * i] for i in range(clients)]

        def client(index: int, share: list[tuple[str, bytes, float]], latencies=latencies) -> None:
            for name, data, _ in share:
                latencies[index, name] = url_transcribe(data)

        started = time.perf_counter()
        workers = [threading.Thread(target=client, args=(index, share)) for index, share in enumerate(shares)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
        values = list(latencies.values())
        rows.append(
            {
                "clients": clients,
                "rtfx": clients * sum(s for _, _, s in uploads) / wall,
                "wall": wall,
                "p50": float(np.percentile(values, 50)),
                "p95": float(np.percentile(values, 95)),
                "latencies": {name: seconds for (index, name), seconds in latencies.items() if index == 0},
            }
        )
    return rows


def in_process(threads: int, **settings: str):
    """The server's transcriber on the bundled `base`, as `make run` builds it (plus `settings`), and
    the request options of a default request."""
    from app.config.settings import Settings
    from app.container import build_container
    from app.domain.models import TranscriptionOptions

    container = build_container(
        Settings.from_env(
            {"ALLOW_DOWNLOADS": "false", "WHISPER__MODEL": "base", "WHISPER__CPU_THREADS": str(threads), **settings}
        )
    )
    return container.transcription.transcriber(), TranscriptionOptions(
        model="base", batch_size=container.core.batch_size()
    )


def pcm_audio(samples: np.ndarray):
    from app.domain.models import Audio

    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    return Audio(samples=pcm, duration=pcm.size / SAMPLE_RATE)


def batching_ceiling(clips: list[tuple[str, np.ndarray]], threads: int, clients: int = 8) -> dict:
    """What batching the model's calls across requests can give `clients` clients at best on this
    machine, in-process. Over HTTP the clients' ratio also holds what one client leaves idle between
    its requests and in its single-threaded steps, which other clients fill, so it can come out
    higher than this (1.33 against 1.20 in one run). The 16 clips are transcribed in-process one at a
    time, recording every call that goes through the shared batches (encoder, language detection,
    decoder); then those calls are replayed as `clients` clients would hand them in, in the best case:
    each operation's and window length's rows of every client in full batches of
    WHISPER__SHARED_BATCH_SIZE, through the server's own model paths. What the batches save is taken off
    the one-at-a-time time; VAD, features and the rest stay per request. (Over HTTP, decoding the upload
    and the request itself add to both sides.)"""
    transcriber, options = in_process(threads)
    model = transcriber.models.get("base")
    batch = model.batches.max_windows  # WHISPER__SHARED_BATCH_SIZE: what requests at once may share
    calls: list[tuple[str, np.ndarray, list | None, dict | None]] = []  # operation, rows, prompts, search
    encode, languages, generate = model.encode, model.window_languages, model.generate

    def recorded_encode(features, wait_for_company=True):
        calls.append(("encode", np.array(features if features.ndim == 3 else features[np.newaxis]), None, None))
        return encode(features, wait_for_company)

    def recorded_languages(encoder_output, wait_for_company=True):
        calls.append(("detect", np.array(encoder_output), None, None))
        return languages(encoder_output, wait_for_company)

    def recorded_generate(encoder_output, prompts, search):
        calls.append(("generate", np.array(encoder_output), prompts, search))
        return generate(encoder_output, prompts, search)

    audios = [pcm_audio(samples) for _, samples in clips]
    transcriber.transcribe(audios[0], options)  # warm
    model.encode, model.window_languages, model.generate = recorded_encode, recorded_languages, recorded_generate
    started = time.perf_counter()
    for audio in audios:
        transcriber.transcribe(audio, options)
    one_at_a_time = time.perf_counter() - started
    del model.encode, model.window_languages, model.generate  # the class's own methods again

    def timed(batches: list[tuple[str, np.ndarray, list | None, dict | None]]) -> float:
        started = time.perf_counter()
        for operation, rows, prompts, search in batches:
            if operation == "encode":
                model._encode_rows(rows, [None] * len(rows))
            elif operation == "detect":
                model._detect_rows(rows, [None] * len(rows))
            else:
                model.generate_rows(rows, prompts, search)
        return time.perf_counter() - started

    # operation, window length and search -> every client's rows of it, in order, with prompt and search
    shared: dict[tuple, list] = {}
    for operation, rows, prompts, search in calls:
        key = (operation, rows.shape[1:], tuple(sorted(search.items())) if search else ())
        shared.setdefault(key, []).extend(
            list(zip(rows, prompts or [None] * len(rows), [search] * len(rows))) * clients
        )
    batched = []
    for (operation, *_), rows in shared.items():
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            batched.append(
                (operation, np.stack([row for row, _, _ in part]), [prompt for _, prompt, _ in part], part[0][2])
            )
    model_alone = timed(calls)
    model_batched = timed(batched) / clients
    rest = one_at_a_time - model_alone
    return {
        "clients": clients,
        "batch": batch,
        "one_at_a_time": one_at_a_time,
        "model_alone": model_alone,
        "model_batched": model_batched,
        "decoder_calls": sum(call[0] == "generate" for call in calls),
        "ceiling": one_at_a_time / (rest + model_batched),
    }


def ceiling_in_own_process(threads: int) -> dict:
    """`batching_ceiling` in a process of its own: in the bench's, the library's and the accuracy
    check's models are loaded too, and each loaded model's OpenMP team slows the others' (23 s for the
    16 clips instead of 13 s; docs/performance.md)."""
    out = subprocess.run(
        [sys.executable, __file__, "--ceiling", str(threads)], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def window_accuracy(
    clips: list[tuple[str, np.ndarray]], known: list[tuple[str, np.ndarray, str]], threads: int
) -> dict:
    """WER on the known-text clips and words changed on the real clips, fitted windows on and off."""

    def transcripts(fit: bool) -> dict[str, str]:
        transcriber, options = in_process(threads, WHISPER__FIT_WINDOWS=str(fit).lower())
        out = {}
        for name, samples in [*clips, *[(n, s) for n, s, _ in known]]:
            transcript = transcriber.transcribe(pcm_audio(samples), options, time_words=lambda _: True)
            out[name] = " ".join(segment.text for segment in transcript.segments)
            timings[fit][name] = [(w.word, w.start, w.end) for w in transcript.words]
        return out

    timings: dict[bool, dict[str, list]] = {False: {}, True: {}}
    full, fitted = transcripts(False), transcripts(True)
    # Word times of the words both settings heard alike, in order: how far apart their edges are.
    shifts = [
        abs(a[1] - b[1])
        for name in timings[False]
        for a, b in zip(timings[False][name], timings[True][name])
        if a[0] == b[0]
    ] or [0.0]
    references = {name: text for name, _, text in known}
    changed = sum(word_error_rate(full[name], fitted[name]) * max(1, len(full[name].split())) for name, _ in clips)
    words = sum(len(full[name].split()) for name, _ in clips)

    def pooled(hypotheses: dict[str, str]) -> float:
        errors = sum(word_error_rate(ref, hypotheses[name]) * len(ref.split()) for name, ref in references.items())
        return errors / sum(len(ref.split()) for ref in references.values())

    return {
        "wer_full": pooled(full),
        "wer_fitted": pooled(fitted),
        "real_words": words,
        "word_start_shift_p50_ms": float(np.median(shifts)) * 1000,
        "word_start_shift_p95_ms": float(np.percentile(shifts, 95)) * 1000,
        "real_words_changed": changed,
        "examples": {n: (full[n], fitted[n]) for n in full if full[n] != fitted[n]},
    }


def encode_wav(samples: np.ndarray) -> bytes:
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return out.getvalue()


def long_file(server, clips: list[tuple[str, np.ndarray]], threads: int) -> dict:
    """The 16 clips in one file with 1 s between them: seconds and words, server (plain and the
    stream's first delta) against the library."""
    samples = np.concatenate([piece for _, clip in clips for piece in (clip, pause(1.0))])
    data = encode_wav(samples)
    server_seconds, body = server.request(data)
    text = body["text"]
    first_delta, _ = server.stream(data)
    pipeline = library_pipeline(threads)
    started = time.perf_counter()
    segments, _ = pipeline.transcribe(samples, batch_size=8)
    library_text = " ".join(s.text for s in segments)
    library_seconds = time.perf_counter() - started
    return {
        "seconds_of_audio": samples.size / SAMPLE_RATE,
        "server_seconds": server_seconds,
        "library_seconds": library_seconds,
        "server_words": len(text.split()),
        "library_words": len(library_text.split()),
        "first_delta": first_delta,
        "word_difference": word_error_rate(library_text, text),
    }


def run(server, threads: int) -> dict:
    """Every row, on `server` (scripts/bench.py's Server, already warm)."""
    clips = real_clips()
    uploads = [(name, encode_wav(samples), samples.size / SAMPLE_RATE) for name, samples in clips]
    library = library_latencies(clips, threads)
    long = long_file(server, clips, threads)
    rows = clients_rows(server.transcribe, uploads)
    seconds = {name: s for name, _, s in uploads}
    short = [name for name in seconds if seconds[name] <= 15]
    # Each short clip's best of two, as the library's latencies are (the 1-client row sends each once).
    alone = {name: min(server.transcribe(data), server.transcribe(data)) for name, data, _ in uploads if name in short}
    accuracy = window_accuracy(clips, known_text_clips(), threads)
    return {
        "library": library,
        "rows": rows,
        "audio_seconds": sum(seconds.values()),
        "ceiling": ceiling_in_own_process(threads),
        "short_clip_p50_server": float(np.median([alone[n] for n in short])),
        "short_clip_p50_library": float(np.median([library[n] for n in short])),
        "library_rtfx": sum(seconds.values()) / sum(library.values()),
        "accuracy": accuracy,
        "long": long,
    }


def report(result: dict) -> None:
    print(
        f"\n16 real clips ({result['audio_seconds']:.0f} s, 7 people, 5 languages), each of N clients at once "
        "sending all of them:"
    )
    print(f"  library, one clip at a time: {result['library_rtfx']:.1f} ×RT")
    one = result["rows"][0]["rtfx"]
    for row in result["rows"]:
        print(
            f"  {row['clients']} client(s): {row['rtfx']:.1f} ×RT aggregate ({row['rtfx'] / one:.2f}× one client), "
            f"latency p50 {row['p50']:.2f} s, p95 {row['p95']:.2f} s"
        )
    ceiling = result["ceiling"]
    print(
        f"  the model's calls in full batches would give {ceiling['clients']} clients {ceiling['ceiling']:.2f}× one client "
        f"(in-process, one clip at a time {ceiling['one_at_a_time']:.1f} s, of which the model's shared calls "
        f"{ceiling['model_alone']:.1f} s; the same {ceiling['decoder_calls']} decoder calls, their encoder calls and language detections in "
        f"full batches of {ceiling['batch']}: {ceiling['model_batched']:.1f} s per client)"
    )
    ratio = result["short_clip_p50_server"] / result["short_clip_p50_library"]
    print(
        f"  clips ≤ 15 s, one client, each the best of two: server p50 {result['short_clip_p50_server']:.2f} s, library "
        f"{result['short_clip_p50_library']:.2f} s: {ratio:.2f} of the library's"
    )
    long = result["long"]
    print(
        f"  the 16 clips in one file ({long['seconds_of_audio']:.0f} s): server {long['server_seconds']:.1f} s, library "
        f"{long['library_seconds']:.1f} s ({long['library_seconds'] / long['server_seconds']:.2f}× the library's speed); "
        f"words: server {long['server_words']}, library {long['library_words']} ({long['word_difference']:.1%} "
        f"apart); stream first delta {long['first_delta']:.2f} s"
    )
    acc = result["accuracy"]
    print(
        f"fitted windows: WER on known words {acc['wer_full']:.1%} with 30 s windows, {acc['wer_fitted']:.1%} fitted; "
        f"real clips: {acc['real_words_changed']:.0f} of {acc['real_words']} words changed; word starts moved "
        f"p50 {acc['word_start_shift_p50_ms']:.0f} ms, p95 {acc['word_start_shift_p95_ms']:.0f} ms"
    )
    for name, (full, fitted) in list(acc["examples"].items())[:6]:
        print(f"    {name}: 30 s «{full[:90]}» / fitted «{fitted[:90]}»")
    print("targets (issue 25):")
    for line in verdicts(result):
        print(f"  {line}")


def mark(met: bool) -> str:
    """A target's verdict, padded so the lines after it align."""
    return "met    " if met else "NOT MET"


def verdicts(result: dict) -> list[str]:
    """Each target of issue 25 with what this run measured, and for a missed one what limits it."""
    rows, ceiling, long, acc = result["rows"], result["ceiling"], result["long"], result["accuracy"]
    eight = rows[-1]["rtfx"] / rows[0]["rtfx"]
    short = result["short_clip_p50_server"] / result["short_clip_p50_library"]
    speed = long["library_seconds"] / long["server_seconds"]
    rest = ceiling["one_at_a_time"] - ceiling["model_alone"]
    lines = [
        f"{mark(eight >= 1.8)} {rows[-1]['clients']} clients at once >= 1.8× one client's throughput: {eight:.2f}×"
    ]
    if eight < 1.8:
        lines.append(
            f"          limit: the model's calls of {ceiling['clients']} clients in full batches of {ceiling['batch']} "
            f"would give {ceiling['ceiling']:.2f}× on this machine: of one client's {ceiling['one_at_a_time']:.1f} s, "
            f"{rest:.1f} s are outside the shared model calls (VAD, features, segments, the "
            f"transcript) and the model's calls shrink only from {ceiling['model_alone']:.1f} to "
            f"{ceiling['model_batched']:.1f} s per client batched"
        )
    lines += [
        f"{mark(short <= 0.5)} clips <= 15 s: server p50 <= 0.5 of the library's: {short:.2f}",
        f"{mark(speed >= 1.0)} a long file ({long['seconds_of_audio']:.0f} s) >= 1.0× the library's speed: {speed:.2f}×",
        f"{mark(long['first_delta'] <= 1.5)} first streamed delta <= 1.5 s: {long['first_delta']:.2f} s",
        f"{mark(acc['wer_fitted'] <= acc['wer_full'])} fitted windows' WER <= 30 s windows': "
        f"{acc['wer_fitted']:.1%} against {acc['wer_full']:.1%}",
    ]
    return lines


if __name__ == "__main__":  # `--ceiling THREADS`: batching_ceiling's result as JSON on the last line
    import warnings

    warnings.filterwarnings("ignore")
    if sys.argv[1:2] != ["--ceiling"] or len(sys.argv) != 3:
        raise SystemExit("usage: bench_clients.py --ceiling THREADS (the rest runs from scripts/bench.py)")
    print(json.dumps(batching_ceiling(real_clips(), int(sys.argv[2]))))
