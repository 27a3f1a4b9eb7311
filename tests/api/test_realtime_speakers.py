"""Speakers in live sessions (`gpt-4o-transcribe-diarize`), through the official SDK, with fake models.

The fake voice printer hears a piece's loudness as its voice (0.5 -> voice 5, 0.3 -> voice 3), so a
test speaks as different people by speaking louder or softer; the fake transcriber hears two words of
"one two three ..." per second of loud audio.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.api.test_realtime import completed, events_until, quiet, sdk, send_audio, session
from tests.conftest import audio_file

RATE = 16_000
SEGMENT = "conversation.item.input_audio_transcription.segment"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def voices_by_level(fake_voice_printer):
    fake_voice_printer.by_level = True


def speech(seconds: float, level: float) -> bytes:
    return np.full(int(RATE * seconds), int(level * 32768), dtype="<i2").tobytes()


def diarized(**transcription) -> dict:
    config = session()
    config["audio"]["input"]["transcription"] = {
        "model": "gpt-4o-transcribe-diarize",
        "language": "en",
        **transcription,
    }
    return config


async def turns(url: str, config: dict, audio: bytes, count: int) -> list:
    """Every event of `count` turns of `audio` in a session configured with `config`."""
    async with sdk(url).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": config})
        updated = await connection.recv()
        assert updated.type == "session.updated", updated
        await send_audio(connection, audio)
        events = []
        for _ in range(count):
            events += await events_until(connection, completed)
    return events


def segments_by_item(events) -> dict[str, list]:
    found: dict[str, list] = {}
    for event in events:
        if event.type == SEGMENT:
            found.setdefault(event.item_id, []).append(event)
    return found


@pytest.mark.anyio
async def test_each_turn_names_its_speaker_and_a_person_keeps_their_label_all_session(live_server):
    audio = b"".join(speech(2.0, level) + quiet(1.0) for level in (0.5, 0.3, 0.5))
    events = await turns(live_server, diarized(), audio, 3)

    done = [e for e in events if completed(e)]
    by_item = segments_by_item(events)
    speakers = [[s.speaker for s in by_item[d.item_id]] for d in done]
    assert speakers == [["SPEAKER_00"], ["SPEAKER_01"], ["SPEAKER_00"]]
    for turn in done:
        (segment,) = by_item[turn.item_id]
        assert segment.text == turn.transcript and segment.content_index == 0
        assert 0.0 <= segment.start < segment.end <= turn.usage.seconds + 0.05
    for turn in done:  # a turn's segments come before its `completed`
        last = max(i for i, e in enumerate(events) if e.type == SEGMENT and e.item_id == turn.item_id)
        assert last < events.index(turn)
    assert len({s.id for segs in by_item.values() for s in segs}) == 3, "segment ids are unique in the session"


@pytest.mark.anyio
async def test_a_turn_two_people_speak_in_is_split_into_their_segments(live_server):
    events = await turns(live_server, diarized(), speech(3.0, 0.5) + speech(2.0, 0.3) + quiet(1.0), 1)
    (turn,) = [e for e in events if completed(e)]
    first, second = segments_by_item(events)[turn.item_id]
    assert (first.speaker, second.speaker) == ("SPEAKER_00", "SPEAKER_01")
    assert first.end == pytest.approx(second.start, abs=0.8) and second.start == pytest.approx(3.2, abs=0.8)
    assert f"{first.text} {second.text}" == turn.transcript
    assert first.text.startswith("one") and second.text.endswith("ten")


@pytest.mark.anyio
async def test_enrolled_voices_name_the_speakers(live_server):
    async with httpx.AsyncClient(base_url=live_server) as client:
        enrolled = await client.post("/v1/speakers", data={"name": "Ana"}, files=audio_file(5.0))  # voice 5
        assert enrolled.status_code == 201, enrolled.text
    audio = speech(2.0, 0.5) + quiet(1.0) + speech(2.0, 0.3) + quiet(1.0)
    events = await turns(live_server, diarized(known_speaker_names=["Ana"]), audio, 2)
    assert [s.speaker for segs in segments_by_item(events).values() for s in segs] == ["Ana", "SPEAKER_00"]


@pytest.mark.anyio
async def test_a_name_nobody_enrolled_is_refused_naming_the_field(live_server):
    async with sdk(live_server).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        await connection.send({"type": "session.update", "session": diarized(known_speaker_names=["Nobody"])})
        error = await connection.recv()
    assert error.type == "error"
    assert error.error.param == "session.audio.input.transcription.known_speaker_names"
    assert "Nobody" in error.error.message


@pytest.mark.anyio
async def test_without_the_diarizing_model_no_segments_are_sent(live_server, fake_voice_printer):
    events = await turns(live_server, session(), speech(2.0, 0.5) + quiet(1.0), 1)
    assert not [e for e in events if e.type == SEGMENT] and fake_voice_printer.calls == 0
