"""`whisperx-api-server`: serve the API, or transcribe local files with the same pipeline in-process.

    whisperx-api-server serve
    whisperx-api-server transcribe talk.mp3 call.wav --format srt --diarize --output-dir subs/

Options go through the HTTP API's own parser (app/services/audio_requests.py), so a file
transcribed here and the same file posted to the server with the same fields give the same result.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.domain.models import Segment
from app.services.audio_requests import fields_from

# File extension per response format, for the files `transcribe` writes.
EXTENSIONS = {
    "text": "txt",
    "json": "json",
    "verbose_json": "json",
    "vtt_json": "json",
    "diarized_json": "json",
    "srt": "srt",
    "vtt": "vtt",
    "aud": "aud.txt",
    "rttm": "rttm",
}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="whisperx-api-server", description=__doc__.splitlines()[0])
    commands = cli.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API (settings from the environment, as `make run`)")
    commands.add_parser("worker", help="run an async-job worker (JOBS__BACKEND=celery, JOBS__REDIS_URL)")
    commands.add_parser(
        "mcp", help="an MCP server on stdio relaying to a running server (WHISPERX_API_URL, WHISPERX_API_KEY)"
    )
    transcribe = commands.add_parser("transcribe", help="transcribe audio files in-process")
    transcribe.add_argument("files", nargs="+", type=Path, metavar="FILE")
    transcribe.add_argument("--model", default="", help="model name or path (default: WHISPER__MODEL)")
    transcribe.add_argument("--language", help="ISO 639-1 code (default: detect)")
    transcribe.add_argument("--format", dest="response_format", default="srt", choices=sorted(EXTENSIONS))
    transcribe.add_argument("--task", choices=("transcribe", "translate"), default="transcribe")
    transcribe.add_argument("--diarize", action="store_true", help="label speakers")
    transcribe.add_argument("--min-speakers", type=int)
    transcribe.add_argument("--max-speakers", type=int)
    transcribe.add_argument("--word-timestamps", action="store_true", help="word times (verbose_json)")
    transcribe.add_argument("--no-align", action="store_true", help="skip word alignment")
    transcribe.add_argument("--prompt")
    transcribe.add_argument("--hotwords")
    transcribe.add_argument("--output-dir", type=Path, default=Path("."), help="where outputs go (default: .)")
    transcribe.add_argument("--quiet", action="store_true", help="no progress bar")
    return cli


def fields_of(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line as the fields the API would receive."""
    fields: list[tuple[str, str]] = [("model", args.model), ("response_format", args.response_format)]
    if args.task == "transcribe":
        optional = {
            "language": args.language,
            "hotwords": args.hotwords,
            "min_speakers": args.min_speakers,
            "max_speakers": args.max_speakers,
        }
        fields += [(name, str(value)) for name, value in optional.items() if value is not None]
        fields += [("diarize", str(args.diarize).lower()), ("align", str(not args.no_align).lower())]
        fields += [
            ("timestamp_granularities[]", g) for g in ("segment", "word") if g == "segment" or args.word_timestamps
        ]
    if args.prompt is not None:
        fields.append(("prompt", args.prompt))
    return fields_from(fields)


def transcribe(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from app.domain.errors import DomainError
    from app.entrypoints.bootstrap import bootstrap

    # The progress bar is the output; keep logs to problems.
    container = bootstrap(log_level="WARNING")
    pipeline, formatters, requests = container.pipeline(), container.formatters(), container.request_parser()
    build_request = requests.transcription if args.task == "transcribe" else requests.translation
    args.output_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:>6.0f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=args.quiet, transient=False) as progress:
        for path in args.files:
            target = args.output_dir / f"{path.stem}.{EXTENSIONS[args.response_format]}"
            try:
                with path.open("rb") as source:
                    request = build_request(fields_of(args), source)
                    audio = pipeline.decoder.decode(request.audio)
                bar = progress.add_task(path.name, total=max(audio.duration, 0.01))
                result = pipeline.run_audio(
                    audio, request.options, on_segment=functools.partial(_advance, progress, bar)
                )
                progress.update(bar, completed=audio.duration)
            except (DomainError, OSError) as exc:
                failures += 1
                message = exc.message if isinstance(exc, DomainError) else str(exc)
                print(f"{path}: {message}", file=sys.stderr)
                continue
            body = formatters[request.response_format].render(result.transcript, request.render)
            target.write_bytes(body if isinstance(body, bytes) else body.encode())
            if args.quiet:
                print(target)
            else:
                progress.console.print(f"{path} → {target}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        from app.entrypoints.server import main as serve

        serve()
        return 0
    if args.command == "worker":
        from app.entrypoints.worker import main as worker

        return worker()
    if args.command == "mcp":
        from app.entrypoints.mcp_stdio import main as mcp

        return mcp()
    return transcribe(args)


if __name__ == "__main__":
    sys.exit(main())


def _advance(progress: Any, bar: Any, segment: Segment) -> None:
    """A file's progress bar, up to the segment just transcribed."""
    progress.update(bar, completed=segment.end)
