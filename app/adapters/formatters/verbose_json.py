from __future__ import annotations

import msgspec
from whisperx.utils import LANGUAGES

from app.domain.models import RenderOptions, Transcript
from app.schemas.transcription import VerboseTranscription, segment_out, usage, word_out


def verbose_fields(transcript: Transcript, options: RenderOptions) -> dict:
    """The fields of OpenAI's verbose_json object, shared with vtt_json."""
    embeddings = transcript.speaker_embeddings
    return {
        "task": transcript.task.value,
        # OpenAI reports the language's English name ("english"), not its code.
        "language": LANGUAGES.get(transcript.language, transcript.language),
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
        "segments": [segment_out(s) for s in transcript.segments] if options.segment_timestamps else msgspec.UNSET,
        "words": [word_out(w) for w in transcript.words] if options.word_timestamps else msgspec.UNSET,
        "usage": usage(transcript),
        "aligner": transcript.aligner or msgspec.UNSET,
        "diarizer": transcript.diarizer or msgspec.UNSET,
        "speaker_embeddings": {k: list(v) for k, v in embeddings.items()} if embeddings else msgspec.UNSET,
    }


class VerboseJsonFormatter:
    media_type = "application/json"
    needs_diarization = False
    shows_timings = True

    def render(self, transcript: Transcript, options: RenderOptions) -> bytes:
        return msgspec.json.encode(VerboseTranscription(**verbose_fields(transcript, options)))
