"""JobStore on Redis, shared by every API replica and worker (JOBS__BACKEND=celery).

Each job is three keys — its JSON, its upload, its result — that Redis expires itself at the job's
`expires_at`. Transitions are optimistic transactions (WATCH/MULTI), so of two workers handed the
same job only one moves it on.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace
from typing import Any

import redis

from app.adapters.jobs.codec import decode_delivery, decode_job, decode_speaker, decode_transcript, encode
from app.domain.models import ClientSecret, Delivery, Job, JobStatus, SpeakerProfile, Transcript

PREFIX = "wxas"
UNFINISHED = f"{PREFIX}:unfinished"  # ids of queued and running jobs, to bound the queue


def _client(url: str) -> Any:
    """A client whose replies are bytes (decode_responses stays off); redis-py types them `bytes | str`."""
    return redis.Redis.from_url(url)


def _key(kind: str, job_id: str) -> str:
    return f"{PREFIX}:{kind}:{job_id}"


class RedisJobStore:
    def __init__(self, url: str) -> None:
        self.redis = _client(url)

    def create(self, job: Job, audio: bytes) -> None:
        with self.redis.pipeline() as pipe:
            pipe.set(_key("job", job.id), encode(job))
            pipe.set(_key("audio", job.id), audio)
            pipe.sadd(UNFINISHED, job.id)
            self._expire(pipe, job)
            pipe.execute()

    def get(self, job_id: str) -> Job | None:
        data = self.redis.get(_key("job", job_id))
        return decode_job(data) if data is not None else None

    def update(self, job_id: str, **changes: Any) -> None:
        self._change(job_id, lambda job: None if job.status.terminal else replace(job, **changes))

    def transition(
        self, job_id: str, from_statuses: Collection[JobStatus], *, increment_attempts: bool = False, **changes: Any
    ) -> Job | None:
        def apply(job: Job) -> Job | None:
            if job.status not in from_statuses:
                return None
            extra: dict[str, Any] = {"attempts": job.attempts + 1} if increment_attempts else {}
            return replace(job, **changes, **extra)

        return self._change(job_id, apply)

    def audio(self, job_id: str) -> bytes | None:
        return self.redis.get(_key("audio", job_id))

    def drop_audio(self, job_id: str) -> None:
        self.redis.delete(_key("audio", job_id))

    def put_result(self, job_id: str, transcript: Transcript) -> None:
        key = _key("result", job_id)
        self.redis.set(key, encode(transcript))
        job = self.get(job_id)
        if job is not None and job.expires_at is not None:
            self.redis.expireat(key, math.ceil(job.expires_at))

    def result(self, job_id: str) -> Transcript | None:
        data = self.redis.get(_key("result", job_id))
        return decode_transcript(data) if data is not None else None

    def delete(self, job_id: str) -> None:
        self.redis.delete(_key("job", job_id), _key("audio", job_id), _key("result", job_id))
        self.redis.srem(UNFINISHED, job_id)

    def count_unfinished(self, owner: str | None = None) -> int:
        ids = [member.decode() for member in self.redis.smembers(UNFINISHED)]
        jobs = {job_id: self.get(job_id) for job_id in ids}  # bounded by JOBS__MAX_UNFINISHED
        gone = [job_id for job_id, job in jobs.items() if job is None]  # expired unseen
        if gone:
            self.redis.srem(UNFINISHED, *gone)
        return sum(
            1
            for job in jobs.values()
            if job is not None and not job.is_tracked_request and (owner is None or job.owner == owner)
        )

    def delete_expired(self, now: float) -> int:
        return 0  # Redis expires the keys itself

    def _change(self, job_id: str, apply) -> Job | None:
        key = _key("job", job_id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    data = pipe.get(key)
                    if data is None:
                        return None
                    changed = apply(decode_job(data))
                    if changed is None:
                        return None
                    pipe.multi()
                    pipe.set(key, encode(changed))
                    if changed.status.terminal:
                        pipe.srem(UNFINISHED, job_id)
                    self._expire(pipe, changed)
                    pipe.execute()
                    return changed
                except redis.WatchError:
                    continue  # someone else changed the job first: read it again

    @staticmethod
    def _expire(pipe, job: Job) -> None:
        if job.expires_at is not None:
            at = math.ceil(job.expires_at)
            for kind in ("job", "audio", "result"):
                pipe.expireat(_key(kind, job.id), at)


OUTBOX = f"{PREFIX}:outbox"  # delivery ids scored by their next attempt's time


class RedisOutbox:
    """DeliveryOutbox on Redis: any API replica or worker sends what is due, one sender per delivery."""

    def __init__(self, url: str) -> None:
        self.redis = _client(url)

    def add(self, delivery: Delivery) -> None:
        with self.redis.pipeline() as pipe:
            pipe.set(_key("delivery", delivery.id), encode(delivery))
            pipe.zadd(OUTBOX, {delivery.id: delivery.next_attempt_at})
            pipe.execute()

    def claim_due(self, now: float, lease_seconds: float) -> Delivery | None:
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(OUTBOX)
                    due = pipe.zrangebyscore(OUTBOX, "-inf", now, start=0, num=1)
                    if not due:
                        return None
                    delivery_id = due[0].decode()
                    pipe.multi()
                    pipe.zadd(OUTBOX, {delivery_id: now + lease_seconds}, xx=True)
                    pipe.execute()
                except redis.WatchError:
                    continue  # another sender claimed one first: look again
                data = self.redis.get(_key("delivery", delivery_id))
                if data is None:  # removed meanwhile
                    self.redis.zrem(OUTBOX, delivery_id)
                    continue
                return decode_delivery(data)

    def retry_at(self, delivery_id: str, attempts: int, at: float) -> None:
        data = self.redis.get(_key("delivery", delivery_id))
        if data is None:
            return
        with self.redis.pipeline() as pipe:
            pipe.set(
                _key("delivery", delivery_id),
                encode(replace(decode_delivery(data), attempts=attempts, next_attempt_at=at)),
            )
            pipe.zadd(OUTBOX, {delivery_id: at}, xx=True)
            pipe.execute()

    def remove(self, delivery_id: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.zrem(OUTBOX, delivery_id)
            pipe.delete(_key("delivery", delivery_id))
            pipe.execute()


class RedisWorkerRegistry:
    """WorkerRegistry on Redis: a worker's key lives `ttl_seconds` after its last beat."""

    def __init__(self, url: str, ttl_seconds: float) -> None:
        self.redis = _client(url)
        self.ttl_ms = max(1, int(ttl_seconds * 1000))

    def beat(self, name: str) -> None:
        self.redis.set(_key("worker", name), b"1", px=self.ttl_ms)

    def live(self) -> list[str]:
        prefix = _key("worker", "")
        return sorted(key.decode().removeprefix(prefix) for key in self.redis.scan_iter(match=prefix + "*"))


class RedisSpeakerRegistry:
    """The speaker registry for the distributed mode: one hash per owner, speaker id -> voice print."""

    def __init__(self, url: str) -> None:
        self.redis = _client(url)

    @staticmethod
    def _key(owner: str) -> str:
        return _key("speakers", owner)

    def add(self, profile: SpeakerProfile) -> None:
        self.redis.hset(self._key(profile.owner), profile.id, encode(profile))

    def list(self, owner: str) -> list[SpeakerProfile]:
        profiles = [decode_speaker(v) for v in self.redis.hvals(self._key(owner))]
        return sorted(profiles, key=lambda p: p.created_at)

    def get(self, owner: str, speaker_id: str) -> SpeakerProfile | None:
        data = self.redis.hget(self._key(owner), speaker_id)
        return decode_speaker(data) if data is not None else None

    def delete(self, owner: str, speaker_id: str) -> bool:
        return bool(self.redis.hdel(self._key(owner), speaker_id))


class RedisClientSecrets:
    """Client secrets for the distributed mode: one key each, which Redis expires itself."""

    def __init__(self, url: str) -> None:
        self.redis = _client(url)

    def add(self, secret: ClientSecret) -> None:
        key = _key("secret", secret.digest)
        self.redis.hset(
            key, mapping={"owner": secret.owner, "session": secret.session, "expires_at": secret.expires_at}
        )
        self.redis.expireat(key, math.ceil(secret.expires_at))

    def get(self, digest: str, now: float) -> ClientSecret | None:
        found = self.redis.hgetall(_key("secret", digest))
        if not found or float(found[b"expires_at"]) <= now:
            return None
        return ClientSecret(digest, found[b"owner"].decode(), bytes(found[b"session"]), float(found[b"expires_at"]))
