"""Model lists: OpenAI's `/v1/models`, the catalog of Whisper models, and each stage's models."""

from __future__ import annotations

import msgspec


class StageModel(msgspec.Struct, kw_only=True):
    id: str
    loaded: bool


class StageModels(msgspec.Struct, kw_only=True):
    backend: str
    default: str | None
    models: list[StageModel]


class ModelChange(msgspec.Struct, kw_only=True):
    id: str
    loaded: bool


class OpenAIModel(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "whisperx-api-server"


class OpenAIModelList(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[OpenAIModel]


class CatalogModel(msgspec.Struct, kw_only=True):
    id: str
    default: bool
    loaded: bool
    downloaded: bool  # on this machine already (bundled, WHISPER__MODELS_DIR, hub cache); else fetched on first use


class ModelCatalog(msgspec.Struct, kw_only=True):
    object: str = "list"
    default: str
    data: list[CatalogModel]
