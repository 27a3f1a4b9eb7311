"""WebRTC calls (`POST /v1/realtime/calls`): each call is a realtime session whose audio comes from the
caller's microphone track and whose events travel on the call's data channel, both ways.

A call outlives the request that opened it, so calls run in this service's task group (started with
the server), and end when the caller hangs up, the connection fails, `hang_up` is asked, or a session
limit ends the session (REALTIME__MAX_SESSION_SECONDS, idle timeout)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from app.domain.errors import DomainError, StageUnavailable
from app.domain.ports.calls import PeerCall, PeerConnections
from app.schemas.realtime import RealtimeErrorEvent, RealtimeServerEvent, error_of, internal_error
from app.services.errors import CallNotFound
from app.services.realtime.config import SessionClosed
from app.services.realtime.protocol import MediaAudio, SessionInput, encode_event, parse_event
from app.services.realtime.service import RealtimeService

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Call:
    id: str
    owner: str | None
    peer: PeerCall


class RealtimeCalls:
    def __init__(self, peers: PeerConnections, realtime: RealtimeService) -> None:
        self.peers = peers
        self.realtime = realtime
        self._calls: dict[str, Call] = {}
        self._tasks: TaskGroup | None = None

    async def run_here(self) -> None:
        """Hold the calls' task group until cancelled (the server's lifespan); then every call ends."""
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                await anyio.sleep_forever()
        finally:
            self._tasks = None

    async def start(
        self, offer: str, owner: str | None, registry_owner: str, configured: SessionInput | None
    ) -> tuple[str, str]:
        """Answer the offer and run its session: the call's id and the SDP answer. `owner` and
        `registry_owner` as for RealtimeService.session; `configured`: a session.update taken first."""
        if self._tasks is None:
            raise StageUnavailable("WebRTC calls are not taken while the server starts or stops.")
        started: tuple[str, str] = await self._tasks.start(self._run, offer, owner, registry_owner, configured)
        return started

    async def hang_up(self, call_id: str, owner: str | None) -> None:
        """End a call its owner (the key that opened it) names; CallNotFound for any other."""
        call = self._calls.get(call_id)
        if call is None or call.owner != owner:
            raise CallNotFound(call_id)
        await call.peer.close()

    async def _run(
        self,
        offer: str,
        owner: str | None,
        registry_owner: str,
        configured: SessionInput | None,
        *,
        task_status: TaskStatus[tuple[str, str]],
    ) -> None:
        peer = await self.peers.answer(offer)
        call = Call(f"rtc_{secrets.token_hex(12)}", owner, peer)

        async def send(event: RealtimeServerEvent) -> None:
            await peer.send(encode_event(event))

        try:
            async with self.realtime.session(send, owner, registry_owner) as session:
                self._calls[call.id] = call
                task_status.started((call.id, peer.answer))
                logger.info("realtime call opened", call=call.id, session=session.id)
                try:
                    await session.serve(_session_input(peer), configured)
                except SessionClosed:
                    pass  # the session told the caller why
                except DomainError as exc:
                    await send(RealtimeErrorEvent(event_id="event_refused", error=error_of(exc)))
                except Exception:
                    logger.exception("realtime call failed", call=call.id)
                    await send(
                        RealtimeErrorEvent(
                            event_id="event_refused",
                            error=internal_error("The server had an error; the call has ended."),
                        )
                    )
                finally:
                    logger.info("realtime call closed", call=call.id)
        finally:
            self._calls.pop(call.id, None)
            with anyio.CancelScope(shield=True):
                await peer.close()


async def _session_input(peer: PeerCall) -> AsyncIterator[SessionInput]:
    async for item in peer.incoming():
        yield parse_event(item, None) if isinstance(item, str) else MediaAudio(item)
