"""Property-based fuzzing of every endpoint from the app's own OpenAPI schema: no input gives a 5xx.

Schemathesis generates each operation's parameters and multipart bodies (including random bytes
for `file`) from /schema/openapi.json, so the published schema is exercised as well. The real PyAV
decoder reads the uploads; inference is faked so about a thousand cases run in seconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.config.settings import Settings
from app.entrypoints.http import create_app
from tests.conftest import FIXTURES, serving
from tests.fake_server import fake_container
from tests.fakes import FakeTranscriber


def fuzz_app():
    settings = Settings.from_env({"DATA_DIR": tempfile.mkdtemp(prefix="wxas-fuzz-"), "WHISPER__PRELOAD": "false"})
    return create_app(fake_container(settings, FakeTranscriber()))


SPEECH = (FIXTURES / "en_fox.wav").read_bytes()
APP = fuzz_app()
schema = schemathesis.openapi.from_dict(APP.openapi_schema.to_schema())


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(APP) as url:
        yield url


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_makes_the_server_fail(case, base_url):
    check(case, case.call(base_url=base_url, timeout=30))
    if isinstance(case.body, dict) and "file" in case.body:
        # Again with real speech, so the generated options reach the pipeline and the formatters.
        case.body = {**case.body, "file": SPEECH}
        check(case, case.call(base_url=base_url, timeout=30))


def check(case, response) -> None:
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
    content_type = (response.headers.get("content-type") or [""])[0]  # schemathesis keeps every header value
    if response.status_code >= 400 and content_type.startswith("application/json"):
        error = response.json()["error"]
        assert {"message", "type", "param", "code"} <= set(error)
