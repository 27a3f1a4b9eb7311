"""JOBS__BACKEND=celery's adapters, built only when chosen: redis and celery are imported then, not before."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.adapters.jobs.stores import JobStores

if TYPE_CHECKING:
    from app.adapters.jobs.celery_app import CeleryJobDispatcher


def redis_stores(url: str, heartbeat_seconds: float) -> JobStores:
    """JOBS__BACKEND=celery: everything in Redis, shared by the servers and the workers."""
    from app.adapters.jobs.redis_store import (
        RedisClientSecrets,
        RedisJobStore,
        RedisOutbox,
        RedisSpeakerRegistry,
        RedisWorkerRegistry,
    )

    workers = RedisWorkerRegistry(url, ttl_seconds=4 * heartbeat_seconds)  # as a running job's staleness
    return JobStores(RedisJobStore(url), RedisOutbox(url), RedisSpeakerRegistry(url), RedisClientSecrets(url), workers)


def dispatcher(url: str, visibility_timeout: float) -> CeleryJobDispatcher:
    from app.adapters.jobs.celery_app import CeleryJobDispatcher

    return CeleryJobDispatcher(url, visibility_timeout)
