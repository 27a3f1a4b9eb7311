"""JOBS__BACKEND=celery's adapters, built only when chosen: redis and celery are imported then, not before."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.adapters.jobs.celery_app import CeleryJobDispatcher
    from app.adapters.jobs.redis_store import (
        RedisClientSecrets,
        RedisJobStore,
        RedisOutbox,
        RedisSpeakerRegistry,
        RedisWorkerRegistry,
    )


def job_store(url: str) -> RedisJobStore:
    from app.adapters.jobs.redis_store import RedisJobStore

    return RedisJobStore(url)


def outbox(url: str) -> RedisOutbox:
    from app.adapters.jobs.redis_store import RedisOutbox

    return RedisOutbox(url)


def speaker_registry(url: str) -> RedisSpeakerRegistry:
    from app.adapters.jobs.redis_store import RedisSpeakerRegistry

    return RedisSpeakerRegistry(url)


def client_secrets(url: str) -> RedisClientSecrets:
    from app.adapters.jobs.redis_store import RedisClientSecrets

    return RedisClientSecrets(url)


def workers(url: str, heartbeat_seconds: float) -> RedisWorkerRegistry:
    from app.adapters.jobs.redis_store import RedisWorkerRegistry

    return RedisWorkerRegistry(url, ttl_seconds=4 * heartbeat_seconds)  # as a running job's staleness


def dispatcher(url: str, visibility_timeout: float) -> CeleryJobDispatcher:
    from app.adapters.jobs.celery_app import CeleryJobDispatcher

    return CeleryJobDispatcher(url, visibility_timeout)
