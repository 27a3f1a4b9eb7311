"""Serves the web page (app/webui/static) at `/`, its assets under `/static/`."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).resolve().parents[1] / "webui" / "static"


@get("/", include_in_schema=False, media_type="text/html")
async def index() -> Response[bytes]:
    return Response(
        (STATIC_DIR / "index.html").read_bytes(), media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


def webui_routes() -> list:
    return [index, create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)]
