"""WebRTC calls to a server behind NAT, as in a container whose ports are published (needs root, `ip`
and `iptables`; not part of `make test`, since it changes the machine's network for a minute).

The server (fake inference, tests/fake_server.py) runs in a network namespace of its own, reached only
through destination NAT from a "public" address, as `podman run -p 8000:8000 -p 50000-50019:…/udp`
does: its UDP ports come from a fixed range (`net.ipv4.ip_local_port_range` in the namespace, what
`--sysctl` sets for a container) and every other way in is dropped. A caller on the host (aiortc, as
tests/api/test_realtime_calls.py) posts its offer and waits for a transcript on the data channel:

1. with REALTIME__WEBRTC_HOSTS=0.0.0.0 and REALTIME__WEBRTC_PUBLIC_ADDRESS=<public address>: the call
   should connect and transcribe;
2. without the public address (the server's own address offered): the call cannot connect.

Run: `sudo make check-webrtc-nat`. Prints what each case did; exits 1 if either went otherwise.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.api.test_realtime_calls import CALLS, Caller  # noqa: E402

NAMESPACE = "wxnat"
HOST_SIDE, SERVER_SIDE = ("wxnat-h", "10.231.0.1"), ("wxnat-c", "10.231.0.2")
PUBLIC = "10.232.0.1"  # assigned to nothing: reached only through the NAT rules below
PORTS = (50000, 50019)
HTTP_PORT = 8000
CONNECT_SECONDS = 10


def sh(*command: str, check: bool = True) -> None:
    subprocess.run(command, check=check, capture_output=not check)


def ns(*command: str) -> None:
    sh("ip", "netns", "exec", NAMESPACE, *command)


RULES = [
    ("nat", "OUTPUT", "-d", PUBLIC, "-p", "tcp", "--dport", str(HTTP_PORT), "-j", "DNAT",
     "--to-destination", SERVER_SIDE[1]),
    ("nat", "OUTPUT", "-d", PUBLIC, "-p", "udp", "--dport", f"{PORTS[0]}:{PORTS[1]}", "-j", "DNAT",
     "--to-destination", SERVER_SIDE[1]),
    # Nothing reaches the server's own address but what the NAT sent there: a published container.
    ("filter", "OUTPUT", "-d", SERVER_SIDE[1], "-m", "conntrack", "!", "--ctstate", "DNAT", "-j", "DROP"),
]  # fmt: skip


@contextmanager
def nat() -> Iterator[None]:
    sh("ip", "netns", "add", NAMESPACE)
    try:
        sh("ip", "link", "add", HOST_SIDE[0], "type", "veth", "peer", "name", SERVER_SIDE[0])
        sh("ip", "link", "set", SERVER_SIDE[0], "netns", NAMESPACE)
        sh("ip", "addr", "add", f"{HOST_SIDE[1]}/24", "dev", HOST_SIDE[0])
        sh("ip", "link", "set", HOST_SIDE[0], "up")
        ns("ip", "addr", "add", f"{SERVER_SIDE[1]}/24", "dev", SERVER_SIDE[0])
        ns("ip", "link", "set", SERVER_SIDE[0], "up")
        ns("ip", "link", "set", "lo", "up")
        ns("ip", "route", "add", "default", "via", HOST_SIDE[1])
        ns("sysctl", "-q", "-w", f"net.ipv4.ip_local_port_range={PORTS[0]} {PORTS[1]}")
        sh("ip", "route", "add", f"{PUBLIC}/32", "dev", HOST_SIDE[0])
        for table, chain, *rule in RULES:
            sh("iptables", "-t", table, "-A", chain, *rule)
        yield
    finally:
        for table, chain, *rule in RULES:
            sh("iptables", "-t", table, "-D", chain, *rule, check=False)
        sh("ip", "route", "del", f"{PUBLIC}/32", check=False)
        sh("ip", "link", "del", HOST_SIDE[0], check=False)
        sh("ip", "netns", "del", NAMESPACE, check=False)


@contextmanager
def server(env: dict[str, str], data_dir: Path) -> Iterator[None]:
    environ = {
        **os.environ,
        "UVICORN_HOST": "0.0.0.0",
        "UVICORN_PORT": str(HTTP_PORT),
        "DATA_DIR": str(data_dir),
        "WHISPER__PRELOAD": "false",
        **env,
    }
    process = subprocess.Popen(
        ["ip", "netns", "exec", NAMESPACE, sys.executable, "-m", "tests.fake_server"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://{PUBLIC}:{HTTP_PORT}/healthcheck", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server in the namespace did not start")
            time.sleep(0.5)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def candidates(sdp: str) -> list[str]:
    """The answer's candidates as address:port."""
    return sorted(
        {f"{f[4]}:{f[5]}" for f in (line.split(" ") for line in sdp.splitlines()) if f[0].startswith("a=candidate:")}
    )


async def call() -> tuple[list[str], str]:
    """The answer's candidates, and what became of the call."""
    caller = Caller(seconds=1.0, hosts=[HOST_SIDE[1]])
    try:
        async with httpx.AsyncClient(base_url=f"http://{PUBLIC}:{HTTP_PORT}", timeout=30) as client:
            response = await client.post(
                CALLS, content=await caller.offer(), headers={"Content-Type": "application/sdp"}
            )
        if response.status_code != 201:
            return [], f"refused: {response.status_code} {response.text[:200]}"
        await caller.answered(response.text)
        deadline = time.monotonic() + CONNECT_SECONDS
        while not caller.completed() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        if caller.completed():
            return candidates(response.text), f"transcribed: {caller.completed()[0]['transcript']!r}"
        return candidates(response.text), f"no transcript ({caller.connection.connectionState})"
    finally:
        await caller.connection.close()


def main() -> int:
    if os.geteuid() != 0:
        print("needs root (network namespace, iptables)")
        return 2
    cases = [
        ("public address", {"REALTIME__WEBRTC_HOSTS": "0.0.0.0", "REALTIME__WEBRTC_PUBLIC_ADDRESS": PUBLIC}, True),
        ("own address only", {}, False),
    ]
    failed = False
    with nat():
        for name, env, should_work in cases:
            with server(env, Path("/tmp/wxnat-data")):
                offered, outcome = asyncio.run(call())
            worked = outcome.startswith("transcribed")
            print(f"{name:18} offered {offered}: {outcome} (expected: {'works' if should_work else 'fails'})")
            failed |= worked != should_work
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
