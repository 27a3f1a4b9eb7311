"""`whisperx-api-server mcp`: an MCP server on stdin/stdout, for agents that start their tools as
processes. It relays every tool listing and call to a running server's `/mcp` endpoint
(WHISPERX_API_URL, default http://127.0.0.1:8000; WHISPERX_API_KEY when it needs a key), so the tools,
their checks and their limits are the server's own."""

from __future__ import annotations

import os

import anyio
import httpx
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

# Transcribing a long recording takes a while; the server bounds the work itself.
CALL_TIMEOUT_SECONDS = 3600


async def relay(base_url: str, api_key: str | None) -> None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(CALL_TIMEOUT_SECONDS, connect=10)) as http,
        streamable_http_client(f"{base_url.rstrip('/')}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as remote,
    ):
        await remote.initialize()
        server = Server("whisperx-api-server")

        @server.list_tools()
        async def list_tools() -> list[types.Tool]:
            return (await remote.list_tools()).tools

        @server.call_tool(validate_input=False)  # the server validates, with the API's messages
        async def call_tool(name: str, arguments: dict) -> types.CallToolResult:
            return await remote.call_tool(name, arguments)

        async with stdio_server() as (stdin, stdout):
            await server.run(stdin, stdout, server.create_initialization_options())


def main() -> int:
    anyio.run(relay, os.environ.get("WHISPERX_API_URL", "http://127.0.0.1:8000"), os.environ.get("WHISPERX_API_KEY"))
    return 0
