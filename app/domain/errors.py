"""Errors the domain raises. The HTTP layer maps each class to a status (app/api/errors.py)."""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """Base of every error a caller can cause or must be told about."""

    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequest(DomainError):
    """A field value the caller sent cannot be used."""

    code = "invalid_value"


class NotADiarizationModel(InvalidRequest):
    """`whisper-1` names the transcription model; every diarization backend refuses it."""

    def __init__(self) -> None:
        super().__init__("'whisper-1' is a transcription model, not a diarization model.", param="model")


class InvalidAudio(DomainError):
    """The upload is not decodable audio, or holds no samples."""

    code = "invalid_audio"

    def __init__(self, message: str) -> None:
        super().__init__(message, param="file")


class ModelNotFound(DomainError):
    code = "model_not_found"

    def __init__(self, kind: str, name: str, available: Iterable[str], *, param: str = "model") -> None:
        names = sorted(set(available))
        listed = ", ".join(names) if names else "none"
        super().__init__(f"The {kind} '{name}' does not exist or is not available here. Available: {listed}.", param=param)
        self.name = name
        self.available = names


class ModelLoadFailed(DomainError):
    """A model exists but could not be loaded (corrupt files, no memory, missing token)."""

    code = "model_load_failed"


class AlignmentUnavailable(DomainError):
    """This aligner has no model for the language; the pipeline may try the next aligner."""

    code = "alignment_unavailable"

    def __init__(self, language: str, reason: str) -> None:
        super().__init__(f"No alignment model for language '{language}': {reason}", param="language")
        self.language = language
        self.reason = reason


class StageUnavailable(DomainError):
    """A pipeline stage was asked for but its backend cannot run here (e.g. no diarization model)."""

    code = "stage_unavailable"
