"""Errors of the work itself: bad input, missing models, failed stages, jobs.

Each class carries what a caller must be told: the HTTP-style `status` it stands for, OpenAI's
error `type` (derived from the status) and a machine-readable `code`. The HTTP edge only renders
them (app/api/errors.py); jobs store them for later (app/services/jobs.py). Errors of serving a
request (keys, admission, uploads, sessions) are app/services/errors.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

RETRY_AFTER_SECONDS = 2  # what 429 and 503 answers tell a client to wait (the openai client honours it)


def error_type_of(status: int) -> str:
    """OpenAI's error `type` for a status: the caller's fault, or ours."""
    return "invalid_request_error" if status < 500 else "server_error"


class DomainError(Exception):
    """Base of every error a caller can cause or must be told about."""

    status: int = 400
    code: str | None = None
    retry_after: int | None = None  # seconds, for errors that pass (busy, shutting down)

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    @property
    def error_type(self) -> str:
        return error_type_of(self.status)


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


class AudioTooLong(InvalidAudio):
    """Decoding stopped at the limit: nothing past it was decoded."""

    code = "audio_too_long"

    def __init__(self, limit_seconds: float) -> None:
        super().__init__(f"The audio is longer than the limit of {limit_seconds:g} seconds.")
        self.limit_seconds = limit_seconds


class ModelNotFound(DomainError):
    status = 404
    code = "model_not_found"

    def __init__(self, kind: str, name: str, available: Iterable[str], *, param: str = "model") -> None:
        names = sorted(set(available))
        listed = ", ".join(names) if names else "none"
        super().__init__(
            f"The {kind} '{name}' does not exist or is not available here. Available: {listed}.", param=param
        )
        self.name = name
        self.available = names


class ModelNotAllowed(DomainError):
    """The operator's MODELS__ALLOWED does not list the name."""

    status = 403
    code = "permission_denied"


class ModelLoadFailed(DomainError):
    """A model exists but could not be loaded (corrupt files, no memory, missing token)."""

    status = 503
    code = "model_load_failed"


class AlignmentUnavailable(DomainError):
    """This aligner has no model for the language; the pipeline may try the next aligner."""

    status = 503
    code = "alignment_unavailable"

    def __init__(self, language: str, reason: str) -> None:
        super().__init__(f"No alignment model for language '{language}': {reason}", param="language")
        self.language = language
        self.reason = reason


class StageUnavailable(DomainError):
    """A pipeline stage was asked for but its backend cannot run here (e.g. no diarization model)."""

    status = 503
    code = "stage_unavailable"


class InternalError(DomainError):
    """The server, not the request, failed (recorded where a request is followed or a job kept)."""

    status = 500
    code = "internal_error"

    def __init__(self) -> None:
        super().__init__("The server had an error while processing the request.")


# --- admission: how many requests the server takes at once -------------------------------------


class OutOfMemory(DomainError):
    """The model ran out of memory on this request's windows, run alone (its shared batch was retried
    call by call, so the other requests in it went on)."""

    status = 503
    code = "insufficient_memory"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self) -> None:
        super().__init__(
            "The model ran out of memory on this request: retry with a smaller batch_size or shorter "
            "audio, or when fewer requests are running."
        )


class SpeakerNotFound(DomainError):
    """No speaker with this id in the registry of the caller's API key (another key's is not found either)."""

    status = 404
    code = "speaker_not_found"

    def __init__(self, speaker_id: str) -> None:
        super().__init__(f"No speaker '{speaker_id[:64]}' is enrolled for this API key.", param="speaker_id")


class SpeakerLimitReached(DomainError):
    """The key has enrolled MAX_SPEAKERS_PER_KEY voices already."""

    status = 429
    code = "speaker_limit_reached"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This API key has enrolled its maximum of {limit} speakers (MAX_SPEAKERS_PER_KEY): "
            "delete some at DELETE /v1/speakers/{id} first.",
            param="name",
        )


class Cancelled(DomainError):
    """Nobody waits for this work's result any more: it stopped at its next checkpoint
    (app/domain/cancellation.py)."""

    status = 499
    code = "cancelled"

    def __init__(self) -> None:
        super().__init__("The work was cancelled: nobody waits for its result any more.")


# --- async jobs ---------------------------------------------------------------------------------


class JobNotFound(DomainError):
    status = 404
    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"No job '{job_id[:64]}' (it may have expired, or belongs to another API key).", param="id")


class JobNotFinished(DomainError):
    status = 409
    code = "job_not_finished"

    def __init__(self, job_id: str, state: str, detail: str | None = None) -> None:
        suffix = f": {detail}" if detail else ""
        super().__init__(f"Job '{job_id}' has no result: it is {state}{suffix}.", param="id")


class JobQueueFull(DomainError):
    status = 429
    code = "rate_limit_exceeded"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, limit: int) -> None:
        super().__init__(f"The job queue is full ({limit} unfinished jobs); retry once some have finished.")


class JobQueueUnavailable(DomainError):
    """The job was stored but could not be handed to a worker (the broker is down)."""

    status = 503
    code = "job_queue_unavailable"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self) -> None:
        super().__init__("The job queue is unavailable right now; the job was not accepted. Retry in a moment.")


class JobQuotaExceeded(DomainError):
    status = 429
    code = "rate_limit_exceeded"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This API key has {limit} unfinished jobs, its limit (JOBS__MAX_UNFINISHED_PER_KEY); "
            "retry once some have finished."
        )


class JobTimedOut(DomainError):
    """A synchronous request waited longer than JOBS__SYNC_TIMEOUT_SECONDS for its worker."""

    status = 504
    code = "timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"No worker finished this request within {seconds:g} seconds (JOBS__SYNC_TIMEOUT_SECONDS); "
            "send it with async=true to follow a long job."
        )


class JobFailed(DomainError):
    """A job run by a worker ended in an error; a synchronous request answers with that error."""

    def __init__(self, message: str, *, status: int, param: str | None, code: str | None) -> None:
        super().__init__(message, param=param, code=code)
        self.status = status


class JobStillRunning(Exception):
    """A worker got a job that another live worker is running (a broker redelivered it early)."""
