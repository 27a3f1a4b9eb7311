"""Where the server may connect on a client's behalf (job callbacks, audio by URL), and how.

Every address a host resolves to must be globally routable — not loopback, private, link-local,
CGNAT (100.64/10), multicast, reserved, nor an IPv6 form that embeds an IPv4 address (mapped,
compatible, NAT64, 6to4, Teredo) — unless the operator lists the host. The connection then goes to
the very address that was checked (the name is not resolved a second time, so DNS rebinding cannot
turn it inward), with TLS still verified for the host name; redirects are never followed blindly
and proxy variables from the environment are ignored.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from app.domain.errors import InvalidRequest

MAX_URL_LENGTH = 2048
# Control characters, spaces and DEL: urlsplit drops some (tab, CR, LF) silently and httpx refuses
# the rest, so a URL holding any would pass the check and fail, or differ, when it is used.
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f]")
Resolver = Callable[[str, int], list[str]]

# IPv6 ranges that carry an IPv4 address inside: judged as what they embed, they could reach
# 127.0.0.1 or 10.x through a translator, so they are refused outright.
_EMBEDDING_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0:0/96",  # IPv4-translated
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
    )
)


class HostDoesNotResolve(InvalidRequest):
    """The name has no address now; a later try may succeed (DNS is back)."""


@dataclass(frozen=True, slots=True)
class OutboundTarget:
    """A checked URL and the address it was checked at."""

    url: str
    host: str
    address: str

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))

    def host_header(self) -> str:
        return urlsplit(self.url).netloc.rsplit("@", 1)[-1]

    def request_args(self, headers: dict[str, str]) -> dict:
        """httpx arguments that reach the checked address: its literal in the URL, the host name in
        `Host` and in TLS (SNI, so the certificate is still verified for the name)."""
        return {
            "url": self.pinned_url(),
            "headers": {**headers, "Host": self.host_header()},
            "extensions": {"sni_hostname": self.host},
        }


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and any(ip in network for network in _EMBEDDING_V4):
        return False
    return ip.is_global and not ip.is_multicast


class OutboundPolicy:
    """Checks URLs against the address policy; `param` names the request field in every refusal."""

    def __init__(
        self, allowed_hosts: Collection[str], param: str, setting: str, resolve: Resolver | None = None
    ) -> None:
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.param = param
        self.setting = setting  # the setting that lists allowed hosts, for the refusal's message
        self.resolve = resolve or _resolve

    def check(self, url: str) -> OutboundTarget:
        """The target to connect to, or InvalidRequest naming `param`."""
        name = self.param
        if len(url) > MAX_URL_LENGTH:
            raise InvalidRequest(f"'{name}' is longer than {MAX_URL_LENGTH} characters.", param=name)
        if _UNSAFE_CHARACTER.search(url):
            raise InvalidRequest(f"'{name}' holds a space or a control character; percent-encode it.", param=name)
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError as exc:  # "http://[::1/", "http://example.com:99999/"
            raise InvalidRequest(f"'{name}' is not a valid URL ({exc}).", param=name) from None
        if parts.scheme not in ("http", "https") or not host:
            raise InvalidRequest(f"'{name}' must be an absolute http(s) URL.", param=name)
        if parts.username is not None or parts.password is not None:
            raise InvalidRequest(f"'{name}' must not carry credentials.", param=name)
        port = port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = self.resolve(host, port)
        except (OSError, UnicodeError, ValueError):  # no such host, or a name no resolver takes (a 64-char label)
            addresses = []
        if not addresses:
            raise HostDoesNotResolve(f"'{name}' host '{host[:100]}' does not resolve.", param=name)
        if host not in self.allowed_hosts and not all(is_public(a) for a in addresses):
            raise InvalidRequest(
                f"'{name}' host '{host[:100]}' resolves to a non-public address; only public "
                f"hosts are reached (an operator can allow a host with {self.setting}).",
                param=name,
            )
        return OutboundTarget(url=url, host=host, address=addresses[0])

    @staticmethod
    def client(timeout: httpx.Timeout | float) -> httpx.Client:
        """An HTTP client for checked targets: no redirects followed, no proxies from the environment."""
        return httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))  # resolver order, without repeats
