"""Callbacks: the checked address is the one connected to, proxies are ignored, the outbox survives
a restart, and transient failures (DNS included) are retried while refusals are not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.adapters.jobs.sqlite_store import SqliteOutbox
from app.adapters.jobs.webhook import WebhookNotifier
from app.domain.models import Job, JobStatus, RenderOptions, TranscriptionOptions
from tests.fakes import Clock
from tests.webhooks import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def job(url: str) -> Job:
    return Job(
        id="job_1",
        owner="o",
        status=JobStatus.SUCCEEDED,
        options=TranscriptionOptions(model="base"),
        render=RenderOptions(),
        response_format="json",
        created_at=0.0,
        updated_at=0.0,
        callback_url=url,
    )


def notifier(tmp_path, resolve, clock: Clock | None = None, **kwargs) -> WebhookNotifier:
    return WebhookNotifier(
        SqliteOutbox(tmp_path / "jobs.sqlite3"),
        secret="s",
        allowed_hosts=["hooks.test"],
        envelope=lambda j: b'{"id": "%s"}' % j.id.encode(),
        resolve=resolve,
        clock=clock or Clock(),
        first_retry_seconds=1.0,
        **kwargs,
    )


def test_the_request_goes_to_the_address_that_was_checked(tmp_path, receiver, monkeypatch):
    # `hooks.test` exists for our resolver only: a second lookup by the HTTP client would fail.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # and a proxy from the environment is ignored
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    sender = notifier(tmp_path, resolve=lambda host, port: ["127.0.0.1"])
    sender.notify(job(f"http://hooks.test:{receiver.port}/hook"))
    assert sender.deliver_due() == 1
    assert [h["Host"] for h, _ in receiver.received] == [f"hooks.test:{receiver.port}"]
    assert sender.deliver_due() == 0  # delivered: gone from the outbox


def test_a_restart_loses_no_delivery(tmp_path, receiver):
    def resolve(host, port):
        return ["127.0.0.1"]

    notifier(tmp_path, resolve).notify(job(f"http://hooks.test:{receiver.port}/hook"))  # the process dies here
    assert receiver.received == []
    assert notifier(tmp_path, resolve).deliver_due() == 1  # a new process on the same data directory
    assert len(receiver.received) == 1


def test_transient_failures_are_retried_with_backoff_and_refusals_are_not(tmp_path, receiver):
    lookups = iter([OSError("temporary failure in name resolution")])

    def flaky_dns(host, port):
        failure = next(lookups, None)
        if failure:
            raise failure
        return ["127.0.0.1"]

    clock = Clock()
    sender = notifier(tmp_path, flaky_dns, clock)
    receiver.statuses = [503, 400]
    sender.notify(job(f"http://hooks.test:{receiver.port}/hook"))
    assert sender.deliver_due() == 1 and receiver.received == []  # DNS failed: retried in 1 s
    assert sender.deliver_due() == 0
    clock.now += 1
    assert sender.deliver_due() == 1 and len(receiver.received) == 1  # 503: retried in 2 s
    clock.now += 1.5
    assert sender.deliver_due() == 0
    clock.now += 0.5
    assert sender.deliver_due() == 1 and len(receiver.received) == 2  # 400: the receiver refused it
    clock.now += 3600
    assert sender.deliver_due() == 0


def test_a_delivery_is_given_up_after_its_attempts(tmp_path, receiver):
    clock = Clock()
    sender = notifier(tmp_path, lambda host, port: ["127.0.0.1"], clock, max_attempts=2)
    receiver.statuses = [500, 500, 500]
    sender.notify(job(f"http://hooks.test:{receiver.port}/hook"))
    sender.deliver_due()
    clock.now += 1
    sender.deliver_due()
    clock.now += 3600
    assert sender.deliver_due() == 0 and len(receiver.received) == 2


def test_a_host_that_turned_internal_is_not_called(tmp_path, receiver):
    addresses = iter([["93.184.215.14"], ["127.0.0.1"]])
    sender = WebhookNotifier(
        SqliteOutbox(tmp_path / "jobs.sqlite3"),
        secret=None,
        allowed_hosts=[],
        envelope=lambda j: b"{}",
        resolve=lambda host, port: next(addresses),
        clock=Clock(),
    )
    url = f"http://rebinding.test:{receiver.port}/hook"
    sender.check(url)  # public at submit
    sender.notify(job(url))
    assert sender.deliver_due() == 1 and receiver.received == []  # internal at delivery: dropped
    assert sender.deliver_due() == 0


def test_a_delivery_whose_url_cannot_be_sent_is_dropped_not_retried_forever(tmp_path, receiver):
    sender = notifier(tmp_path, lambda host, port: ["127.0.0.1"])
    sender.notify(job(f"http://hooks.test:{receiver.port}/ho\x01ok"))  # stored before submit checks refused it
    assert sender.deliver_due() == 1 and receiver.received == []
    assert sender.deliver_due() == 0


def test_an_unexpected_sending_error_counts_as_an_attempt(tmp_path, receiver, monkeypatch):
    clock = Clock()
    sender = notifier(tmp_path, lambda host, port: ["127.0.0.1"], clock, max_attempts=2)
    monkeypatch.setattr(sender, "_post", lambda target, delivery: (_ for _ in ()).throw(UnicodeError("bad")))
    sender.notify(job(f"http://hooks.test:{receiver.port}/hook"))
    assert sender.deliver_due() == 1
    clock.now += 1
    assert sender.deliver_due() == 1
    clock.now += 3600
    assert sender.deliver_due() == 0  # given up after its two attempts
