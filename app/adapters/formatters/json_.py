from __future__ import annotations

import msgspec

from app.domain.logprobs import transcript_logprobs
from app.domain.models import RenderOptions, Transcript
from app.schemas.transcription import TextTranscription, languages_of, usage, wire_logprobs


class JsonFormatter:
    """OpenAI's `json` format: `{"text", "languages", "usage"}`, and `logprobs` when asked for."""

    media_type = "application/json"
    needs_diarization = False
    shows_timings = False  # text only: segment times and words are not shown

    def render(self, transcript: Transcript, options: RenderOptions) -> bytes:
        return msgspec.json.encode(
            TextTranscription(
                text=transcript.text,
                languages=languages_of(transcript.spoken_languages),
                logprobs=wire_logprobs(transcript_logprobs(transcript)) if options.logprobs else msgspec.UNSET,
                usage=usage(transcript),
            )
        )
