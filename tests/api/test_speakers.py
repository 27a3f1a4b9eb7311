"""Named speakers: OpenAI's `known_speaker_names[]` / `known_speaker_references[]` through the official
client, and the speaker registry (`/v1/speakers`), per API key.

The fakes: an upload of b"4.0" is 4 s of audio; a recording's voice is `voice(int(duration))`; in a
transcript, 0-1 s is spoken by voice 3 (SPEAKER_00) and 1-2 s by voice 4 (SPEAKER_01).
"""

from __future__ import annotations

import base64
import threading

import openai
import pytest

from app.domain.models import SpeakerTurn
from tests.conftest import audio_file, pin

URL = "/v1/audio/transcriptions"


def reference(seconds: float) -> str:
    return "data:audio/wav;base64," + base64.b64encode(str(seconds).encode()).decode()


def official(client, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(
        api_key=key,
        base_url=f"{client.base_url}/v1",
        http_client=client,
        _strict_response_validation=True,
        max_retries=0,
    )


def test_known_speakers_through_the_official_client(client):
    result = official(client).audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=audio_file()["file"],
        response_format="diarized_json",
        chunking_strategy="auto",
        known_speaker_names=["Alice", "Bob"],
        known_speaker_references=[reference(4.0), reference(5.0)],
    )  # Alice sounds like 1-2 s; Bob is silent
    assert [(s.speaker, s.text) for s in result.segments] == [("SPEAKER_00", "Hello world."), ("Alice", "How are you?")]


def test_the_diarizing_model_diarizes_by_itself_with_diarized_json_as_its_format(client):
    response = client.post(URL, files=audio_file(), data={"model": "gpt-4o-transcribe-diarize"})
    assert response.status_code == 200
    body = response.json()
    assert {s["speaker"] for s in body["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    plain = client.post(URL, files=audio_file(), data={"model": "gpt-4o-transcribe"})
    assert plain.json() == {
        "text": "Hello world. How are you?",
        "languages": [{"code": "en"}],
        "usage": plain.json()["usage"],
    }


def test_known_speakers_name_speakers_in_every_format_that_shows_them(client):
    fields = {"known_speaker_names[]": "Alice", "known_speaker_references[]": reference(4.0)}
    verbose = client.post(
        URL,
        files=audio_file(),
        data={**fields, "response_format": "verbose_json", "timestamp_granularities[]": ["segment", "word"]},
    ).json()
    assert [s["speaker"] for s in verbose["segments"]] == ["SPEAKER_00", "Alice"]
    assert {w["speaker"] for w in verbose["words"][2:]} == {"Alice"}
    srt = client.post(URL, files=audio_file(), data={**fields, "response_format": "srt"}).text
    assert "[Alice]" in srt or "Alice:" in srt


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        (
            {"known_speaker_names[]": ["Alice", "Bob"], "known_speaker_references[]": [reference(4.0)]},
            "known_speaker_references[]",
        ),
        (
            {"known_speaker_names[]": "Alice", "known_speaker_references[]": reference(1.5)},
            "known_speaker_references[]",
        ),
        (
            {"known_speaker_names[]": "Alice", "known_speaker_references[]": reference(10.5)},
            "known_speaker_references[]",
        ),
        (
            {
                "known_speaker_names[]": "Alice",
                "known_speaker_references[]": "data:audio/wav;base64," + base64.b64encode(b"not audio").decode(),
            },
            "known_speaker_references[]",
        ),
        (
            {"known_speaker_names[]": "Alice", "known_speaker_references[]": "https://example.com/alice.wav"},
            "known_speaker_references[]",
        ),
        (
            {"known_speaker_names[]": "Alice", "known_speaker_references[]": "data:audio/wav;base64,%%%"},
            "known_speaker_references[]",
        ),
        ({"known_speaker_names[]": ["A", "B", "C", "D", "E"]}, "known_speaker_names[]"),
        (
            {"known_speaker_names[]": ["A", "A"], "known_speaker_references[]": [reference(4.0), reference(5.0)]},
            "known_speaker_names[]",
        ),
        ({"known_speaker_names[]": "x" * 65, "known_speaker_references[]": reference(4.0)}, "known_speaker_names[]"),
        ({"known_speaker_names[]": "Nobody"}, "known_speaker_names[]"),  # no references and nobody enrolled
    ],
)
def test_bad_known_speakers_get_a_400_naming_the_param(client, fields, param):
    response = client.post(URL, files=audio_file(), data={"response_format": "diarized_json", **fields})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


# --- the registry ---------------------------------------------------------------------------------------


def enrol(client, name: str, seconds: float = 4.0, key: str | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/v1/speakers", data={"name": name}, files=audio_file(seconds), headers=headers)


def test_an_enrolled_voice_is_named_by_name_alone(client):
    enrolled = enrol(client, "Alice")
    assert enrolled.status_code == 201
    alice = enrolled.json()
    assert alice["object"] == "speaker" and alice["name"] == "Alice" and alice["seconds"] == 4.0
    assert alice["id"].startswith("spk_") and set(alice) == {
        "id",
        "object",
        "name",
        "created_at",
        "seconds",
        "voice_model",
        "needs_reenrollment",
    }
    assert alice["voice_model"] == "fake-voices" and alice["needs_reenrollment"] is False
    assert client.get(f"/v1/speakers/{alice['id']}").json() == alice
    assert client.get("/v1/speakers").json() == {
        "object": "list",
        "data": [alice],
        "first_id": alice["id"],
        "last_id": alice["id"],
        "has_more": False,
    }

    result = official(client).audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=audio_file()["file"],
        response_format="diarized_json",
        chunking_strategy="auto",
        known_speaker_names=["Alice"],
    )
    assert [s.speaker for s in result.segments] == ["SPEAKER_00", "Alice"]

    assert client.delete(f"/v1/speakers/{alice['id']}").json() == {
        "id": alice["id"],
        "object": "speaker.deleted",
        "deleted": True,
    }
    assert client.get(f"/v1/speakers/{alice['id']}").status_code == 404
    assert client.get("/v1/speakers").json()["data"] == []
    gone = client.post(URL, files=audio_file(), data={"known_speaker_names[]": "Alice"})
    assert gone.status_code == 400 and gone.json()["error"]["param"] == "known_speaker_names[]"


def test_a_voice_enrolled_with_another_voice_model_must_be_enrolled_again(client, container):
    """Prints of two speaker encoders are not comparable: an entry written before the server's voice
    model changed (entries then recorded no model: resemblyzer made them) is listed as needing a new
    enrolment and refused by name, until the voice is enrolled again."""
    from app.domain.models import SpeakerProfile
    from tests.fakes import voice

    container.jobs.speaker_registry().add(
        SpeakerProfile(id="spk_old", owner="anonymous", name="Alice", voice=voice(4), created_at=1.0, seconds=5.0)
    )
    old = client.get("/v1/speakers/spk_old").json()
    assert old["voice_model"] == "resemblyzer" and old["needs_reenrollment"] is True
    refused = client.post(URL, files=audio_file(), data={"known_speaker_names[]": "Alice"})
    error = refused.json()["error"]
    assert refused.status_code == 400 and error["param"] == "known_speaker_names[]"
    assert "resemblyzer" in error["message"] and "enrol the voice again" in error["message"]

    assert enrol(client, "Alice", 4.0).json()["needs_reenrollment"] is False
    response = client.post(
        URL, files=audio_file(), data={"known_speaker_names[]": "Alice", "response_format": "diarized_json"}
    )
    assert [s["speaker"] for s in response.json()["segments"]] == ["SPEAKER_00", "Alice"]


def test_the_latest_enrolment_of_a_name_is_the_one_used(client):
    enrol(client, "Alice", 5.0)
    enrol(client, "Alice", 4.0)  # the voice that speaks at 1-2 s
    response = client.post(
        URL, files=audio_file(), data={"known_speaker_names[]": "Alice", "response_format": "diarized_json"}
    )
    assert [s["speaker"] for s in response.json()["segments"]] == ["SPEAKER_00", "Alice"]


@pytest.mark.parametrize(("seconds", "status"), [(1.0, 400), (61.0, 400), (2.0, 201), (60.0, 201)])
def test_enrolment_needs_two_to_sixty_seconds_of_speech(client, seconds, status):
    response = enrol(client, "Alice", seconds)
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["param"] == "file"


def test_enrolment_needs_a_name_and_audio(client):
    assert client.post("/v1/speakers", files=audio_file()).json()["error"]["param"] == "name"
    assert client.post("/v1/speakers", data={"name": "Alice"}).json()["error"]["param"] == "file"
    assert client.post("/v1/speakers", data={"name": "x" * 65}, files=audio_file(4)).json()["error"]["param"] == "name"
    not_audio = client.post("/v1/speakers", data={"name": "Alice"}, files={"file": ("a.wav", b"text", "audio/wav")})
    assert not_audio.status_code == 400 and not_audio.json()["error"]["param"] == "file"


@pin(API_KEY="key-a", ADMIN_API_KEYS="key-b")
def test_each_key_sees_only_its_own_speakers(client):
    a = enrol(client, "Alice", key="key-a").json()
    b = {"Authorization": "Bearer key-b"}
    assert client.get("/v1/speakers", headers=b).json()["data"] == []
    assert client.get(f"/v1/speakers/{a['id']}", headers=b).status_code == 404
    assert client.delete(f"/v1/speakers/{a['id']}", headers=b).status_code == 404
    named = client.post(URL, files=audio_file(), data={"known_speaker_names[]": "Alice"}, headers=b)
    assert named.status_code == 400
    assert client.get(f"/v1/speakers/{a['id']}", headers={"Authorization": "Bearer key-a"}).status_code == 200
    assert client.get("/v1/speakers").status_code == 401


def test_known_speakers_travel_with_an_async_job_as_voices(client):
    accepted = client.post(
        URL,
        files=audio_file(),
        data={
            "async": "true",
            "response_format": "diarized_json",
            "known_speaker_names[]": "Alice",
            "known_speaker_references[]": reference(4.0),
        },
    )
    assert accepted.status_code == 202
    result_url = accepted.json()["result_url"]
    for _ in range(200):
        result = client.get(result_url)
        if result.status_code == 200:
            break
    assert [s["speaker"] for s in result.json()["segments"]] == ["SPEAKER_00", "Alice"]


def test_rttm_is_the_diarizers_own_turns_and_diarizes_by_itself(client, fake_diarizer):
    fake_diarizer.turns = (SpeakerTurn(0.0, 1.2, "SPEAKER_00"), SpeakerTurn(0.9, 2.0, "SPEAKER_01"))  # cross-talk
    response = client.post(URL, files=audio_file(), data={"response_format": "rttm"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text.splitlines() == [
        "SPEAKER audio 1 0.000 1.200 <NA> <NA> SPEAKER_00 <NA> <NA>",
        "SPEAKER audio 1 0.900 1.100 <NA> <NA> SPEAKER_01 <NA> <NA>",
    ]
    assert fake_diarizer.calls  # rttm implies diarize
    named = client.post(
        URL,
        files=audio_file(),
        data={
            "response_format": "rttm",
            "known_speaker_names[]": "Alice",
            "known_speaker_references[]": reference(4.0),
        },
    )
    assert named.text.split("\n")[1].split()[7] == "Alice"  # known speakers name the turns too


def test_a_job_gives_its_turns_as_rttm_and_refuses_rttm_when_it_was_not_diarized(client):
    def finished(data: dict) -> str:
        accepted = client.post(URL, files=audio_file(), data={"async": "true", **data})
        assert accepted.status_code == 202
        for _ in range(200):
            if client.get(accepted.json()["result_url"]).status_code == 200:
                break
        return accepted.json()["result_url"]

    diarized = finished({"response_format": "rttm"})
    assert client.get(diarized).text.count("SPEAKER audio 1 ") == 2
    plain = finished({"response_format": "json"})
    refused = client.get(plain, params={"response_format": "rttm"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "response_format"


def test_num_speakers_fixes_the_count_for_the_diarizer(client, fake_diarizer):
    assert client.post(URL, files=audio_file(), data={"diarize": "true", "num_speakers": "3"}).status_code == 200
    assert (fake_diarizer.calls[-1].min_speakers, fake_diarizer.calls[-1].max_speakers) == (3, 3)
    client.post(
        URL, files=audio_file(), data={"num_speakers": "2", "min_speakers": "2", "response_format": "diarized_json"}
    )
    assert (fake_diarizer.calls[-1].min_speakers, fake_diarizer.calls[-1].max_speakers) == (2, 2)
    clash = client.post(URL, files=audio_file(), data={"diarize": "true", "num_speakers": "2", "max_speakers": "3"})
    assert clash.status_code == 400 and clash.json()["error"]["param"] == "num_speakers"
    assert client.post(URL, files=audio_file(), data={"num_speakers": "0"}).json()["error"]["param"] == "num_speakers"


@pin(MAX_CONCURRENT_TRANSCRIPTIONS="1", MAX_QUEUED_REQUESTS="0")
def test_references_and_enrolments_are_decoded_inside_admission(client, fake_transcriber):
    fake_transcriber.release = threading.Event()
    busy = threading.Thread(target=lambda: client.post(URL, files=audio_file()))
    busy.start()
    try:
        assert fake_transcriber.started.wait(10)  # the one inference slot is taken
        assert enrol(client, "Alice").status_code == 429
        referenced = client.post(
            URL,
            files=audio_file(),
            data={"known_speaker_names[]": "Alice", "known_speaker_references[]": reference(4.0)},
        )
        assert referenced.status_code == 429
    finally:
        fake_transcriber.release.set()
        busy.join(10)
    assert enrol(client, "Alice").status_code == 201


@pin(MAX_SPEAKERS_PER_KEY="3")
def test_enrolments_per_key_are_bounded_and_listed_a_page_at_a_time(client):
    ids = [enrol(client, name).json()["id"] for name in ("A", "B", "C")]
    refused = enrol(client, "D")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "speaker_limit_reached"
    first = client.get("/v1/speakers", params={"limit": 2}).json()
    assert [s["id"] for s in first["data"]] == ids[:2] and first["has_more"] is True and first["last_id"] == ids[1]
    rest = client.get("/v1/speakers", params={"limit": 2, "after": first["last_id"]}).json()
    assert [s["id"] for s in rest["data"]] == ids[2:] and rest["has_more"] is False
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"after": "spk_nobody"}):
        response = client.get("/v1/speakers", params=bad)
        assert response.status_code == 400, (bad, response.text)
    client.delete(f"/v1/speakers/{ids[0]}")
    assert enrol(client, "D").status_code == 201  # room again
