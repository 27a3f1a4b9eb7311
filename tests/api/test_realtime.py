"""Realtime transcription sessions, spoken to by the official SDK (and a raw WebSocket for close
codes and browser auth), against the real server with fake models.

The fakes (tests/fakes.py): audio bytes are 16 kHz PCM16 as they are; a frame louder than 0.1 is
speech; the transcriber hears two words of "one two three ..." per second of loud audio.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading

import numpy as np
import openai
import pytest
import websockets

from app.services.realtime.intake import CONVERT_PIECE_BYTES
from tests.conftest import pin, until

RATE = 16_000  # the fake PCM stream takes bytes at 16 kHz as they are
CHUNK = RATE * 2 // 10  # 100 ms


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def loud(seconds: float) -> bytes:
    return (np.full(int(RATE * seconds), 16384, dtype="<i2")).tobytes()


def quiet(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def sdk(url: str, **kwargs) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=kwargs.pop("api_key", "unused"), max_retries=0, **kwargs)


def session(turn_detection: dict | None | str = "server_vad", **extra) -> dict:
    audio_input: dict = {
        "format": {"type": "audio/pcm", "rate": 24000},
        "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
    }
    audio_input["turn_detection"] = (
        {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500}
        if turn_detection == "server_vad"
        else turn_detection
    )
    return {"type": "transcription", "audio": {"input": audio_input}, **extra}


async def send_audio(connection, audio: bytes, pause: float = 0.01) -> None:
    for offset in range(0, len(audio), CHUNK):
        await connection.send(
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio[offset : offset + CHUNK]).decode()}
        )
        await asyncio.sleep(pause)  # lets the server's decoder loop run between appends


async def events_until(connection, done, timeout: float = 10.0) -> list:
    events = []
    while True:
        event = await asyncio.wait_for(connection.recv(), timeout)
        events.append(event)
        if done(event):
            return events


def completed(event) -> bool:
    return event.type == "conversation.item.input_audio_transcription.completed"


async def one_turn(url: str, config: dict, audio: bytes) -> tuple[object, list]:
    """Configure a session, send `audio`, and return `session.updated` and the events up to `completed`."""
    async with sdk(url).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": config})
        updated = await connection.recv()
        await send_audio(connection, audio)
        return updated, await events_until(connection, completed)


@pytest.mark.anyio
async def test_a_server_vad_turn_streams_deltas_while_speaking_and_completes_after_the_silence(live_server):
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        created = await connection.recv()
        assert created.type == "session.created" and created.session.type == "transcription"
        await connection.send({"type": "session.update", "session": session()})
        updated = await connection.recv()
        assert updated.type == "session.updated"
        assert updated.session.audio.input.turn_detection.silence_duration_ms == 500
        assert updated.session.audio.input.transcription.language == "en"

        await send_audio(connection, quiet(0.5) + loud(3.0) + quiet(1.0))
        events = await events_until(connection, completed)

    types = [e.type for e in events]
    started, stopped = (
        events[types.index("input_audio_buffer.speech_started")],
        events[types.index("input_audio_buffer.speech_stopped")],
    )
    assert started.audio_start_ms == 500 - 300 - 500 % 32  # speech at the first loud frame, less the padding
    assert 3500 <= stopped.audio_end_ms <= 3500 + 500 + 64  # the end of speech plus the silence that ended it
    assert started.item_id == stopped.item_id
    deltas = [e for e in events if e.type == "conversation.item.input_audio_transcription.delta"]
    assert types.index("conversation.item.input_audio_transcription.delta") < types.index(
        "input_audio_buffer.speech_stopped"
    ), "text arrives while the person is still speaking"
    done = events[-1]
    assert done.item_id == started.item_id and done.content_index == 0
    assert done.transcript == "one two three four five six"
    assert [language.code for language in done.languages] == ["en"]
    assert "".join(d.delta for d in deltas) == done.transcript
    assert done.usage.type == "duration" and done.usage.seconds == pytest.approx(
        (stopped.audio_end_ms - 200) / 1000, abs=0.05
    )
    committed = events[types.index("input_audio_buffer.committed")]
    assert committed.item_id == done.item_id
    added = events[types.index("conversation.item.added")]
    assert added.item.id == done.item_id and added.item.role == "user"
    assert types.index("conversation.item.added") < types.index("conversation.item.input_audio_transcription.delta")


@pytest.mark.anyio
async def test_each_turn_is_its_own_item_chained_to_the_previous_one(live_server):
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": session()})
        await connection.recv()
        await send_audio(connection, loud(1.0) + quiet(1.0) + loud(1.5) + quiet(1.0))
        first = await events_until(connection, completed)
        second = await events_until(connection, completed)
    assert first[-1].transcript == "one two" and second[-1].transcript == "one two three"
    committed = next(e for e in second if e.type == "input_audio_buffer.committed")
    assert committed.previous_item_id == first[-1].item_id != second[-1].item_id


@pytest.mark.anyio
async def test_without_turn_detection_the_client_commits_the_buffer(live_server):
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": session(turn_detection=None)})
        updated = await connection.recv()
        assert updated.session.audio.input.turn_detection is None
        await send_audio(connection, loud(2.0) + quiet(2.0))
        await connection.send({"type": "input_audio_buffer.commit"})
        events = await events_until(connection, completed)
    types = [e.type for e in events]
    assert "input_audio_buffer.speech_started" not in types
    assert "input_audio_buffer.committed" in types
    assert events[-1].transcript == "one two three four"
    assert events[-1].usage.seconds == pytest.approx(4.0, abs=0.01)


@pytest.mark.anyio
async def test_clear_drops_the_buffer_and_an_empty_commit_is_an_error_the_session_survives(live_server):
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": session(turn_detection=None)})
        await connection.recv()
        await send_audio(connection, loud(1.0))
        await connection.send({"type": "input_audio_buffer.clear"})
        cleared = await events_until(connection, lambda e: e.type == "input_audio_buffer.cleared")
        assert all(e.type != "conversation.item.input_audio_transcription.completed" for e in cleared)
        await connection.send({"type": "input_audio_buffer.commit", "event_id": "evt_commit"})
        error = await connection.recv()
        assert error.type == "error" and error.error.code == "input_audio_buffer_commit_empty"
        assert error.error.event_id == "evt_commit"
        await send_audio(connection, loud(1.0))
        await connection.send({"type": "input_audio_buffer.commit"})
        events = await events_until(connection, completed)
    assert events[-1].transcript == "one two"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("message", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ('{"type": "response.create"}', "invalid_event_type", "type"),
        ('{"type": "input_audio_buffer.append", "audio": "%%%"}', "invalid_value", "audio"),
        ('{"type": "input_audio_buffer.append"}', "invalid_value", "audio"),
        ('{"type": "session.update", "session": {"audio": {}}}', "invalid_value", "session.type"),
        (
            '{"type": "session.update", "session": {"type": "transcription", "audio": {"input": {"turn_detection":'
            ' {"type": "server_vad", "threshold": 2}}}}}',
            "invalid_value",
            "session.audio.input.turn_detection.threshold",
        ),
        (
            '{"type": "session.update", "session": {"type": "transcription", "audio": {"input": {"format":'
            ' {"type": "audio/pcm", "rate": 16000}}}}}',
            "invalid_value",
            "session.audio.input.format.rate",
        ),
        ('{"type": "session.update", "session": {"type": "realtime"}}', "invalid_value", "session.type"),
        (
            '{"type": "session.update", "session": {"type": "transcription", "audio": {"input": {"transcription":'
            ' {"language": "klingon"}}}}}',
            "invalid_value",
            "session.audio.input.transcription.language",
        ),
        (
            '{"type": "session.update", "session": {"type": "transcription", "audio": {"input": {"transcription":'
            ' {"model": "no-such-model"}}}}}',
            "model_not_found",
            "session.audio.input.transcription.model",
        ),
    ],
)
async def test_a_bad_event_gets_an_error_event_and_the_session_goes_on(live_server, message, code, param):
    async with websockets.connect(f"{live_server.replace('http', 'ws')}/v1/realtime?intent=transcription") as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"
        await socket.send(message)
        error = json.loads(await socket.recv())
        assert error["type"] == "error", error
        assert error["error"]["code"] == code and error["error"]["param"] == param, error
        assert error["error"]["type"] == "invalid_request_error" and error["error"]["message"]
        await socket.send(json.dumps({"type": "session.update", "session": session()}))
        assert json.loads(await socket.recv())["type"] == "session.updated"


@pin(MODELS__ALLOWED="tiny.en")
@pytest.mark.anyio
async def test_a_model_the_operator_does_not_allow_is_refused_as_over_http(live_server):
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        refused = session()
        refused["audio"]["input"]["transcription"]["model"] = "large-v3"
        await connection.send({"type": "session.update", "session": refused})
        error = await connection.recv()
        assert error.type == "error" and error.error.code == "permission_denied"
        assert error.error.param == "session.audio.input.transcription.model" and "tiny.en" in error.error.message
        await connection.send({"type": "session.update", "session": session()})  # the default model: allowed
        assert (await connection.recv()).type == "session.updated"


@pytest.mark.anyio
async def test_logprobs_come_with_every_delta_and_the_completed_transcript(live_server):
    updated, events = await one_turn(
        live_server, session(include=["item.input_audio_transcription.logprobs"]), loud(1.5) + quiet(1.0)
    )
    assert updated.session.include == ["item.input_audio_transcription.logprobs"]
    deltas = [e for e in events if e.type.endswith(".delta")]
    assert all(d.logprobs and len(d.logprobs) == len(d.delta.split()) for d in deltas)
    done = events[-1]
    assert [p.token for p in done.logprobs] == [" one", " two", " three"]
    assert done.logprobs[0].bytes == list(b" one") and done.logprobs[0].logprob == pytest.approx(-0.1)


@pytest.mark.anyio
async def test_partials_when_asked_show_the_unstable_tail_and_never_reach_the_transcript(live_server):
    updated, events = await one_turn(
        live_server, session(include=["item.input_audio_transcription.partial"]), loud(2.0) + quiet(1.0)
    )
    assert updated.session.include == ["item.input_audio_transcription.partial"]
    partials = [e for e in events if e.type == "conversation.item.input_audio_transcription.partial"]
    assert partials and all(p.item_id == events[-1].item_id for p in partials)
    assert any("?" in p.text for p in partials)  # the fake's cut-off last word, never stable
    assert "?" not in events[-1].transcript


@pytest.mark.anyio
async def test_partials_are_not_sent_unless_asked(live_server):
    _, events = await one_turn(live_server, session(), loud(2.0) + quiet(1.0))
    assert not any(e.type.endswith(".partial") for e in events)


@pytest.mark.anyio
async def test_a_failed_transcription_names_its_item_and_the_session_goes_on(live_server, fake_live_transcriber):
    fake_live_transcriber.fail_final = True
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": session(turn_detection=None)})
        await connection.recv()
        await send_audio(connection, loud(0.5))
        await connection.send({"type": "input_audio_buffer.commit"})
        events = await events_until(connection, lambda e: e.type.endswith("transcription.failed"))
        committed = next(e for e in events if e.type == "input_audio_buffer.committed")
        assert events[-1].item_id == committed.item_id and events[-1].error.code == "internal_error"
        fake_live_transcriber.fail_final = False
        await send_audio(connection, loud(0.5))
        await connection.send({"type": "input_audio_buffer.commit"})
        assert (await events_until(connection, completed))[-1].transcript == "one"


@pytest.mark.anyio
async def test_the_input_format_is_fixed_once_audio_has_been_sent(live_server):
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": session(turn_detection=None)})
        await connection.recv()
        await send_audio(connection, loud(0.2))
        await connection.send(
            {
                "type": "session.update",
                "session": {"type": "transcription", "audio": {"input": {"format": {"type": "audio/pcmu"}}}},
            }
        )
        error = await connection.recv()
    assert error.type == "error" and error.error.param == "session.audio.input.format.type"


# --- the edge: keys, intent, limits ----------------------------------------------------------------


async def refused(url: str, **connect) -> tuple[dict, int]:
    async with websockets.connect(url, **connect) as socket:
        event = json.loads(await socket.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    return event, closed.value.rcvd.code


def ws(url: str, query: str = "intent=transcription") -> str:
    return f"{url.replace('http', 'ws')}/v1/realtime?{query}"


@pin(API_KEY="sk-live")
@pytest.mark.anyio
async def test_keys_come_as_a_bearer_header_or_as_the_browser_subprotocol(live_server):
    async with sdk(live_server, api_key="sk-live").realtime.connect(
        extra_query={"intent": "transcription"}
    ) as connection:
        assert (await connection.recv()).type == "session.created"
    async with websockets.connect(
        ws(live_server), subprotocols=["realtime", "openai-insecure-api-key.sk-live"]
    ) as socket:
        assert socket.subprotocol == "realtime"
        assert json.loads(await socket.recv())["type"] == "session.created"
    event, code = await refused(ws(live_server), subprotocols=["realtime", "openai-insecure-api-key.wrong"])
    assert event["error"]["code"] == "invalid_api_key" and code == 1008
    event, code = await refused(ws(live_server))
    assert event["error"]["code"] == "missing_api_key" and code == 1008


@pytest.mark.anyio
async def test_only_transcription_sessions_are_served(live_server):
    event, code = await refused(ws(live_server, "model=gpt-realtime"))
    assert event["error"]["code"] == "unsupported_intent" and code == 1008


@pin(REALTIME__MAX_SESSIONS="1")
@pytest.mark.anyio
async def test_sessions_beyond_the_limit_are_refused_until_one_closes(live_server, container):
    async with websockets.connect(ws(live_server)) as first:
        assert json.loads(await first.recv())["type"] == "session.created"
        event, code = await refused(ws(live_server))
        assert event["error"]["code"] == "session_limit_reached" and code == 1013
    await until(lambda: container.realtime().open_sessions == 0, what="the first session closed")
    async with websockets.connect(ws(live_server)) as again:
        assert json.loads(await again.recv())["type"] == "session.created"


@pin(REALTIME__IDLE_TIMEOUT_SECONDS="0.5")
@pytest.mark.anyio
async def test_a_silent_client_is_told_and_disconnected(live_server):
    async with websockets.connect(ws(live_server)) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"
        assert json.loads(await socket.recv())["error"]["code"] == "idle_timeout"
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
    assert socket.close_code == 1000


@pin(REALTIME__MAX_SESSION_SECONDS="1")
@pytest.mark.anyio
async def test_a_session_ends_at_its_maximum_length(live_server):
    async with websockets.connect(ws(live_server)) as socket:
        await socket.recv()
        for _ in range(5):  # busy, not idle, until the time is up
            await socket.send(
                json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(quiet(0.1)).decode()})
            )
            await asyncio.sleep(0.1)
        messages = [json.loads(m) async for m in socket]
    assert messages[-1]["error"]["code"] == "session_expired"
    assert socket.close_code == 1000


@pin(REALTIME__MAX_APPEND_BYTES="1000", REALTIME__MAX_BUFFER_SECONDS="1")
@pytest.mark.anyio
async def test_appends_and_untranscribed_audio_are_bounded(live_server):
    async with websockets.connect(ws(live_server)) as socket:
        await socket.recv()
        await socket.send(json.dumps({"type": "session.update", "session": session(turn_detection=None)}))
        await socket.recv()
        await socket.send(
            json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(2000)).decode()})
        )
        assert json.loads(await socket.recv())["error"]["code"] == "audio_too_large"
        codes = []
        for _ in range(80):  # 2 s of audio in 25 ms appends, never committed
            await socket.send(
                json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(loud(0.025)).decode()})
            )
        while "input_audio_buffer_full" not in codes:
            event = json.loads(await asyncio.wait_for(socket.recv(), 5))
            codes.append(event.get("error", {}).get("code"))


@pin(REALTIME__MAX_BUFFER_SECONDS="1")
@pytest.mark.anyio
async def test_silence_between_turns_is_not_held(live_server):
    async with websockets.connect(ws(live_server)) as socket:
        await socket.recv()
        await socket.send(json.dumps({"type": "session.update", "session": session()}))
        await socket.recv()
        for _ in range(30):  # 3 s of silence, three times the buffer limit
            await socket.send(
                json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(quiet(0.1)).decode()})
            )
        await socket.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert json.loads(await socket.recv())["type"] == "input_audio_buffer.cleared"  # and no error before it


@pytest.mark.anyio
async def test_without_keys_other_sites_and_rebinding_names_are_refused(live_server):
    port = live_server.rsplit(":", 1)[1]
    event, code = await refused(ws(live_server), origin="https://evil.example")  # any page the user opens
    assert event["error"]["code"] == "permission_denied" and code == 1008
    # A name that rebinds to this machine: the socket connects here, the Host header names the attacker's.
    event, code = await refused(ws(f"http://rebind.evil.example:{port}"), host="127.0.0.1", port=int(port))
    assert event["error"]["code"] == "permission_denied" and "Host" in event["error"]["message"]
    # The server's own page (same origin) and clients that send no Origin are served.
    async with websockets.connect(ws(live_server), origin=f"http://127.0.0.1:{port}") as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"
    async with websockets.connect(ws(live_server)) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"


@pin(TRUSTED_HOSTS="speech.lan")
@pytest.mark.anyio
async def test_trusted_hosts_may_name_the_server_and_be_origins(live_server):
    port = live_server.rsplit(":", 1)[1]
    async with websockets.connect(
        ws(f"http://speech.lan:{port}"), origin="https://speech.lan", host="127.0.0.1", port=int(port)
    ) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"


@pin(API_KEY="sk-live")
@pytest.mark.anyio
async def test_with_keys_the_key_decides_not_the_origin(live_server):
    async with websockets.connect(
        ws(live_server), origin="https://app.example", subprotocols=["realtime", "openai-insecure-api-key.sk-live"]
    ) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"


@pin(REALTIME__MAX_BUFFER_SECONDS="1")
@pytest.mark.anyio
async def test_an_append_that_would_overfill_the_buffer_is_refused_before_it_is_converted(live_server, container):
    vad_calls = container.live_audio().vad_on_loop
    async with websockets.connect(ws(live_server)) as socket:
        await socket.recv()
        # 3 s at the 48 kB/s of audio/pcm: over the 1 s limit with nothing held yet.
        await socket.send(
            json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(144_000)).decode()})
        )
        error = json.loads(await socket.recv())
        assert error["error"]["code"] == "input_audio_buffer_full" and error["error"]["param"] == "audio"
        assert vad_calls == []


@pin(REALTIME__MAX_AHEAD_SECONDS="1")
@pytest.mark.anyio
async def test_audio_cannot_run_far_ahead_of_the_clock_even_when_silence_is_dropped(live_server):
    async with websockets.connect(ws(live_server)) as socket:
        await socket.recv()
        codes = []
        for _ in range(30):  # 3 s of silence at once: nothing is held, but it is 2 s ahead of the clock
            await socket.send(
                json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(quiet(0.1)).decode()})
            )
        await socket.send(json.dumps({"type": "input_audio_buffer.clear"}))
        while (event := json.loads(await asyncio.wait_for(socket.recv(), 5)))["type"] != "input_audio_buffer.cleared":
            codes.append(event["error"]["code"])
        assert codes and set(codes) == {"input_audio_buffer_full"}


@pytest.mark.anyio
async def test_conversion_and_vad_run_off_the_event_loop(live_server, container):
    vad_calls = container.live_audio().vad_on_loop
    await one_turn(live_server, session(), quiet(0.3) + loud(1.0) + quiet(1.0))
    assert vad_calls and not any(vad_calls)


@pytest.mark.anyio
async def test_a_large_append_is_converted_in_bounded_pieces_off_the_event_loop(live_server, container):
    """30 s in one append (the fake stream reads 16 kHz PCM16): converted CONVERT_PIECE_BYTES at a time."""
    live_audio = container.live_audio()
    async with websockets.connect(ws(live_server)) as socket:
        await socket.recv()
        await socket.send(
            json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(loud(30)).decode()})
        )
        await socket.send(json.dumps({"type": "input_audio_buffer.clear"}))
        while json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] != "input_audio_buffer.cleared":
            pass
    assert live_audio.vad_sizes == [CONVERT_PIECE_BYTES // 2] * 2 and not any(live_audio.vad_on_loop)


@pin(API_KEY="sk-one", ADMIN_API_KEYS="sk-two", REALTIME__MAX_SESSIONS_PER_KEY="1")
@pytest.mark.anyio
async def test_one_key_cannot_take_every_session(live_server):
    key = lambda name: {"subprotocols": ["realtime", f"openai-insecure-api-key.{name}"]}  # noqa: E731
    async with websockets.connect(ws(live_server), **key("sk-one")) as first:
        assert json.loads(await first.recv())["type"] == "session.created"
        event, code = await refused(ws(live_server), **key("sk-one"))
        assert event["error"]["code"] == "session_limit_reached" and "API key" in event["error"]["message"]
        assert code == 1013
        async with websockets.connect(ws(live_server), **key("sk-two")) as other:
            assert json.loads(await other.recv())["type"] == "session.created"


@pin(REALTIME__MAX_PENDING_TURNS="2")
@pytest.mark.anyio
async def test_turns_waiting_for_their_transcript_are_bounded(live_server, fake_live_transcriber):
    fake_live_transcriber.release = threading.Event()  # every decoding waits: committed turns queue up
    try:
        async with websockets.connect(ws(live_server)) as socket:
            await socket.recv()
            await socket.send(json.dumps({"type": "session.update", "session": session(turn_detection=None)}))
            await socket.recv()
            codes = []
            for _ in range(3):
                await socket.send(
                    json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(loud(0.2)).decode()})
                )
                await socket.send(json.dumps({"type": "input_audio_buffer.commit"}))
                await asyncio.sleep(0.1)
            while len(codes) < 3:
                event = json.loads(await asyncio.wait_for(socket.recv(), 5))
                if event["type"] in ("input_audio_buffer.committed", "error"):
                    codes.append(event.get("error", {}).get("code", event["type"]))
            # Two turns committed and not yet transcribed (nothing finishes): the third is refused.
            assert codes == ["input_audio_buffer.committed", "input_audio_buffer.committed", "too_many_pending_turns"]
    finally:
        fake_live_transcriber.release.set()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("delay", "transcript"), [(None, "one two three four five six"), ("low", "one too three four five six")]
)
async def test_delay_decides_whether_completed_may_correct_the_deltas(
    live_server, fake_live_transcriber, delay, transcript
):
    """Quick live decodings mishear "two" as "too", and the deltas send it. At the default delay
    (`medium`) the turn is decoded afresh with the full beam when it ends, and `completed` says "two";
    at `low` it is exactly the deltas."""
    fake_live_transcriber.misheard = {"two": "too"}
    config = session()
    if delay:
        config["audio"]["input"]["transcription"]["delay"] = delay
    updated, events = await one_turn(live_server, config, quiet(0.5) + loud(3.0) + quiet(1.0))
    assert updated.session.audio.input.transcription.delay == (delay or "medium")
    deltas = "".join(e.delta for e in events if e.type == "conversation.item.input_audio_transcription.delta")
    assert deltas == "one too three four five six"
    assert events[-1].transcript == transcript


@pytest.mark.anyio
async def test_an_unknown_delay_is_refused_naming_it(live_server):
    config = session()
    config["audio"]["input"]["transcription"]["delay"] = "eventually"
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": config})
        error = await connection.recv()
    assert error.type == "error" and error.error.param == "session.audio.input.transcription.delay"


@pytest.mark.anyio
async def test_keywords_and_languages_reach_the_decoder_and_are_echoed(live_server, fake_live_transcriber):
    config = session()
    config["audio"]["input"]["transcription"] = {
        "model": "gpt-4o-transcribe",
        "keywords": ["WhisperX", " Litestar "],
        "languages": ["de", "en"],
    }
    updated, events = await one_turn(live_server, config, quiet(0.5) + loud(2.0) + quiet(1.0))
    echoed = updated.session.audio.input.transcription
    assert (echoed.keywords, echoed.languages) == (["WhisperX", "Litestar"], ["de", "en"])
    assert completed(events[-1])
    assert {(r.hotwords, r.languages) for r in fake_live_transcriber.requests} == {("WhisperX, Litestar", ("de", "en"))}


@pytest.mark.anyio
@pytest.mark.parametrize("transcription", [{"languages": ["xx"]}, {"language": "fr", "languages": ["de", "en"]}])
async def test_languages_that_cannot_be_honoured_are_refused_naming_them(live_server, transcription):
    config = session()
    config["audio"]["input"]["transcription"] = {"model": "gpt-4o-transcribe", **transcription}
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": config})
        error = await connection.recv()
    assert error.type == "error" and error.error.param == "session.audio.input.transcription.languages"
