"""The response formats by name: the one place a format name is checked and its formatter found."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from app.domain.errors import InvalidRequest
from app.domain.ports.rendering import Formatter


class Formats(Mapping[str, Formatter]):
    """Every formatter by its `response_format` name, and the server's default one."""

    def __init__(self, formatters: Mapping[str, Formatter], default: str) -> None:
        self._formatters = dict(formatters)
        self.default = default  # DEFAULT_RESPONSE_FORMAT

    def chosen(self, value: str | None) -> str:
        """The name a request asks for (the default when it names none), checked."""
        name = value or self.default
        self[name]
        return name

    def __getitem__(self, name: str) -> Formatter:
        formatter = self._formatters.get(name)
        if formatter is None:
            raise InvalidRequest(
                f"Unsupported response_format '{name[:40]}'. Supported: {', '.join(sorted(self))}.",
                param="response_format",
            )
        return formatter

    def __iter__(self) -> Iterator[str]:
        return iter(self._formatters)

    def __len__(self) -> int:
        return len(self._formatters)
