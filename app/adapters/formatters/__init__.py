"""One formatter per response format, by the name a request gives in `response_format`."""

from __future__ import annotations

from app.adapters.formatters.aud import AudacityFormatter
from app.adapters.formatters.diarized_json import DiarizedJsonFormatter
from app.adapters.formatters.json_ import JsonFormatter
from app.adapters.formatters.rttm import RttmFormatter
from app.adapters.formatters.srt import SrtFormatter
from app.adapters.formatters.text import TextFormatter
from app.adapters.formatters.verbose_json import VerboseJsonFormatter
from app.adapters.formatters.vtt import VttFormatter
from app.adapters.formatters.vtt_json import VttJsonFormatter
from app.domain.ports.rendering import Formatter


def all_formatters() -> dict[str, Formatter]:
    return {
        "text": TextFormatter(),
        "json": JsonFormatter(),
        "verbose_json": VerboseJsonFormatter(),
        "vtt_json": VttJsonFormatter(),
        "srt": SrtFormatter(),
        "vtt": VttFormatter(),
        "aud": AudacityFormatter(),
        "diarized_json": DiarizedJsonFormatter(),
        "rttm": RttmFormatter(),
    }
