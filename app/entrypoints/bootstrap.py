"""What every entrypoint does first: settings, logging, the container, and the models warmed up."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from app.config.logging import configure_logging
from app.config.settings import Settings
from app.container import Application, build_container
from app.domain.errors import DomainError

logger = structlog.get_logger(__name__)
HOUSEKEEPING_SECONDS = 0.5  # how often a process looks for due callbacks and idle models


def bootstrap(settings: Settings | None = None, *, log_level: str | None = None) -> Application:
    """Settings from the environment unless given; logging configured; the container built (an
    unknown backend name fails here, before anything loads)."""
    settings = settings or Settings.from_env()
    configure_logging(log_level or settings.log_level, settings.log_format)
    return build_container(settings)


def warm_up(container: Application) -> None:
    """Build every stage now so a bad backend fails at start-up, and load the default models."""
    settings: Settings = container.settings()
    container.pipeline()
    if not settings.whisper.preload:
        return
    try:
        container.transcription.warm_up()
        container.diarization.warm_up()
        if settings.realtime.enabled:
            container.live_audio().warm_up()
    except DomainError as exc:
        # Keep serving: other models may load, and a later request retries this one.
        logger.error("default model failed to load", model=settings.whisper.model, error=exc.message)


def start_housekeeping(container: Application, also: Callable[[], None] | None = None) -> Callable[[], None]:
    """Until the returned function is called, this process sends due job callbacks, unloads models
    idle past MODELS__IDLE_UNLOAD_SECONDS, and does `also` (a worker's heartbeat)."""
    notifier = container.jobs.notifier()
    stores = [stage.store for stage in container.stages().values()]
    stop = threading.Event()

    def work_until_stopped() -> None:
        while not stop.wait(HOUSEKEEPING_SECONDS):
            try:
                if also is not None:
                    also()
                notifier.deliver_due()
                for store in stores:
                    store.unload_idle()
            except Exception:
                logger.exception("housekeeping failed")

    worker = threading.Thread(target=work_until_stopped, name="housekeeping", daemon=True)
    worker.start()

    def stop_working() -> None:
        stop.set()
        worker.join(timeout=30)

    return stop_working
