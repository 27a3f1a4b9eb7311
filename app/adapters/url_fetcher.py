"""`audio_url`: the server fetches the audio itself, under the same outbound policy as callbacks.

Streamed to a spooled temporary file with the upload size limit; a connect timeout per hop and a
total time for the whole fetch; each redirect checked again before it is followed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Collection
from typing import BinaryIO, cast
from urllib.parse import urljoin

import httpx

from app.adapters.outbound import OutboundPolicy, Resolver
from app.domain.errors import InvalidRequest

PARAM = "audio_url"
_SPOOL_BYTES = 1024 * 1024  # like uploads: small files stay in memory, larger ones go to disk


class UrlAudioFetcher:
    def __init__(
        self,
        allowed_hosts: Collection[str],
        max_bytes: int,
        connect_timeout: float,
        total_timeout: float,
        max_redirects: int = 5,
        resolve: Resolver | None = None,
    ) -> None:
        self.policy = OutboundPolicy(allowed_hosts, param=PARAM, setting="URL_FETCH_ALLOWED_HOSTS", resolve=resolve)
        self.max_bytes = max_bytes
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects

    def fetch(self, url: str) -> BinaryIO:
        deadline = time.monotonic() + self.total_timeout
        timeout = httpx.Timeout(self.total_timeout, connect=self.connect_timeout)
        with self.policy.client(timeout) as client:
            for _ in range(self.max_redirects + 1):
                target = self.policy.check(url)
                try:
                    with client.stream("GET", **target.request_args({"User-Agent": "whisperx-api-server"})) as response:
                        if response.is_redirect and "location" in response.headers:
                            url = urljoin(url, response.headers["location"])
                            continue
                        if not response.is_success:
                            raise _refused(f"'{PARAM}' answered HTTP {response.status_code}.")
                        return self._spool(response, deadline)
                except httpx.TimeoutException:
                    raise _refused(
                        f"'{PARAM}' did not answer within the time limit "
                        f"(URL_FETCH_CONNECT_TIMEOUT_SECONDS / URL_FETCH_TIMEOUT_SECONDS)."
                    ) from None
                except httpx.HTTPError as exc:
                    raise _refused(f"'{PARAM}' could not be fetched ({type(exc).__name__}).") from None
        raise _refused(f"'{PARAM}' redirected more than {self.max_redirects} times.")

    def _spool(self, response: httpx.Response, deadline: float) -> BinaryIO:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise _too_big(self.max_bytes)
        spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES))
        try:
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise _too_big(self.max_bytes)
                if time.monotonic() > deadline:
                    raise _refused(f"'{PARAM}' took longer than URL_FETCH_TIMEOUT_SECONDS to download.")
                spool.write(chunk)
            if size == 0:
                raise _refused(f"'{PARAM}' returned no data.")
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool


def _refused(message: str) -> InvalidRequest:
    return InvalidRequest(message, param=PARAM, code="audio_url_unavailable")


def _too_big(limit: int) -> InvalidRequest:
    return InvalidRequest(
        f"'{PARAM}' is larger than the server's limit of {limit} bytes (MAX_UPLOAD_SIZE_BYTES).",
        param=PARAM,
        code="audio_url_too_large",
    )
