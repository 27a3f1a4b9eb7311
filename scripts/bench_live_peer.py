"""Live text against WhisperLiveKit on read speech neither was tuned on: `make bench-live-peer`.

Read speech: Allison's English prompts from Asterisk's core sounds (a professional voice; each prompt's
text is in the `asterisk-core-sounds-en` package's core-sounds-en.txt), prompts of 6 words or more read
one after another with 0.6-1.2 s pauses, in PROGRAMS different programs of about 40 s. Both servers get
the same programs at real-time pace, one session at a time, with the bundled `base` model (int8):
- ours through the official SDK (server VAD, language `en`), once per `delay` asked for;
- WhisperLiveKit 0.2.26 (faster-whisper, LocalAgreement, its default policy for it; `--pcm-input`,
  language `en`) through its own WebSocket protocol: its committed lines when it says `ready_to_stop`.
Printed: WER of each program's final text against the prompts' text (lowercased, punctuation left out),
pooled over the words; for ours also end of speech -> `completed` and start -> first delta, p50.

WhisperLiveKit is not part of this project's lock; install it beside it, sharing its packages:
    python -m venv /tmp/wlk
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/wlk/lib/python3.11/site-packages/ours.pth
    /tmp/wlk/bin/pip install whisperlivekit==0.2.26
    WLK_SERVER=/tmp/wlk/bin/whisperlivekit-server make bench-live-peer
Without WLK_SERVER only ours runs. `--dev`: the six programs after those four in the same shuffle
(other prompts), to develop on; the four stay held out.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from app.adapters.models.bundled import BUNDLED_MODELS, BundledModelInstaller  # noqa: E402
from app.config.settings import Settings  # noqa: E402
from bench import Server  # noqa: E402
from tests.realtime import pcm24, run_session, silence, transcription_session, word_error_rate  # noqa: E402
from voices import ASTERISK, CACHE, decode, fetch, trim  # noqa: E402

RATE = 16_000
PROGRAMS = 4  # reported, held out: nothing is tuned on them
DEVELOPMENT_PROGRAMS = 6  # `--dev`: the next ones of the same shuffle, other prompts, to develop on
PROGRAM_SECONDS = 40.0
MIN_WORDS = 6


def prompt_texts() -> dict[str, str]:
    """Prompt name -> what Allison says, from the text package (downloaded once, unpacked, not installed)."""
    folder = CACHE / "core-sounds-en"
    found = list(folder.glob("asterisk-core-sounds-en_*.deb"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", "asterisk-core-sounds-en"], cwd=folder, check=True, capture_output=True)
        found = list(folder.glob("asterisk-core-sounds-en_*.deb"))
    unpacked = folder / "root"
    if not unpacked.exists():
        subprocess.run(["dpkg-deb", "-x", str(found[0]), str(unpacked)], check=True)
    listing = unpacked / "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
    texts = {}
    for line in gzip.decompress(listing.read_bytes()).decode("utf-8", "replace").splitlines():
        name, _, text = line.partition(": ")
        if text and not line.startswith(";") and "[" not in text and "/" not in name:
            texts[name.strip()] = " ".join(text.split())
    return texts


def programs(development: bool = False) -> list[tuple[str, np.ndarray, str]]:
    """(name, 16 kHz samples, reference text): different prompts in each program; the held-out ones, or
    with `development` the ones after them."""
    voice = fetch() / ASTERISK / "en_US_f_Allison"
    texts = prompt_texts()
    chosen = sorted(n for n, t in texts.items() if len(t.split()) >= MIN_WORDS and (voice / f"{n}.g722").exists())
    random.Random(3).shuffle(chosen)
    rng = np.random.default_rng(3)
    out = []
    for index in range(PROGRAMS + (DEVELOPMENT_PROGRAMS if development else 0)):
        parts, words, seconds = [], [], 0.0
        while chosen and seconds < PROGRAM_SECONDS:
            name = chosen.pop()
            clip = trim(decode(voice / f"{name}.g722", "g722"))
            pause = np.zeros(int(rng.uniform(0.6, 1.2) * RATE), dtype=np.float32)
            parts += [clip, pause]
            words.append(texts[name])
            seconds += (clip.size + pause.size) / RATE
        out.append((f"read en #{index} ({seconds:.0f} s)", np.concatenate(parts), " ".join(words)))
    return out[PROGRAMS:] if development else out


async def ours(url: str, samples: np.ndarray, delay: str | None):
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{url}/v1", api_key="unused")
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()  # session.created
        session = transcription_session(language="en")
        if delay:
            session["audio"]["input"]["transcription"]["delay"] = delay
        return await run_session(connection, pcm24(samples) + silence(2), session=session)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Peer:
    """WhisperLiveKit's server on the bundled `base` model, as its README starts it."""

    def __init__(self, command: str) -> None:
        model = BundledModelInstaller(Settings.from_env().data_path).path(BUNDLED_MODELS["base"])
        self.port = free_port()
        self.process = subprocess.Popen(
            [command, "--host", "127.0.0.1", "--port", str(self.port), "--backend", "faster-whisper"]
            + ["--backend-policy", "localagreement", "--model_dir", str(model), "--lan", "en", "--pcm-input"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(1)
        raise RuntimeError("WhisperLiveKit did not start")

    async def transcribe(self, samples: np.ndarray) -> str:
        import websockets

        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes() + bytes(2 * RATE * 2)
        step = RATE * 2 // 10  # 100 ms
        last: dict = {}
        async with websockets.connect(f"ws://127.0.0.1:{self.port}/asr?language=en", max_size=None) as socket_:

            async def send() -> None:
                began = time.monotonic()
                for index, offset in enumerate(range(0, len(pcm), step)):
                    await socket_.send(pcm[offset : offset + step])
                    await asyncio.sleep(max(0.0, began + (index + 1) * 0.1 - time.monotonic()))
                await socket_.send(b"")  # the end of the audio

            sender = asyncio.create_task(send())
            async for message in socket_:
                event = json.loads(message)
                if event.get("type") == "ready_to_stop":
                    break
                if "lines" in event:
                    last = event
            await sender
        lines = [line.get("text", "") for line in last.get("lines", []) if line.get("text")]
        return " ".join([*lines, last.get("buffer_transcription", "")]).strip()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)


DIGITS = "zero one two three four five six seven eight nine".split()


def spoken(text: str) -> str:
    """Single digits as words, as the prompts mix them ("press 1", "press one")."""
    return " ".join(DIGITS[int(w)] if w.isdigit() and len(w) == 1 else w for w in text.replace(",", " ").split())


def wer(reference: str, hypothesis: str) -> float:
    return word_error_rate(spoken(reference), spoken(hypothesis))


def pooled(rows: list[tuple[str, str]]) -> float:
    """WER over every program's words together."""
    errors = sum(wer(ref, hyp) * len(ref.split()) for ref, hyp in rows)
    return errors / sum(len(ref.split()) for ref, _ in rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", nargs="*", default=["low", "medium"], help="our sessions' `delay` values")
    parser.add_argument("--dev", action="store_true", help="the development programs, not the reported ones")
    args = parser.parse_args()
    made = programs(development=args.dev)
    print(f"{len(made)} programs, {sum(len(t.split()) for _, _, t in made)} words of Allison's read prompts\n")
    results: dict[str, dict] = {}
    transcripts: dict[str, str] = {f"reference: {name}": text for name, _, text in made}
    server = Server(threads=0)
    try:
        for delay in args.delay:
            rows, firsts, completes = [], [], []
            for name, samples, reference in made:
                session = asyncio.run(ours(server.url, samples, delay))
                rows.append((reference, session.transcript))
                transcripts[f"ours, delay {delay}: {name}"] = session.transcript
                items = list(session.items.values())
                firsts += [i.first_delta - i.started for i in items if i.first_delta and i.started is not None]
                completes += [i.completed - i.stopped for i in items if i.completed and i.stopped is not None]
                print(f"ours, delay {delay:<7} {name:<20} WER {wer(reference, session.transcript):.1%}")
            results[f"ours, delay {delay}"] = {
                "wer": pooled(rows),
                "first_delta_p50": statistics.median(firsts) if firsts else None,
                "completed_p50": statistics.median(completes) if completes else None,
            }
    finally:
        server.stop()
    command = os.environ.get("WLK_SERVER")
    if command:
        peer = Peer(command)
        try:
            rows = []
            for name, samples, reference in made:
                text = asyncio.run(peer.transcribe(samples))
                rows.append((reference, text))
                transcripts[f"WhisperLiveKit: {name}"] = text
                print(f"WhisperLiveKit 0.2.26   {name:<20} WER {wer(reference, text):.1%}")
            results["WhisperLiveKit 0.2.26"] = {"wer": pooled(rows)}
        finally:
            peer.close()
    title = "development programs" if args.dev else "read English neither was tuned on"
    print(f"\n| live, {title} | WER | start -> first delta, p50 | end -> completed, p50 |")
    print("| --- | --- | --- | --- |")
    for who, result in results.items():
        first, done = result.get("first_delta_p50"), result.get("completed_p50")
        print(
            f"| {who} | {result['wer']:.1%} | {'' if first is None else f'{first:.2f} s'} | "
            f"{'' if done is None else f'{done:.2f} s'} |"
        )
    out = ROOT / "bench-results" / ("live_peer_dev.json" if args.dev else "live_peer.json")
    out.write_text(json.dumps({"results": results, "transcripts": transcripts}, indent=1) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
