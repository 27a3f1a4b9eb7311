"""Model management per stage (/models, /align_models, /diarize_models) and OpenAI's /v1/models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import anyio
from litestar import Controller, Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.types import Guard

from app.api.forms import read_form
from app.domain.errors import ModelNotFound
from app.domain.model_policy import ModelPolicy
from app.domain.ports.models import ModelStore
from app.schemas.models import (
    CatalogModel,
    ModelCatalog,
    ModelChange,
    OpenAIModel,
    OpenAIModelList,
    StageModel,
    StageModels,
)
from app.services.audio_requests import required_field


@runtime_checkable  # a typed handler dependency, which Litestar checks
class Stage(Protocol):
    """One pipeline stage as the container describes it (backend name, default model, its store)."""

    backend: str
    default: str | None
    store: ModelStore


Stages = Mapping[str, Stage]  # "transcription" | "alignment" | "diarization"


def stage_router(path: str, stage: str, field: str, admin: Guard) -> Router:
    """list / load / unload for one pipeline stage; `field` names the form field (model or language)."""

    @get("/list", operation_id=f"list_{stage}_models")
    async def list_models(stages: NamedDependency[Stages]) -> StageModels:
        models = stages[stage]
        loaded = set(models.store.loaded())
        names = sorted({*models.store.available(), *loaded})
        return StageModels(
            backend=models.backend,
            default=models.default,
            models=[StageModel(id=n, loaded=n in loaded) for n in names],
        )

    @post("/load", status_code=200, operation_id=f"load_{stage}_model", guards=[admin])
    async def load_model(
        request: Request, stages: NamedDependency[Stages], model_policy: NamedDependency[ModelPolicy]
    ) -> ModelChange:
        name = required_field((await read_form(request)).fields, field)
        if field == "model":
            model_policy.check(name)
        store = stages[stage].store
        # Loading reads hundreds of MB: never on the event loop.
        loaded = await anyio.to_thread.run_sync(store.load, name)
        return ModelChange(id=loaded, loaded=True)

    @post("/unload", status_code=200, operation_id=f"unload_{stage}_model", guards=[admin])
    async def unload_model(request: Request, stages: NamedDependency[Stages]) -> ModelChange:
        name = required_field((await read_form(request)).fields, field)
        store = stages[stage].store
        if not await anyio.to_thread.run_sync(store.unload, name):
            raise ModelNotFound(f"loaded {stage} model", name, store.loaded(), param=field)
        return ModelChange(id=name, loaded=False)

    return Router(path=path, route_handlers=[list_models, load_model, unload_model], tags=["models"])


def model_routers(admin: Guard) -> list[Router]:
    return [
        stage_router("/models", "transcription", "model", admin),
        stage_router("/align_models", "alignment", "language", admin),
        stage_router("/diarize_models", "diarization", "model", admin),
    ]


@get("/models/catalog", tags=["models"], operation_id="getModelCatalog")
async def model_catalog(stages: NamedDependency[Stages], model_policy: NamedDependency[ModelPolicy]) -> ModelCatalog:
    """Every transcription model name a client may ask for, whether loaded, and whether already here."""
    stage = stages["transcription"]
    requestable, available, loaded = await anyio.to_thread.run_sync(
        lambda: (stage.store.requestable(), set(stage.store.available()), set(stage.store.loaded()))
    )
    default = stage.default or ""
    names = sorted({*requestable, *([default] if default else [])})
    return ModelCatalog(
        default=default,
        data=[
            CatalogModel(
                id=name, default=name == default, loaded=name in loaded, downloaded=name in available or name in loaded
            )
            for name in names
            if model_policy.allows(name)
        ],
    )


class OpenAIModelsController(Controller):
    path = "/v1/models"
    tags = ["models"]

    @get("/", operation_id="listModels")
    async def list_models(self, stages: NamedDependency[Stages]) -> OpenAIModelList:
        return OpenAIModelList(data=[OpenAIModel(id=n) for n in _openai_names(stages)])

    @get("/{model_id:path}", operation_id="retrieveModel")
    async def retrieve_model(self, model_id: FromPath[str], stages: NamedDependency[Stages]) -> OpenAIModel:
        name = model_id.lstrip("/")
        names = _openai_names(stages)
        if name not in names:
            raise ModelNotFound("model", name, names)
        return OpenAIModel(id=name)


def _openai_names(stages: Stages) -> list[str]:
    store = stages["transcription"].store
    return ["whisper-1", *sorted({*store.available(), *store.loaded()})]
