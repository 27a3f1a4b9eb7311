"""The command line's options go through the API's own parser."""

from __future__ import annotations

import io

import pytest

from app.api.params import transcription_request, translation_request
from app.cli import form_of, parser
from app.config.settings import Settings
from app.container import build_container


@pytest.fixture
def formatters(settings):
    return build_container(settings).formatters()


def request_for(argv: list[str], settings: Settings, formatters):
    args = parser().parse_args(["transcribe", "a.wav", *argv])
    build = transcription_request if args.task == "transcribe" else translation_request
    return build(form_of(args), settings, formatters, source=io.BytesIO(b""))


def test_defaults_are_the_servers(settings, formatters):
    request = request_for([], settings, formatters)
    assert request.response_format == "srt" and request.options.model == ""
    assert request.options.align and not request.options.diarize and not request.render.word_timestamps


def test_options_map_to_the_api_fields(settings, formatters):
    request = request_for(["--diarize", "--min-speakers", "2", "--max-speakers", "3", "--language", "de",
                           "--word-timestamps", "--format", "verbose_json", "--model", "tiny.en", "--no-align"],
                          settings, formatters)
    options = request.options
    assert options.diarize and (options.min_speakers, options.max_speakers) == (2, 3)
    assert options.language == "de" and options.model == "tiny.en" and not options.align
    assert request.render.word_timestamps and request.render.segment_timestamps


def test_translate_and_bad_values_are_refused_like_the_api(settings, formatters):
    assert request_for(["--task", "translate"], settings, formatters).options.task.value == "translate"
    from app.domain.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="language"):
        request_for(["--language", "klingon"], settings, formatters)
