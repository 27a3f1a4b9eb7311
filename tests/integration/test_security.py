"""What a client can and cannot make the server do, against a real server process (`whisperx-api-server
serve`, bundled tiny.en, PyAV decoding, the whisperx diarization backend) started in the repository
root, so relative paths in a malicious upload would point at real files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
URL = "/v1/audio/transcriptions"
FOX = (FIXTURES / "en_fox.wav").read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("security")
    port = free_port()
    env = {
        **os.environ,
        "UVICORN_HOST": "127.0.0.1",
        "UVICORN_PORT": str(port),
        "DATA_DIR": str(tmp / "data"),
        "WHISPER__MODEL": "tiny.en",
        "WHISPER__CPU_THREADS": "2",
        "ALLOW_DOWNLOADS": "false",
        "BACKENDS__DIARIZATION": "whisperx",
        "MODELS__IDLE_UNLOAD_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    with (tmp / "server.log").open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "whisperx-api-server"), "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, 180)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in (tmp / "server.log").read_text()


def post(server: str, content: bytes = FOX, **data: str) -> httpx.Response:
    return httpx.post(server + URL, files={"file": ("upload.bin", content)}, data=data, timeout=120)


@pytest.mark.parametrize(
    "script",
    [
        b"ffconcat version 1.0\nfile 'tests/fixtures/en_fox.wav'\n",
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\ntests/fixtures/en_fox.wav\n#EXT-X-ENDLIST\n",
        b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\n",
    ],
)
def test_uploads_cannot_make_the_decoder_read_anything_else(server, script):
    response = post(server, script)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_audio"
    assert "fox" not in response.text.lower()


def test_a_real_recording_still_transcribes(server):
    response = post(server)
    assert response.status_code == 200 and "fox" in response.json()["text"].lower()


@pytest.mark.parametrize(
    "model", ["attacker/model-with-a-payload", "Systran/faster-whisper-large-v3", "/etc/passwd", "../../models/x"]
)
def test_a_client_cannot_name_an_arbitrary_model(server, model):
    response = post(server, model=model)
    assert response.status_code in (400, 404) and response.json()["error"]["param"] == "model"
    loading = httpx.post(server + "/models/load", data={"model": model}, timeout=30)
    assert loading.status_code in (400, 404)


@pytest.mark.parametrize("name", ["a b", "attacker/pipeline-with-code", "/tmp/pipeline"])
def test_diarization_pipelines_come_from_settings_only(server, name):
    response = httpx.post(server + "/diarize_models/load", data={"model": name}, timeout=30)
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"


def test_prompt_and_hotwords_are_capped_and_fit_the_decoder(server):
    huge = " ".join(["word"] * 3000)
    over = post(server, prompt=huge, hotwords=huge)
    assert over.status_code == 400 and over.json()["error"]["param"] in ("prompt", "hotwords")
    # At the caps, far past Whisper's 448 positions in tokens: they share its prompt budget.
    at_caps = post(server, prompt=("brown fox " * 410)[:4096], hotwords=("seashells " * 103)[:1024])
    assert at_caps.status_code == 200, at_caps.text


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com:99999/",
        "http://[::1/",
        f"http://{'a' * 64}.example.com/",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
    ],
)
def test_bad_callback_urls_are_400s(server, url):
    response = post(server, **{"async": "true", "callback_url": url})
    assert response.status_code == 400 and response.json()["error"]["param"] == "callback_url"


def test_made_up_methods_mint_no_metric_series(server):
    for i in range(3):
        httpx.request(f"XYZZY{i}", server + "/v1/models", timeout=10)
    metrics = httpx.get(server + "/metrics", timeout=10).text
    assert "XYZZY" not in metrics and 'method="OTHER"' in metrics


def test_an_idle_model_is_unloaded(server):
    assert httpx.post(server + "/models/load", data={"model": "tiny.en"}, timeout=120).status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        listed = httpx.get(server + "/models/list", timeout=10).json()["models"]
        if {"id": "tiny.en", "loaded": False} in listed:
            return
        time.sleep(0.25)
    raise AssertionError(f"tiny.en still loaded after MODELS__IDLE_UNLOAD_SECONDS=1: {listed}")


def test_info_and_catalog_of_a_real_server(server):
    info = httpx.get(server + "/info", timeout=10).json()
    assert info["mode"] == "local" and info["auth_required"] is False
    assert info["stages"]["transcription"]["default_model"] == "tiny.en"
    assert info["stages"]["diarization"]["backend"] == "whisperx"
    catalog = httpx.get(server + "/models/catalog", timeout=10).json()
    assert catalog["default"] == "tiny.en"
    by_id = {m["id"]: m for m in catalog["data"]}
    assert by_id["tiny.en"]["default"] and by_id["tiny.en"]["downloaded"]
    assert by_id["base"]["downloaded"]  # bundled
    assert "large-v3" not in by_id  # downloads are off: hub names are not offered


def test_agents_transcribe_real_speech_over_mcp_http_and_stdio(server):
    """The official MCP client: the /mcp endpoint directly, and `whisperx-api-server mcp` on stdio
    relaying to it."""
    import base64

    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client

    arguments = {"audio_base64": base64.b64encode(FOX).decode(), "response_format": "verbose_json"}

    async def over_http():
        async with (
            httpx.AsyncClient(timeout=120) as http,
            streamable_http_client(f"{server}/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool("transcribe", arguments)

    async def over_stdio():
        parameters = StdioServerParameters(
            command=str(Path(sys.executable).parent / "whisperx-api-server"),
            args=["mcp"],
            env={**os.environ, "WHISPERX_API_URL": server},
        )
        async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            names = {tool.name for tool in (await session.list_tools()).tools}
            return names, await session.call_tool("transcribe", arguments)

    direct = anyio.run(over_http)
    assert not direct.isError and "fox" in direct.structuredContent["text"].lower()
    assert direct.structuredContent["segments"], "the structured verbose_json result"
    names, relayed = anyio.run(over_stdio)
    assert names == {"transcribe", "translate", "list_models", "job_status"}
    assert not relayed.isError and "fox" in relayed.structuredContent["text"].lower()


def test_a_real_transcription_is_followed_from_another_connection(server):
    import threading

    answered: dict = {}
    sender = threading.Thread(
        target=lambda: answered.setdefault(
            "response",
            httpx.post(
                server + URL, files={"file": ("fox.wav", FOX)}, headers={"X-Request-ID": "fox-followed"}, timeout=120
            ),
        )
    )
    sender.start()
    seen: list[str] = []
    while sender.is_alive() or not seen or seen[-1] != "succeeded":
        status = httpx.get(f"{server}{URL}/fox-followed/status", timeout=10)
        if status.status_code == 200:
            seen.append(status.json()["status"])
        time.sleep(0.05)
        assert len(seen) < 2000
    sender.join()
    assert answered["response"].status_code == 200 and seen[-1] == "succeeded"
    assert "running" in seen, "seen from the second connection while it ran"
    srt = httpx.get(f"{server}{URL}/fox-followed/result", params={"response_format": "srt"}, timeout=10).text
    words = httpx.get(f"{server}{URL}/fox-followed/result", params={"response_format": "verbose_json"}, timeout=10)
    assert "-->" in srt and "fox" in srt.lower() and "fox" in words.json()["text"].lower()
