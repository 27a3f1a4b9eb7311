"""Which model names clients may ask for: MODELS__ALLOWED, the same on every way in (HTTP, MCP, CLI, realtime)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.domain.errors import ModelNotAllowed
from app.domain.models import DEFAULT_MODEL_ALIASES


@dataclass(frozen=True, slots=True)
class ModelPolicy:
    allowed: Collection[str]  # empty: any name the model stores offer
    default: str  # the server's default model, always allowed

    def allows(self, name: str | None) -> bool:
        name = (name or "").strip()
        return not self.allowed or name in DEFAULT_MODEL_ALIASES or name == self.default or name in self.allowed

    def check(self, name: str | None, param: str = "model") -> None:
        if not self.allows(name):
            raise ModelNotAllowed(
                f"Model '{(name or '')[:200]}' is not in this server's allowed models: {', '.join(self.allowed)}.",
                param=param,
            )
