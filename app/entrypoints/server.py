"""The server process: serve on UVICORN_HOST:UVICORN_PORT, draining gracefully on SIGTERM/SIGINT."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog
import uvicorn
from litestar import Litestar

from app.config.settings import Settings
from app.entrypoints.bootstrap import bootstrap
from app.entrypoints.http import create_app
from app.services.admission import Admission

logger = structlog.get_logger("app.server")


# A signal this soon after the first is the same request to stop, delivered twice: `make run` (and
# other supervisors) forward the SIGTERM its process group already got, and that must not force.
SAME_SIGNAL_SECONDS = 2.0


class DrainingServer(uvicorn.Server):
    """On the first SIGTERM/SIGINT: refuse new work (503) and report not-ready on /healthcheck while
    in-flight requests finish, up to the grace period; then shut down and exit 0. Another signal
    more than SAME_SIGNAL_SECONDS later exits at once."""

    def __init__(self, config: uvicorn.Config, admission: Callable[[], Admission], grace_seconds: float) -> None:
        super().__init__(config)
        self.admission_of = admission  # asked when the signal comes: the admission requests go through then
        self.admission: Admission | None = None
        self.grace_seconds = grace_seconds
        self._first_signal_at: float | None = None

    def handle_exit(self, sig, frame) -> None:
        if self._first_signal_at is not None:
            if time.monotonic() - self._first_signal_at > SAME_SIGNAL_SECONDS:
                super().handle_exit(sig, frame)  # asked again: uvicorn forces the exit
            return
        self._first_signal_at = time.monotonic()
        self.admission = self.admission_of()
        self.admission.draining = True
        logger.info("draining", in_flight=self.admission.admitted, grace_seconds=self.grace_seconds)
        threading.Thread(target=self._exit_when_idle, daemon=True).start()

    def _exit_when_idle(self) -> None:
        assert self.admission is not None
        deadline = time.monotonic() + self.grace_seconds
        # Requests, and local jobs (they hold inference slots without being admitted requests).
        while (self.admission.admitted > 0 or self.admission.running > 0) and time.monotonic() < deadline:
            time.sleep(0.1)
        logger.info("shutting down", unfinished=self.admission.admitted, running=self.admission.running)
        self.should_exit = True


WS_MAX_QUEUE = 4


def serve(app: Litestar, settings: Settings) -> None:
    config = uvicorn.Config(
        app,
        host=settings.uvicorn_host,
        port=settings.uvicorn_port,
        log_config=None,  # our structlog set-up formats uvicorn's records too
        access_log=False,  # RequestLogMiddleware writes the one line per request
        timeout_graceful_shutdown=5,  # after the drain, idle keep-alive connections only
        # A realtime append carries up to REALTIME__MAX_APPEND_BYTES of audio as base64, plus its JSON.
        ws_max_size=settings.realtime.max_append_bytes * 4 // 3 + 64 * 1024,
        # Messages a socket may hold unread (uvicorn's default is 32): with appends that large, 32 queued
        # would be over half a gigabyte for one client; past this the socket is not read until the session catches up.
        ws_max_queue=WS_MAX_QUEUE,
    )
    DrainingServer(config, app.state.admission, settings.shutdown_grace_seconds).run()


def main() -> None:
    container = bootstrap()
    serve(create_app(container), container.settings())
