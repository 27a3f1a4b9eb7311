"""Server vs library, same audio and model, one run: `make bench` (options: --skip-hour, --threads N).

Prints a table and writes bench-results/bench.json. Targets are printed, never asserted.
Audio: pyannote.audio's sample.wav (a real phone call) repeated to 3 minutes for long-form,
short clips (<= 10 s) cut from it plus the espeak fixtures, and for the memory check one hour
of the call encoded as Opus (the upload stays under 25 MB).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import av
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")
SAMPLE_RATE = 16_000


def sample_call() -> np.ndarray:
    import pyannote.audio

    from app.adapters.audio import PyAVDecoder

    path = Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"
    return PyAVDecoder().decode(io.BytesIO(path.read_bytes())).samples


def encode(samples: np.ndarray, fmt: str = "wav") -> bytes:
    out = io.BytesIO()
    codec, rate = {"wav": ("pcm_s16le", SAMPLE_RATE), "ogg": ("libopus", 48_000)}[fmt]
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        if fmt == "ogg":
            stream.bit_rate = 24_000
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for start in range(0, samples.size, SAMPLE_RATE * 10):
            block = (np.clip(samples[start : start + SAMPLE_RATE * 10], -1, 1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    container.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def short_clips(call: np.ndarray) -> list[tuple[str, np.ndarray]]:
    from app.adapters.audio import PyAVDecoder

    clips = [(f"call {s}-{e}s", call[s * SAMPLE_RATE : e * SAMPLE_RATE]) for s, e in ((6, 14), (14, 21), (21, 30))]
    for name in ("en_fox.wav", "de_coffee.wav"):
        clips.append((name, PyAVDecoder().decode(io.BytesIO((ROOT / "tests" / "fixtures" / name).read_bytes())).samples))
    return clips


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


# ---------------------------------------------------------------- library baseline


def library(long: np.ndarray, clips, threads: int, repeats: int) -> dict:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from app.adapters.models.bundled import BUNDLED_MODELS, BundledModelInstaller
    from app.config.settings import Settings

    path = BundledModelInstaller(Settings.from_env().data_path).path(BUNDLED_MODELS["base"])
    pipeline = BatchedInferencePipeline(WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads))

    def run(samples: np.ndarray) -> float:
        started = time.perf_counter()
        segments, _ = pipeline.transcribe(samples, batch_size=8)
        list(segments)
        return time.perf_counter() - started

    run(clips[0][1])  # warm
    long_seconds = min(run(long) for _ in range(2))
    latencies = [run(samples) for _ in range(repeats) for _, samples in clips]
    return {"long_rtfx": long.size / SAMPLE_RATE / long_seconds, "short_p50": percentile(latencies, 50),
            "short_p95": percentile(latencies, 95)}


# ---------------------------------------------------------------- our server over HTTP


class Server:
    def __init__(self, threads: int, extra_env: dict[str, str] | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "UVICORN_HOST": "127.0.0.1", "UVICORN_PORT": str(self.port), "LOG_LEVEL": "WARNING",
               "ALLOW_DOWNLOADS": "false", "WHISPER__CPU_THREADS": str(threads), "WHISPER__MODEL": "base",
               **(extra_env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/healthcheck", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("the server did not start")

    def transcribe(self, data: bytes, **fields: str) -> float:
        started = time.perf_counter()
        response = httpx.post(f"{self.url}/v1/audio/transcriptions", files={"file": ("audio", data)},
                              data={"model": "whisper-1", **fields}, timeout=3600)
        response.raise_for_status()
        return time.perf_counter() - started

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def server(long: np.ndarray, clips, threads: int, repeats: int) -> dict:
    srv = Server(threads)
    try:
        long_wav = encode(long)
        clip_wavs = [(name, encode(samples), samples.size / SAMPLE_RATE) for name, samples in clips]
        srv.transcribe(clip_wavs[0][1], align="false")  # warm
        plain = {"align": "false"}  # the same work as the library: no word alignment
        long_seconds = min(srv.transcribe(long_wav, **plain) for _ in range(2))
        aligned_seconds = srv.transcribe(long_wav)
        latencies = [srv.transcribe(data, **plain) for _ in range(repeats) for _, data, _ in clip_wavs]

        def load(clients: int) -> tuple[float, list[float]]:
            work = [data for _, data, _ in clip_wavs] * 2
            seconds_of_audio = sum(d for _, _, d in clip_wavs) * 2 * clients
            health: list[float] = []
            stop = threading.Event()

            def poll() -> None:
                with httpx.Client(timeout=10) as client:
                    while not stop.is_set():
                        t0 = time.perf_counter()
                        client.get(f"{srv.url}/healthcheck")
                        health.append(time.perf_counter() - t0)
                        time.sleep(0.02)

            def client_loop() -> None:
                for data in work:
                    srv.transcribe(data, **plain)

            poller = threading.Thread(target=poll)
            poller.start()
            started = time.perf_counter()
            workers = [threading.Thread(target=client_loop) for _ in range(clients)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            wall = time.perf_counter() - started
            stop.set()
            poller.join()
            return seconds_of_audio / wall, health

        one_rtfx, _ = load(1)
        four_rtfx, health = load(4)
        return {"long_rtfx": long.size / SAMPLE_RATE / long_seconds,
                "long_aligned_rtfx": long.size / SAMPLE_RATE / aligned_seconds,
                "short_p50": percentile(latencies, 50), "short_p95": percentile(latencies, 95),
                "one_client_rtfx": one_rtfx, "four_clients_rtfx": four_rtfx,
                "health_p99_ms": percentile(health, 99) * 1000, "peak_rss_mb": srv.peak_rss_mb()}
    finally:
        srv.stop()


def hour_memory(call: np.ndarray, threads: int) -> dict:
    from app.adapters.models.bundled import BUNDLED_MODELS, BundledModelInstaller
    from app.config.settings import Settings

    hour = np.tile(call, 120)
    data = encode(hour, "ogg")
    srv = Server(threads)
    try:
        baseline = srv.peak_rss_mb()
        seconds = srv.transcribe(data, align="false")
        model_dir = BundledModelInstaller(Settings.from_env().data_path).path(BUNDLED_MODELS["base"])
        model_mb = (model_dir / "model.bin").stat().st_size / 1e6
        return {"upload_mb": len(data) / 1e6, "seconds": seconds, "rtfx": hour.size / SAMPLE_RATE / seconds,
                "idle_rss_mb": baseline, "peak_rss_mb": srv.peak_rss_mb(), "model_mb": model_mb}
    finally:
        srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-hour", action="store_true", help="skip the one-hour memory run (about 5 minutes)")
    args = parser.parse_args()

    call = sample_call()
    long = np.tile(call, 6)  # 3 minutes of real conversation
    clips = short_clips(call)
    print(f"base model, int8, {args.threads} threads, CPU; long audio {long.size / SAMPLE_RATE:.0f} s, {len(clips)} short clips")
    lib = library(long, clips, args.threads, args.repeats)
    ours = server(long, clips, args.threads, args.repeats)
    hour = None if args.skip_hour else hour_memory(call, args.threads)

    rows = [
        ("long audio RTFx (no alignment)", f"{lib['long_rtfx']:.1f}", f"{ours['long_rtfx']:.1f}",
         f"{ours['long_rtfx'] / lib['long_rtfx']:.2f}", ">= 0.90"),
        ("long audio RTFx, word alignment on", "-", f"{ours['long_aligned_rtfx']:.1f}", "-", "-"),
        ("short clip latency p50 (s)", f"{lib['short_p50']:.2f}", f"{ours['short_p50']:.2f}",
         f"{ours['short_p50'] / lib['short_p50']:.2f}", "<= 1.15"),
        ("short clip latency p95 (s)", f"{lib['short_p95']:.2f}", f"{ours['short_p95']:.2f}",
         f"{ours['short_p95'] / lib['short_p95']:.2f}", "-"),
        ("4 clients aggregate RTFx / 1 client", "-", f"{ours['four_clients_rtfx']:.1f} / {ours['one_client_rtfx']:.1f}",
         f"{ours['four_clients_rtfx'] / ours['one_client_rtfx']:.2f}", ">= 1.00"),
        ("/healthcheck p99 under 4 clients (ms)", "-", f"{ours['health_p99_ms']:.1f}", "-", "< 50"),
        ("server peak RSS (MB)", "-", f"{ours['peak_rss_mb']:.0f}", "-", "-"),
    ]
    if hour:
        rows.append(("1 h file: peak RSS (MB), idle before", "-", f"{hour['peak_rss_mb']:.0f} ({hour['idle_rss_mb']:.0f})",
                     f"+{hour['peak_rss_mb'] - hour['idle_rss_mb']:.0f}", f"<= model {hour['model_mb']:.0f} + 600"))
        rows.append(("1 h file: RTFx", "-", f"{hour['rtfx']:.1f}", "-", "-"))
    widths = [max(len(str(r[i])) for r in rows + [("", "library", "server", "ratio", "target")]) for i in range(5)]
    header = ("measure", "library", "server", "ratio", "target")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps({"threads": args.threads, "library": lib, "server": ours, "hour": hour}, indent=2))
    print(f"\nwritten to {out / 'bench.json'}")


if __name__ == "__main__":
    main()
