"""What one client can cost everyone else: `make bench-reliability` (`--only NAME ...`, `--server-root DIR`).

Each row runs against a fresh server (`python -m app`, default settings, the bundled base model) while
another thread asks `/healthcheck` every 20 ms; its slowest answer is the event loop's worst stall.
- hangup: a plain request uploads an hour of meeting audio (Opus) and its client closes the connection
  3 s after the upload; seconds until the inference slot is free, and the server's CPU 10-15 s later.
- fields: 100 000 empty form fields beside a file, and URL-encoded; - big_field: `chunking_strategy` as a
  24 MB JSON field.
- realtime: one session sends 20 appends of 15 MB of μ-law silence at once; server memory after them.
- mixed: clients sending mixed requests (json, word times, srt, diarized_json, stream, async,
  translation) on clips of real council meetings and the sample call: requests served, errors,
  `/healthcheck` p99, memory after the first minute and at the end (`--clients`, `--seconds`).
`--server-root` runs the server from another checkout (e.g. a git worktree of an older main) with this
venv, so two versions compare on the same machine in one sitting. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import json
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402  (scripts/bench.py: the server process, encoding)
import recordings  # noqa: E402  (scripts/recordings.py: council meetings from PyPI packages)
from app.adapters.audio import PyAVDecoder, float_samples  # noqa: E402

SAMPLE_RATE = 16_000
URL = "/v1/audio/transcriptions"


class Server(bench.Server):
    """bench.Server, with its process's memory and CPU."""

    def __init__(self, threads: int, root: Path, env: dict[str, str]) -> None:
        super().__init__(threads, env, root=root)

    def _status(self, field: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mb(self) -> float:
        return self._status("VmRSS")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metric(self, name: str, labels: str = "") -> float:
        """A sample of /metrics: `name{labels}` (labels as the exposition writes them, e.g. `while="running"`)."""
        for line in httpx.get(self.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith(f"{name}{{{labels}}} " if labels else f"{name} "):
                return float(line.rsplit(" ", 1)[1])
        return float("nan")


class Health:
    """Asks /healthcheck every 20 ms on a thread of its own; the answers' seconds."""

    def __init__(self, url: str) -> None:
        self.url, self.seconds, self._stop = url, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                client.get(self.url + "/healthcheck")
                self.seconds.append(time.perf_counter() - started)
                time.sleep(0.02)

    def __enter__(self) -> Health:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def worst_ms(self) -> float:
        return max(self.seconds, default=float("nan")) * 1000

    def p99_ms(self) -> float:
        return bench.percentile(self.seconds, 99) * 1000 if self.seconds else float("nan")


def load(path: Path) -> np.ndarray:
    return float_samples(PyAVDecoder().decode(io.BytesIO(path.read_bytes())).samples)


def meeting_clips() -> list[tuple[str, np.ndarray]]:
    """Clips of 20-60 s of real meetings: the two cdp council recordings cut at 60 s, the sample call,
    and each speakerbox meeting's clips joined in their order in the meeting, cut at 60 s."""
    clips = []
    for name, path in recordings.council_recordings().items():
        audio = load(path)
        clips += [
            (f"{name}@{s // SAMPLE_RATE}", audio[s : s + 60 * SAMPLE_RATE])
            for s in range(0, audio.size - 20 * SAMPLE_RATE, 60 * SAMPLE_RATE)
        ]
    clips.append(("sample call", bench.sample_call()))
    for meeting in sorted(recordings.council_clips().iterdir()):
        parts = sorted(meeting.glob("*/*.wav"), key=lambda p: int(p.stem.split("-")[0]))
        audio = np.concatenate([load(p) for p in parts])
        clips += [
            (f"{meeting.name}@{s // SAMPLE_RATE}", audio[s : s + 60 * SAMPLE_RATE])
            for s in range(0, audio.size - 20 * SAMPLE_RATE, 60 * SAMPLE_RATE)
        ]
    return clips


def multipart(fields: list[tuple[str, tuple[str | None, bytes, str] | tuple[None, bytes]]]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x" + URL, files=fields)
    return request.read(), request.headers["content-type"]


def raw_post(url: str, body: bytes, content_type: str) -> socket.socket:
    """Send a request over a socket of our own, so the test decides when the client hangs up."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    head = f"POST {URL} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    connection.sendall(head.encode() + body)
    return connection


def wait_until(condition: Callable[[], bool], seconds: float) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > seconds:
            return float("inf")
        time.sleep(0.1)
    return time.perf_counter() - started


def hangup(srv: Server, clips) -> dict:
    program = np.concatenate([audio for _, audio in clips])
    hour = np.tile(program, int(np.ceil(3600 * SAMPLE_RATE / program.size)))[: 3600 * SAMPLE_RATE]
    body, content_type = multipart([("file", ("hour.ogg", bench.encode(hour, "ogg"), "audio/ogg"))])
    with Health(srv.url) as health:
        connection = raw_post(srv.url, body, content_type)
        wait_until(lambda: srv.metric("whisperx_transcriptions_running") == 1, 60)
        time.sleep(3)
        connection.close()
        freed = wait_until(lambda: srv.metric("whisperx_transcriptions_running") == 0, 600)
        time.sleep(max(0.0, 10 - freed))  # the CPU from 10 s after the client left, or once the slot is free
        before = srv.cpu_seconds()
        time.sleep(5)
        cpu = (srv.cpu_seconds() - before) / 5
    return {
        "slot_freed_after_s": freed,
        "cpu_cores_10_15_s_after": cpu,
        "health_worst_ms": health.worst_ms(),
        "cancelled_while_running": srv.metric("whisperx_requests_cancelled_total", 'while="running"'),
    }


def refused(srv: Server, body: bytes, content_type: str) -> dict:
    with Health(srv.url) as health:
        started = time.perf_counter()
        response = httpx.post(srv.url + URL, content=body, headers={"content-type": content_type}, timeout=600)
        seconds = time.perf_counter() - started
        time.sleep(1)  # what the refusal left behind
    error = (
        response.json().get("error", {})
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    return {
        "status": response.status_code,
        "param": error.get("param"),
        "seconds": seconds,
        "health_worst_ms": health.worst_ms(),
    }


def realtime_appends(srv: Server) -> dict:
    from websockets.sync.client import connect

    silence = base64.b64encode(b"\xff" * 15 * 1024 * 1024).decode()  # μ-law silence
    before = srv.rss_mb()
    replies: list[str] = []
    with Health(srv.url) as health:
        with connect(srv.url.replace("http", "ws") + "/v1/realtime?intent=transcription", max_size=None) as ws:
            ws.recv()  # session.created
            ws.send(
                json.dumps(
                    {
                        "type": "session.update",
                        "session": {"type": "transcription", "audio": {"input": {"format": {"type": "audio/pcmu"}}}},
                    }
                )
            )
            ws.recv()
            for _ in range(20):
                ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": silence}))
            ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
            while True:
                reply = json.loads(ws.recv(timeout=300))
                replies.append(reply.get("error", {}).get("code") or reply["type"])
                if reply["type"] == "input_audio_buffer.cleared":
                    break
        time.sleep(1)
    return {
        "replies": {name: replies.count(name) for name in sorted(set(replies))},
        "health_worst_ms": health.worst_ms(),
        "rss_growth_mb": srv.rss_mb() - before,
    }


def mixed(srv: Server, clips, clients: int, seconds: float) -> dict:
    uploads = [(name, bench.encode(audio, "ogg")) for name, audio in clips]
    kinds = {
        "json": {},
        "words": {"response_format": "verbose_json", "timestamp_granularities[]": "word"},
        "srt": {"response_format": "srt"},
        "diarized": {"response_format": "diarized_json", "diarize": "true"},
        "stream": {"stream": "true"},
        "async": {"async": "true"},
        "translate": {},
    }
    served: dict[str, int] = {kind: 0 for kind in kinds}
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    rss: list[tuple[float, float]] = []

    def one(client: httpx.Client, kind: str, data: bytes) -> None:
        path = "/v1/audio/translations" if kind == "translate" else URL
        files = {"file": ("clip.ogg", data, "audio/ogg")}
        if kind == "stream":
            with client.stream("POST", srv.url + path, files=files, data=kinds[kind]) as response:
                response.raise_for_status()
                for _ in response.iter_lines():
                    pass
            return
        response = client.post(srv.url + path, files=files, data=kinds[kind])
        response.raise_for_status()
        if kind == "async":
            job = response.json()["id"]
            while client.get(f"{srv.url}{URL}/{job}").json()["status"] not in ("succeeded", "failed", "cancelled"):
                time.sleep(0.5)

    def client_loop(index: int) -> None:
        order = random.Random(index)
        kinds_cycle = itertools.cycle(list(kinds)[index % len(kinds) :] + list(kinds)[: index % len(kinds)])
        with httpx.Client(timeout=3600) as client:
            while time.monotonic() < deadline:
                kind = next(kinds_cycle)
                try:
                    one(client, kind, order.choice(uploads)[1])
                    served[kind] += 1
                except httpx.HTTPError as exc:
                    errors.append(f"{kind}: {exc}")

    started = time.monotonic()
    with Health(srv.url) as health:
        workers = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
        for worker in workers:
            worker.start()
        while any(worker.is_alive() for worker in workers):
            rss.append((time.monotonic() - started, srv.rss_mb()))
            time.sleep(5)
        for worker in workers:
            worker.join()
    after_minute = next((mb for at, mb in rss if at >= 60), float("nan"))
    return {
        "clients": clients,
        "seconds": seconds,
        "served": sum(served.values()),
        "by_kind": served,
        "errors": errors[:5],
        "error_count": len(errors),
        "health_p99_ms": health.p99_ms(),
        "health_worst_ms": health.worst_ms(),
        "rss_after_first_minute_mb": after_minute,
        "rss_end_mb": rss[-1][1] if rss else float("nan"),
        "rss_every_30_s_mb": [round(mb) for at, mb in rss[::6]],
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=["hangup", "fields", "big_field", "realtime", "mixed"])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--server-root", type=Path, default=ROOT)
    parser.add_argument("--server-env", nargs="*", default=[], metavar="NAME=VALUE", help="settings for the server")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.server_env)
    clips = meeting_clips()
    results: dict[str, dict] = {}
    for name in args.only:
        srv = Server(args.threads, args.server_root.resolve(), env)
        try:
            if name == "hangup":
                r = results[name] = hangup(srv, clips)
                print(
                    f"hangup: slot free {r['slot_freed_after_s']:.1f} s after the client left "
                    f"(target <= 10 s: {verdict(r['slot_freed_after_s'] <= 10)}), server CPU 10-15 s after "
                    f"{r['cpu_cores_10_15_s_after']:.2f} cores (10-15 s after it left, or once the slot was free), "
                    f"cancelled while running: {r['cancelled_while_running']:g}, health worst {r['health_worst_ms']:.0f} ms"
                )
            elif name == "fields":
                audio = bench.encode(clips[0][1][: 5 * SAMPLE_RATE], "ogg")
                forms = {
                    "multipart": multipart(
                        [("file", ("a.ogg", audio, "audio/ogg")), *((f"f{i}", (None, b"")) for i in range(100_000))]
                    ),
                    "url-encoded": (
                        b"&".join(b"f%d=" % i for i in range(100_000)),
                        "application/x-www-form-urlencoded",
                    ),
                }
                for kind, (body, content_type) in forms.items():
                    r = results[f"{name} {kind}"] = refused(srv, body, content_type)
                    print(
                        f"100 000 empty fields, {kind}: {r['status']} (param {r['param']}) in {r['seconds']:.2f} s "
                        f"(target 4xx <= 5 s: {verdict(400 <= r['status'] < 500 and r['seconds'] <= 5)}), health "
                        f"worst {r['health_worst_ms']:.0f} ms"
                    )
            elif name == "big_field":
                body, content_type = multipart(
                    [
                        ("file", ("a.ogg", bench.encode(clips[0][1][: 5 * SAMPLE_RATE], "ogg"), "audio/ogg")),
                        (
                            "chunking_strategy",
                            (None, b'{"type": "server_vad", "x": "' + b"a" * (24 * 1024 * 1024) + b'"}'),
                        ),
                    ]
                )
                r = results[name] = refused(srv, body, content_type)
                print(
                    f"24 MB chunking_strategy: {r['status']} (param {r['param']}) in {r['seconds']:.2f} s, health worst "
                    f"{r['health_worst_ms']:.0f} ms (target <= 1000 ms: {verdict(r['health_worst_ms'] <= 1000)})"
                )
            elif name == "realtime":
                r = results[name] = realtime_appends(srv)
                print(
                    f"realtime, 20 appends of 15 MB μ-law: replies {r['replies']}, health worst "
                    f"{r['health_worst_ms']:.0f} ms, memory {r['rss_growth_mb']:+.0f} MB (targets <= 1000 ms and "
                    f"<= +300 MB: {verdict(r['health_worst_ms'] <= 1000 and r['rss_growth_mb'] <= 300)})"
                )
            elif name == "mixed":
                r = results[name] = mixed(srv, clips, args.clients, args.seconds)
                growth = r["rss_end_mb"] - r["rss_after_first_minute_mb"]
                print(
                    f"mixed, {r['clients']} clients for {r['seconds']:.0f} s: {r['served']} served {r['by_kind']}, "
                    f"{r['error_count']} errors, health p99 {r['health_p99_ms']:.0f} ms (target <= 20 ms: "
                    f"{verdict(r['health_p99_ms'] <= 20)}), worst {r['health_worst_ms']:.0f} ms; memory after the "
                    f"first minute {r['rss_after_first_minute_mb']:.0f} MB, at the end {r['rss_end_mb']:.0f} MB "
                    f"({growth:+.0f} MB; every 30 s: {r['rss_every_30_s_mb']})"
                )
        finally:
            srv.stop()
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "reliability.json").write_text(
        json.dumps({"server_root": str(args.server_root), "server_env": env, **results}, indent=2, default=str)
    )


if __name__ == "__main__":
    main()
