"""OpenAI's browser path, first half: a backend mints a client secret (`ek_…`) with its API key, and a
page opens a realtime session with it, configured as the secret says, and can do nothing else."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import websockets

from tests.api.test_realtime import completed, events_until, loud, quiet, refused, sdk, send_audio, session, ws
from tests.conftest import audio_file, pin

KEY = "sk-live"
URL = "/v1/audio/transcriptions"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def german_session() -> dict:
    config = session()
    config["audio"]["input"]["transcription"]["language"] = "de"
    return config


async def mint(url: str, seconds: int = 60, key: str = KEY):
    async with sdk(url, api_key=key) as client:
        return await client.realtime.client_secrets.create(
            session=german_session(), expires_after={"anchor": "created_at", "seconds": seconds}
        )


@pin(API_KEY=KEY)
@pytest.mark.anyio
async def test_a_secret_opens_a_session_configured_as_it_was_made(live_server):
    before = time.time()
    secret = await mint(live_server)
    assert secret.value.startswith("ek_") and before + 59 <= secret.expires_at <= time.time() + 61
    assert secret.session.type == "transcription" and secret.session.audio.input.transcription.language == "de"

    # As a browser sends it (the key subprotocol), from a page of another site.
    async with websockets.connect(
        ws(live_server),
        origin="https://app.example",
        subprotocols=["realtime", f"openai-insecure-api-key.{secret.value}"],
    ) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"
        updated = json.loads(await socket.recv())
        assert updated["type"] == "session.updated"
        assert updated["session"]["audio"]["input"]["transcription"]["language"] == "de"

    # As the SDK sends it (Bearer): the session transcribes.
    async with (
        sdk(live_server, api_key=secret.value) as client,
        client.realtime.connect(extra_query={"intent": "transcription"}) as connection,
    ):
        assert (await connection.recv()).type == "session.created"
        assert (await connection.recv()).type == "session.updated"
        await send_audio(connection, quiet(0.5) + loud(2.0) + quiet(1.0))
        events = await events_until(connection, completed)
    assert events[-1].transcript == "one two three four"


@pin(API_KEY=KEY)
@pytest.mark.anyio
async def test_a_secret_opens_realtime_sessions_only(live_server):
    secret = await mint(live_server)
    async with httpx.AsyncClient(base_url=live_server) as client:
        headers = {"Authorization": f"Bearer {secret.value}"}
        refused_http = await client.post(URL, files=audio_file(), headers=headers)
        assert refused_http.status_code == 401 and refused_http.json()["error"]["code"] == "invalid_api_key"
        again = await client.post("/v1/realtime/client_secrets", json={"session": german_session()}, headers=headers)
        assert again.status_code == 401
        without = await client.post("/v1/realtime/client_secrets", json={"session": german_session()})
        assert without.status_code == 401


@pin(API_KEY=KEY)
@pytest.mark.anyio
async def test_an_unknown_or_expired_secret_is_refused(live_server, container):
    secret = await mint(live_server, seconds=10)
    service = container.client_secrets()
    service.clock = lambda: time.time() + 11  # ten seconds later
    event, code = await refused(ws(live_server), subprotocols=["realtime", f"openai-insecure-api-key.{secret.value}"])
    assert code == 1008 and event["error"]["code"] == "invalid_api_key" and "expired" in event["error"]["message"]
    event, code = await refused(ws(live_server), subprotocols=["realtime", "openai-insecure-api-key.ek_made-up"])
    assert code == 1008


@pin(API_KEY=KEY)
@pytest.mark.anyio
async def test_a_secret_is_stored_hashed(live_server, settings):
    secret = await mint(live_server)
    assert secret.value.encode() not in settings.jobs_database.read_bytes()


@pin(API_KEY=KEY)
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"session": {"type": "transcription"}, "expires_after": {"anchor": "created_at", "seconds": 5}},
            "expires_after.seconds",
        ),
        ({"session": {"type": "realtime"}}, "session.type"),
        (
            {"session": {"type": "transcription", "audio": {"input": {"transcription": {"model": "nope"}}}}},
            "session.audio.input.transcription.model",
        ),
    ],
)
async def test_a_bad_secret_request_is_a_400_naming_the_field(live_server, body, param):
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(
            "/v1/realtime/client_secrets", json=body, headers={"Authorization": f"Bearer {KEY}"}
        )
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["param"] == param, response.text
