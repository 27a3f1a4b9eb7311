"""WebRTC calls with aiortc: the caller's microphone (Opus) in as 16 kHz pieces, OpenAI's events on the
caller's data channel (`oai-events` in OpenAI's guide; the first one the caller opens is used)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aioice.ice
import av
import numpy as np
import numpy.typing as npt
import structlog
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from app.domain.audio import SAMPLE_RATE
from app.domain.errors import InvalidRequest

logger = structlog.get_logger(__name__)

PIECE_SAMPLES = SAMPLE_RATE // 10  # audio is handed on 100 ms at a time: one VAD step in a thread per piece
# What may wait unread: 100 s of audio pieces, or a caller's burst of events. Past it the call ends
# rather than holding more for a session that cannot keep up.
MAX_WAITING = 1000
MAX_UNSENT = 1000  # events for a data channel the caller has not opened yet
ENDED_STATES = ("failed", "closed")
_ENDED = object()


_OFFERED: ContextVar[Sequence[str] | None] = ContextVar("webrtc_offered_hosts", default=None)
_all_host_addresses = aioice.ice.get_host_addresses


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    hosts = _OFFERED.get()
    if hosts is None:
        return _all_host_addresses(use_ipv4, use_ipv6)
    return [h for h in hosts if (use_ipv6 if ":" in h else use_ipv4)]


# aioice offers every address but loopback and has no setting for it; this asks `offering` first.
aioice.ice.get_host_addresses = _host_addresses


@contextmanager
def offering(hosts: Sequence[str]) -> Iterator[None]:
    """ICE host candidates gathered in this context (the task, and the tasks it starts) are on these
    addresses only, or on all of them when `hosts` is empty: for a server with several networks, a
    container binding every address, and tests that stay on 127.0.0.1."""
    token = _OFFERED.set(list(hosts) or None)
    try:
        yield
    finally:
        _OFFERED.reset(token)


def announced(sdp: str, address: str) -> str:
    """`sdp` with every candidate's and connection line's address replaced by `address`: where callers
    reach this server when it is behind NAT (a container's published UDP ports), not where it is bound."""
    family = "IP6" if ":" in address else "IP4"
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:"):
            fields = line.split(" ")
            fields[4] = address  # foundation component transport priority ADDRESS port typ …
            line = " ".join(fields)
        elif line.startswith("c=IN "):
            line = f"c=IN {family} {address}"
        lines.append(line)
    return "\r\n".join(lines)


class AiortcCall:
    def __init__(self, connection: RTCPeerConnection) -> None:
        self.connection = connection
        self.answer = ""
        self._incoming: asyncio.Queue[Any] = asyncio.Queue()
        self._channel: Any = None
        self._unsent: list[str] = []
        self._ended = False
        self._reader: asyncio.Task[None] | None = None
        connection.on("datachannel", self._on_channel)
        connection.on("track", self._on_track)
        connection.on("connectionstatechange", self._on_state)

    async def incoming(self) -> AsyncIterator[str | npt.NDArray[np.float32]]:
        while True:
            item = await self._incoming.get()
            if item is _ENDED:
                return
            yield item

    async def send(self, text: str) -> None:
        if self._ended:
            return
        if self._channel is not None and self._channel.readyState == "open":
            self._channel.send(text)
        elif len(self._unsent) < MAX_UNSENT:
            self._unsent.append(text)

    async def close(self) -> None:
        self._end()
        if self._reader is not None:
            self._reader.cancel()
        await self.connection.close()

    def _put(self, item: object) -> None:
        if self._incoming.qsize() >= MAX_WAITING:
            logger.warning("webrtc call ends: the session cannot keep up with what the caller sends")
            asyncio.get_running_loop().create_task(self.close())
            return
        self._incoming.put_nowait(item)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._incoming.put_nowait(_ENDED)

    def _on_channel(self, channel: Any) -> None:
        if self._channel is not None:
            return
        self._channel = channel
        channel.on("message", lambda message: self._put(message) if isinstance(message, str) else None)
        channel.on("open", self._flush)
        if channel.readyState == "open":
            self._flush()

    def _flush(self) -> None:
        unsent, self._unsent = self._unsent, []
        for text in unsent:
            self._channel.send(text)

    def _on_track(self, track: Any) -> None:
        if track.kind == "audio" and self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read(track))

    async def _read(self, track: Any) -> None:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        pieces: list[npt.NDArray[np.float32]] = []
        held = 0
        try:
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    pieces.append(samples)
                    held += len(samples)
                if held >= PIECE_SAMPLES:
                    self._put(np.concatenate(pieces))
                    pieces, held = [], 0
        except MediaStreamError:  # the track ended: the call is over
            self._end()

    async def _on_state(self) -> None:
        if self.connection.connectionState in ENDED_STATES:
            self._end()


class AiortcPeers:
    """Answers offers as a WebRTC peer without STUN or TURN: the server is reached on its host
    addresses (REALTIME__WEBRTC_HOSTS, or all of them), or at `public_address` where it is behind NAT
    (REALTIME__WEBRTC_PUBLIC_ADDRESS)."""

    def __init__(self, hosts: Sequence[str] = (), public_address: str | None = None) -> None:
        self.hosts = hosts
        self.public_address = public_address
        self._opus = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType.lower() == "audio/opus"]

    async def answer(self, offer: str) -> AiortcCall:
        if not offer.lstrip().startswith("v=0"):
            raise InvalidRequest("`sdp` is not an SDP offer: it starts with 'v=0'.", param="sdp")
        connection = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        call = AiortcCall(connection)
        # Made before the offer is read, so its codecs are agreed from Opus alone.
        connection.addTransceiver("audio", direction="recvonly").setCodecPreferences(self._opus)
        try:
            try:
                await connection.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            except Exception as exc:  # noqa: BLE001 - aiortc's parser raises whatever the text trips it on
                raise InvalidRequest(
                    f"`sdp` is not an SDP offer of Opus audio this server can take: {str(exc)[:200]}", param="sdp"
                ) from None
            if not any(t.kind == "audio" and t.mid is not None for t in connection.getTransceivers()):
                raise InvalidRequest(
                    "The offer has no audio: add the microphone's track before the offer.", param="sdp"
                )
            with offering(self.hosts):
                await connection.setLocalDescription(await connection.createAnswer())
            answer = connection.localDescription.sdp
            call.answer = answer if self.public_address is None else announced(answer, self.public_address)
            return call
        except BaseException:
            await call.close()
            raise
