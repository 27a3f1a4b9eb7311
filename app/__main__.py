"""`python -m app`: serve on UVICORN_HOST:UVICORN_PORT."""

from __future__ import annotations

import uvicorn

from app.config.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    uvicorn.run(
        "app.main:app_from_env",
        factory=True,
        host=settings.uvicorn_host,
        port=settings.uvicorn_port,
        log_config=None,  # our structlog set-up formats uvicorn's records too
        access_log=False,  # RequestLogMiddleware writes the one line per request
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
