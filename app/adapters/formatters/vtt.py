from __future__ import annotations

import re
from typing import TextIO

from whisperx.utils import WriteVTT

from app.adapters.formatters._subtitles import SubtitleFormatter

_SPEAKER_PREFIX = re.compile(r"^\[([^\]\n]+)\]: ")


class VoiceTagVTT(WriteVTT):
    """whisperx's WebVTT writer, with speakers as WebVTT voice tags (`<v SPEAKER_00>`)."""

    def write_result(self, result: dict, file: TextIO, options: dict) -> None:
        print("WEBVTT\n", file=file)
        for start, end, text in self.iterate_result(result, options):
            text = _SPEAKER_PREFIX.sub(lambda m: f"<v {m.group(1)}>", text)
            print(f"{start} --> {end}\n{text}\n", file=file, flush=True)


class VttFormatter(SubtitleFormatter):
    media_type = "text/vtt"
    needs_diarization = False
    shows_timings = True
    writer = VoiceTagVTT
