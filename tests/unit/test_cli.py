"""The command line's options go through the API's own parser."""

from __future__ import annotations

import io

import pytest

from app.container import build_container
from app.entrypoints.cli import fields_of, parser
from app.services.audio_requests import AudioRequestParser


@pytest.fixture
def requests(settings) -> AudioRequestParser:
    return build_container(settings).request_parser()


def request_for(argv: list[str], requests: AudioRequestParser):
    args = parser().parse_args(["transcribe", "a.wav", *argv])
    build = requests.transcription if args.task == "transcribe" else requests.translation
    return build(fields_of(args), io.BytesIO(b""))


def test_defaults_are_the_servers(requests):
    request = request_for([], requests)
    assert request.response_format == "srt" and request.options.model == ""
    assert request.options.align and not request.options.diarize and not request.render.word_timestamps


def test_options_map_to_the_api_fields(requests):
    request = request_for(
        [
            "--diarize",
            "--min-speakers",
            "2",
            "--max-speakers",
            "3",
            "--language",
            "de",
            "--word-timestamps",
            "--format",
            "verbose_json",
            "--model",
            "tiny.en",
            "--no-align",
        ],
        requests,
    )
    options = request.options
    assert options.diarize and (options.min_speakers, options.max_speakers) == (2, 3)
    assert options.language == "de" and options.model == "tiny.en" and not options.align
    assert request.render.word_timestamps and request.render.segment_timestamps


def test_translate_and_bad_values_are_refused_like_the_api(requests):
    assert request_for(["--task", "translate"], requests).options.task.value == "translate"
    from app.domain.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="language"):
        request_for(["--language", "klingon"], requests)
