"""OpenAI's browser path, second half: WebRTC calls (`POST /v1/realtime/calls`). A caller (aiortc here,
Chromium in tests/integration/test_webui.py) posts its offer, plays its microphone track, and gets the
session's events over its `oai-events` data channel, against the real server with fake models.

The fakes (tests/fakes.py): a VAD frame whose mean level is above 0.1 is speech; the transcriber hears
two words of "one two three ..." per second of audio louder than 0.1. The caller plays a 200 Hz tone.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from collections.abc import Sequence

import httpx
import numpy as np
import pytest
from aiortc import AudioStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from av import AudioFrame

from app.adapters.webrtc import offering
from tests.api.test_client_secrets import KEY, german_session, mint
from tests.api.test_realtime import sdk, session
from tests.conftest import pin, until

CALLS = "/v1/realtime/calls"
RATE, FRAME = 48_000, 960  # 20 ms frames, as a browser's Opus track


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Tone(AudioStreamTrack):
    """A microphone: quiet, then a loud 200 Hz tone for `seconds`, then quiet, paced in real time."""

    def __init__(self, seconds: float = 2.0) -> None:
        super().__init__()
        self.loud = (int(0.5 * RATE), int((0.5 + seconds) * RATE))
        self.sent = 0
        self.began: float | None = None

    async def recv(self) -> AudioFrame:
        self.began = self.began or time.monotonic()
        wait = self.began + self.sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        index = np.arange(self.sent, self.sent + FRAME)
        level = np.where((index >= self.loud[0]) & (index < self.loud[1]), 0.5, 0.0)
        samples = (level * np.sign(np.sin(2 * np.pi * 200 * index / RATE)) * 32767).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.sent, fractions.Fraction(1, RATE)
        self.sent += FRAME
        return frame


class Caller:
    """One side of a call: the peer connection, its data channel, and the events that came on it."""

    def __init__(self, seconds: float = 2.0, hosts: Sequence[str] = ("127.0.0.1",)) -> None:
        self.hosts = hosts  # the caller's own candidates: loopback in tests
        self.connection = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.connection.addTrack(Tone(seconds))
        self.channel = self.connection.createDataChannel("oai-events")
        self.events: list[dict] = []
        self.channel.on("message", lambda message: self.events.append(json.loads(message)))

    async def offer(self) -> str:
        with offering(self.hosts):
            await self.connection.setLocalDescription(await self.connection.createOffer())
        return self.connection.localDescription.sdp

    async def answered(self, answer: str) -> None:
        await self.connection.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    def completed(self) -> list[dict]:
        return [e for e in self.events if e["type"] == "conversation.item.input_audio_transcription.completed"]


@pytest.mark.anyio
async def test_the_sdk_opens_a_call_whose_transcripts_come_over_the_data_channel(live_server):
    caller = Caller()
    async with sdk(live_server) as client:
        answer = await client.realtime.calls.create(sdp=await caller.offer(), session=session())
        call_id = answer.response.headers["location"].rsplit("/", 1)[-1]
        assert answer.response.status_code == 201 and answer.response.headers["content-type"] == "application/sdp"
        await caller.answered(answer.text)
        await until(lambda: caller.completed(), what="a completed transcript")
        types = caller.types()
        assert types[:2] == ["session.created", "session.updated"]
        assert types.index("input_audio_buffer.speech_started") < types.index("input_audio_buffer.committed")
        transcript = caller.completed()[0]["transcript"]
        assert transcript in ("one two three", "one two three four"), transcript

        # Events go the other way too: the caller reconfigures the session on the channel.
        caller.channel.send(json.dumps({"type": "session.update", "session": german_session()}))
        await until(lambda: caller.types().count("session.updated") == 2)
        assert caller.events[-1]["session"]["audio"]["input"]["transcription"]["language"] == "de"

        await client.realtime.calls.hangup(call_id)
        await until(lambda: caller.connection.connectionState == "closed")
        with pytest.raises(Exception) as gone:
            await client.realtime.calls.hangup(call_id)
        assert getattr(gone.value, "status_code", None) == 404
    await caller.connection.close()


@pin(API_KEY=KEY)
@pytest.mark.anyio
async def test_a_page_calls_with_a_client_secret_as_openais_browser_guide_does(live_server):
    secret = await mint(live_server)
    caller = Caller(seconds=1.0)
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(
            CALLS,
            content=await caller.offer(),
            headers={
                "Authorization": f"Bearer {secret.value}",
                "Content-Type": "application/sdp",
                "Origin": "https://app.example",
            },
        )
        assert response.status_code == 201, response.text
        assert response.headers["access-control-allow-origin"] == "*"
        location = response.headers["location"]
        await caller.answered(response.text)
        await until(lambda: caller.completed(), what="a completed transcript")
        # Configured as the secret was made: German.
        updated = caller.events[1]
        assert updated["type"] == "session.updated"
        assert updated["session"]["audio"]["input"]["transcription"]["language"] == "de"
        assert caller.completed()[0]["transcript"] in ("one", "one two")

        hung_up = await client.delete(location, headers={"Authorization": f"Bearer {KEY}"})
        assert hung_up.status_code == 204
        await until(lambda: caller.connection.connectionState == "closed")
    await caller.connection.close()


@pin(API_KEY=KEY)
@pytest.mark.anyio
async def test_refused_calls_are_openai_shaped_and_readable_by_the_page(live_server):
    caller = Caller()
    offer = await caller.offer()
    sdp = {"Content-Type": "application/sdp"}
    bearer = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=live_server) as client:
        secret = await mint(live_server)
        cases = [
            (await client.post(CALLS, content=offer, headers=sdp), 401, None),
            (await client.post(CALLS, content="hello", headers={**sdp, **bearer}), 400, "sdp"),
            (await client.post(CALLS, content=offer, headers={"Content-Type": "text/plain", **bearer}), 400, "sdp"),
            (await client.post(CALLS, content="v=0\r\n" + "a=x\r\n" * 20_000, headers={**sdp, **bearer}), 413, None),
            (
                await client.post(
                    CALLS,
                    files={"sdp": (None, offer), "session": (None, json.dumps(session()))},
                    headers={"Authorization": f"Bearer {secret.value}"},
                ),
                400,
                "session",
            ),
            (
                await client.post(
                    CALLS,
                    files={"sdp": (None, offer), "session": (None, json.dumps({"type": "realtime"}))},
                    headers=bearer,
                ),
                400,
                "session",
            ),
            (await client.delete(f"{CALLS}/rtc_nobody", headers=bearer), 404, None),
        ]
        for response, status, param in cases:
            assert response.status_code == status, response.text
            assert response.json()["error"]["param"] == param, response.text
            assert response.headers["access-control-allow-origin"] == "*"

        preflight = await client.options(
            CALLS, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    await caller.connection.close()


@pytest.mark.anyio
async def test_an_offer_without_audio_is_refused(live_server):
    connection = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    connection.createDataChannel("oai-events")
    await connection.setLocalDescription(await connection.createOffer())
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(
            CALLS, content=connection.localDescription.sdp, headers={"Content-Type": "application/sdp"}
        )
    assert response.status_code == 400 and response.json()["error"]["param"] == "sdp"
    assert "no audio" in response.json()["error"]["message"]
    await connection.close()


@pin(REALTIME__MAX_SESSIONS="1")
@pytest.mark.anyio
async def test_a_call_takes_a_session_slot(live_server, container):
    first, second = Caller(), Caller()
    async with httpx.AsyncClient(base_url=live_server) as client:
        headers = {"Content-Type": "application/sdp"}
        opened = await client.post(CALLS, content=await first.offer(), headers=headers)
        assert opened.status_code == 201
        await first.answered(opened.text)
        await until(lambda: first.connection.connectionState == "connected", what="the first call connected")
        full = await client.post(CALLS, content=await second.offer(), headers=headers)
        assert full.status_code == 429 and full.json()["error"]["code"] == "session_limit_reached"
        await first.connection.close()  # the caller hangs up: its slot is free again
        await until(lambda: container.realtime().open_sessions == 0, what="the call's slot freed")
        again = await client.post(CALLS, content=await second.offer(), headers=headers)
        assert again.status_code == 201
        await second.answered(again.text)
    await second.connection.close()


@pin(API_KEY=KEY)
@pytest.mark.anyio
async def test_an_expired_secret_opens_no_call(live_server, container):
    secret = await mint(live_server, seconds=10)
    container.client_secrets().clock = lambda: time.time() + 11  # ten seconds later
    caller = Caller()
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(
            CALLS,
            content=await caller.offer(),
            headers={"Authorization": f"Bearer {secret.value}", "Content-Type": "application/sdp"},
        )
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    assert container.realtime().open_sessions == 0
    await caller.connection.close()


def candidate_addresses(sdp: str) -> set[str]:
    return {line.split(" ")[4] for line in sdp.splitlines() if line.startswith("a=candidate:")}


@pin(REALTIME__WEBRTC_HOSTS="0.0.0.0", REALTIME__WEBRTC_PUBLIC_ADDRESS="127.0.0.2")
@pytest.mark.anyio
async def test_behind_nat_the_answer_offers_the_public_address_and_the_call_goes_through(live_server):
    """As in a container with published UDP ports: bound on every address, reached at another one."""
    caller = Caller(seconds=1.0)
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(CALLS, content=await caller.offer(), headers={"Content-Type": "application/sdp"})
        assert response.status_code == 201, response.text
        assert candidate_addresses(response.text) == {"127.0.0.2"}
        assert "c=IN IP4 127.0.0.2" in response.text
        await caller.answered(response.text)
        await until(lambda: caller.completed(), what="a completed transcript")
        assert caller.completed()[0]["transcript"] in ("one", "one two")
    await caller.connection.close()


@pytest.mark.anyio
async def test_the_answer_offers_only_the_configured_host_addresses(live_server):
    caller = Caller(seconds=0.1)
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(CALLS, content=await caller.offer(), headers={"Content-Type": "application/sdp"})
    assert response.status_code == 201 and candidate_addresses(response.text) == {"127.0.0.1"}  # REALTIME__WEBRTC_HOSTS
    await caller.connection.close()
