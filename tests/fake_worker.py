"""`python -m tests.fake_worker`: a real Celery worker process (JOBS__BACKEND=celery) whose
pipeline uses the fake inference of tests/fake_server.py."""

from __future__ import annotations

from app.config.logging import configure_logging
from app.config.settings import Settings
from app.entrypoints.worker import serve_jobs
from tests.fake_server import fake_container

if __name__ == "__main__":
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    serve_jobs(fake_container(settings))
