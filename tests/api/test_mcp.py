"""The MCP endpoint through the official `mcp` client SDK (streamable HTTP) against real uvicorn."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import pin


def with_session(url: str, work: Callable[[ClientSession], Awaitable[Any]], headers: dict | None = None) -> Any:
    async def run() -> Any:
        async with (
            httpx.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return anyio.run(run)


def test_the_tools_are_listed_with_their_arguments(live_server):
    tools = with_session(live_server, lambda s: s.list_tools()).tools
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {"transcribe", "translate", "list_models", "job_status"}
    assert {"audio_url", "audio_base64", "response_format", "language", "diarize", "timestamp_granularities"} <= set(
        by_name["transcribe"].inputSchema["properties"]
    )


def test_transcribe_returns_the_text_and_the_structured_result(live_server, fake_transcriber):
    audio = base64.b64encode(b"2.0").decode()  # the fake decoder's 2 seconds
    result = with_session(
        live_server,
        lambda s: s.call_tool(
            "transcribe", {"audio_base64": audio, "response_format": "verbose_json", "language": "en"}
        ),
    )
    assert not result.isError
    assert result.structuredContent["text"] == "Hello world. How are you?"
    assert json.loads(result.content[0].text)["segments"]
    assert fake_transcriber.calls[-1].language == "en"
    srt = with_session(
        live_server, lambda s: s.call_tool("transcribe", {"audio_base64": audio, "response_format": "srt"})
    )
    assert srt.content[0].text.startswith("1\n00:00:00,000 --> ") and srt.structuredContent is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "exactly one"),
        ({"audio_base64": "not base64!"}, "not valid base64"),
        ({"audio_base64": base64.b64encode(b"not audio").decode()}, "could not be decoded"),
        ({"audio_url": "http://127.0.0.1:1/a.wav"}, "non-public"),
        ({"audio_base64": base64.b64encode(b"2.0").decode(), "response_format": "docx"}, "response_format"),
    ],
)
def test_bad_arguments_are_tool_errors_with_the_apis_message(live_server, arguments, message):
    result = with_session(live_server, lambda s: s.call_tool("transcribe", arguments))
    assert result.isError and message in result.content[0].text


def test_list_models_and_job_status(live_server):
    models = with_session(live_server, lambda s: s.call_tool("list_models", {})).structuredContent
    assert models == {"default": "base", "models": ["base", "tiny.en"]}
    missing = with_session(live_server, lambda s: s.call_tool("job_status", {"job_id": "job_nope"}))
    assert missing.isError and "No job" in missing.content[0].text


@pin(API_KEY="sk-agent")
def test_the_endpoint_needs_the_api_key(live_server):
    assert httpx.post(f"{live_server}/mcp", json={}, timeout=10).status_code == 401
    tools = with_session(live_server, lambda s: s.list_tools(), headers={"Authorization": "Bearer sk-agent"}).tools
    assert len(tools) == 4


def test_without_keys_other_sites_and_rebinding_names_are_refused(live_server):
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    port = live_server.rsplit(":", 1)[1]
    for extra in ({"Origin": "https://evil.example"}, {"Host": f"rebind.evil.example:{port}"}):
        refused = httpx.post(f"{live_server}/mcp", json=initialize, headers={**headers, **extra}, timeout=30)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    own = httpx.post(
        f"{live_server}/mcp", json=initialize, headers={**headers, "Origin": f"http://127.0.0.1:{port}"}, timeout=30
    )
    assert own.status_code == 200


@pin(MAX_UPLOAD_SIZE_BYTES="3000")
def test_a_body_past_the_limit_is_413_before_it_is_read(live_server):
    limit = 4000 + 1024 * 1024  # the base64 of 3000 bytes, plus the envelope
    declared = httpx.post(
        f"{live_server}/mcp",
        content=b"{" + b" " * (limit + 10),
        timeout=30,
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
    )
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "request_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b" " * 100_000

    streamed = httpx.post(
        f"{live_server}/mcp",
        content=chunks(),
        timeout=30,
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
    )
    assert streamed.status_code == 413
    audio = base64.b64encode(b"2.0").decode()  # a call within the limit still works
    assert not with_session(live_server, lambda s: s.call_tool("transcribe", {"audio_base64": audio})).isError
