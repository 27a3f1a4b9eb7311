"""A stage's model management, as the model endpoints show it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable  # a typed handler dependency, which Litestar checks
class ModelStore(Protocol):
    """The model management surface of one pipeline stage (list, load, unload)."""

    def available(self) -> Sequence[str]:
        """Names that could be loaded without a download."""
        ...

    def requestable(self) -> Sequence[str]:
        """Every name a request may ask for: `available` plus allow-listed ones still to download."""
        ...

    def loaded(self) -> Sequence[str]: ...

    def load(self, name: str) -> str:
        """Load (or keep) a model; return its canonical name. Raises ModelNotFound / ModelLoadFailed."""
        ...

    def unload(self, name: str) -> bool:
        """Drop a model from memory; False if it was not loaded."""
        ...

    def unload_idle(self) -> list[str]:
        """Drop the models unused for longer than MODELS__IDLE_UNLOAD_SECONDS; returns their names."""
        ...
