"""structlog for our events and for the libraries' stdlib logging, one format for both."""

from __future__ import annotations

import logging
import sys
import warnings

import structlog


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,  # request_id and request facts land in every event
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that chat at INFO about every call.
    for noisy in (
        "httpx",
        "whisperx",
        "speechbrain",
        "pytorch_lightning",
        "lightning",
        "lightning.pytorch",
        "faster_whisper",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
        logging.getLogger(noisy).handlers[:] = []
        logging.getLogger(noisy).propagate = True
    # pyannote warns at import that torchcodec has no FFmpeg; we decode with PyAV and never use it.
    warnings.filterwarnings("ignore", message=r"(?s).*torchcodec.*")
    warnings.filterwarnings("ignore", module=r"pyannote\.audio\..*")
