"""The pyannote (whisperx) diarizer adapter around a stand-in pipeline: no hub weights here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.adapters.whisperx.diarizer import PyannoteModelStore, WhisperXDiarizer
from app.domain.errors import InvalidRequest, ModelLoadFailed, ModelNotFound, StageUnavailable
from app.domain.models import Audio, TranscriptionOptions


class StandInPipeline:
    """Answers like whisperx.diarize.DiarizationPipeline.__call__: a frame of turns."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, audio, min_speakers=None, max_speakers=None, return_embeddings=False):
        self.calls.append({"samples": len(audio), "min": min_speakers, "max": max_speakers})
        frame = pd.DataFrame({"start": [0.0, 1.5], "end": [1.5, 3.0], "speaker": ["SPEAKER_00", "SPEAKER_01"]})
        assert not return_embeddings, "voice prints come from the VoicePrinter, not the diarizer"
        return frame


class StoreWith(PyannoteModelStore):
    def __init__(self, pipeline=None, error: Exception | None = None) -> None:
        super().__init__("pyannote/speaker-diarization-community-1", "cpu", None, None, allow_download=False)
        self.pipeline, self.error = pipeline, error

    def _load(self, name):
        if self.error:
            raise self.error
        return self.pipeline


def test_turns_come_back_as_plain_python():
    pipeline = StandInPipeline()
    result = WhisperXDiarizer(StoreWith(pipeline)).diarize(
        Audio(samples=np.zeros(48000, dtype=np.float32), duration=3.0),
        TranscriptionOptions(model="base", min_speakers=2, max_speakers=2),
    )
    assert [(t.start, t.end, t.speaker) for t in result.turns] == [(0.0, 1.5, "SPEAKER_00"), (1.5, 3.0, "SPEAKER_01")]
    assert all(type(x) is float for t in result.turns for x in (t.start, t.end))
    assert pipeline.calls == [{"samples": 48000, "min": 2, "max": 2}]


def test_a_model_that_cannot_load_makes_the_stage_unavailable():
    store = StoreWith(error=ModelLoadFailed("Set HF_TOKEN.", param="diarize"))
    with pytest.raises(StageUnavailable, match="HF_TOKEN"):
        WhisperXDiarizer(store).diarize(Audio(samples=np.zeros(10), duration=0.1), TranscriptionOptions(model="base"))


def test_offline_without_a_cached_model_explains_what_to_set(tmp_path):
    store = PyannoteModelStore("org/not-cached-pipeline", "cpu", None, tmp_path, allow_download=False)
    reason = store.unavailable_reason()
    assert "DIARIZATION__MODEL" in reason and "ALLOW_DOWNLOADS" in reason
    with pytest.raises(ModelLoadFailed, match="DIARIZATION__MODEL"):
        store.load("org/not-cached-pipeline")
    online_no_token = PyannoteModelStore("org/not-cached-pipeline", "cpu", None, tmp_path, allow_download=True)
    assert "HF_TOKEN" in online_no_token.unavailable_reason()


def test_whisper_1_is_not_a_diarization_model():
    with pytest.raises(InvalidRequest):
        PyannoteModelStore("pyannote/x", "cpu", None, None).load("whisper-1")


@pytest.mark.parametrize("name", ["../secrets", "/etc/passwd", "a b", "attacker/pipeline-with-code"])
def test_only_the_pipelines_the_settings_name_can_be_loaded(name):
    """Loading a pyannote pipeline runs the classes its repository names: never one a request picks."""
    store = PyannoteModelStore("pyannote/x", "cpu", None, None, allowed_models=["org/approved"])
    with pytest.raises(ModelNotFound) as refused:
        store.load(name)
    assert refused.value.status == 404 and refused.value.available == ["org/approved", "pyannote/x"]
    assert store.loaded() == []


def test_the_default_pipeline_is_unusable_when_it_cannot_be_found_or_fails_to_load(tmp_path):
    offline = PyannoteModelStore("org/not-cached-pipeline", "cpu", None, tmp_path, allow_download=False)
    assert "DIARIZATION__MODEL" in offline.why_default_unusable()
    empty = tmp_path / "pipeline"
    empty.mkdir()  # a local directory, so it is tried: nothing in it loads
    broken = PyannoteModelStore(str(empty), "cpu", None, tmp_path, allow_download=False)
    assert broken.unavailable_reason() is None and broken.why_default_unusable()
