"""Job-queue adapters: `local` (SQLite + an in-process worker) and `celery` (Redis + Celery workers)."""
