"""`python -m tests.fake_server`: the real server process (uvicorn, signals, settings from the
environment, real PyAV decoder) with fake inference, for load tests that need a real socket."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from app.config.logging import configure_logging
from app.config.settings import Settings
from app.container import build_container
from app.entrypoints.http import create_app
from app.entrypoints.server import serve
from tests.fakes import Fakes, FakeTranscriber, override_with


@dataclass
class SlowTranscriber(FakeTranscriber):
    """Takes FAKE_INFERENCE_SECONDS per request, so concurrent uploads really queue."""

    seconds: float = float(os.environ.get("FAKE_INFERENCE_SECONDS", "0.1"))

    def transcribe(self, audio, options, on_segment=None, time_words=None):
        if os.environ.get("FAKE_WORK_LOG"):  # which process did the work (Celery worker tests)
            with open(os.environ["FAKE_WORK_LOG"], "a") as log:
                log.write(f"{os.getpid()}\n")
        time.sleep(self.seconds)
        return super().transcribe(audio, options, on_segment, time_words)


def fake_container(settings: Settings, transcriber: FakeTranscriber | None = None, decoder=None):
    """The real container with fake inference; the real PyAV decoder unless `decoder` is given."""
    container = build_container(settings)
    # For the container's (and the process's) whole life: the stack is never closed.
    override_with(container, Fakes(transcriber=transcriber or SlowTranscriber(), decoder=decoder))
    return container


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    serve(create_app(fake_container(settings)), settings)


if __name__ == "__main__":
    main()
