"""The embedded diarization backend: pyannote segmentation bundled with whisperx, CAM++ voice prints."""

from __future__ import annotations

from app.adapters.models.fixed import FixedModelStore
from app.adapters.speaker_clustering.campplus import CamPlusPlusEncoder
from app.adapters.speaker_clustering.diarizer import SpeakerClusteringDiarizer
from app.adapters.speaker_clustering.local_speakers import SegmentationModel
from app.domain.ports.stages import DiarizationStage


def diarization(encoder: CamPlusPlusEncoder, device: str) -> DiarizationStage:
    """`encoder` is shared with the voice printer of known speakers and the registry."""
    segmentation = SegmentationModel(device=device)
    models = FixedModelStore(model_id="pyannote-segmentation+campplus", parts=[segmentation, encoder])
    return DiarizationStage(
        diarizer=SpeakerClusteringDiarizer(segmentation=segmentation, encoder=encoder),
        store=models,
        default_model=models.model_id,
        warm_up=models.warm_up,
    )
