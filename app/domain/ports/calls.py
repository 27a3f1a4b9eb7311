"""WebRTC calls: a caller's SDP offer answered, its microphone track and its event channel carried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.domain.ports.audio import Samples


class PeerCall(Protocol):
    """One answered call. Its audio arrives as 16 kHz mono, whatever codec carried it."""

    answer: str  # the SDP answer, every ICE candidate of ours in it

    def incoming(self) -> AsyncIterator[str | Samples]:
        """Text messages of the caller's data channel and pieces of its audio, in arrival order; ends
        when the call does (the caller hung up, or the connection failed or was closed)."""
        ...

    async def send(self, text: str) -> None:
        """A message on the data channel; held until the caller has opened it, dropped after it closed."""
        ...

    async def close(self) -> None: ...


class PeerConnections(Protocol):
    async def answer(self, offer: str) -> PeerCall:
        """The call an SDP offer opens; InvalidRequest (param `sdp`) for an offer it cannot answer: not
        SDP, or no audio in a codec it takes."""
        ...
