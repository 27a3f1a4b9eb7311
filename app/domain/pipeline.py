"""The transcription service: decode -> transcribe -> align -> diarize, framework-free."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

from app.domain.cancellation import checkpoint
from app.domain.errors import AlignmentUnavailable, StageUnavailable
from app.domain.models import (
    Audio,
    Segment,
    StageTimings,
    Transcript,
    TranscriptionOptions,
    TranscriptionResult,
)
from app.domain.ports.alignment import Aligner
from app.domain.ports.audio import AudioDecoder
from app.domain.ports.speakers import Diarizer, VoicePrinter
from app.domain.ports.transcription import ProgressSink, SegmentSink, StageSink, Transcriber, WordTimesWanted
from app.domain.speakers import assign_speakers, match_known_speakers, rename_speakers, spans_of

logger = logging.getLogger(__name__)


class TranscriptionPipeline:
    """Runs the three stages in order. Blocking: call it from a worker thread.

    `aligners` are tried in order; one that raises AlignmentUnavailable hands the
    transcript to the next (e.g. wav2vec2 first, then the Whisper cross-attention aligner).
    Where the transcriber can give the chosen aligner's word times while decoding, it does, and
    no aligner runs.
    """

    def __init__(
        self,
        decoder: AudioDecoder,
        transcriber: Transcriber,
        aligners: Sequence[Aligner],
        diarizer: Diarizer,
        voice_printer: VoicePrinter,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.decoder = decoder
        self.transcriber = transcriber
        self.aligners = tuple(aligners)
        self.diarizer = diarizer
        self.voice_printer = voice_printer
        self._clock = clock
        self._fallbacks_logged: set[tuple[str, str]] = set()
        self._fallbacks_lock = threading.Lock()

    def run(
        self,
        source: BinaryIO,
        options: TranscriptionOptions,
        on_segment: SegmentSink | None = None,
        on_stage: StageSink | None = None,
        on_progress: ProgressSink | None = None,
    ) -> TranscriptionResult:
        started = self._clock()
        if on_stage:
            on_stage("decode")
        audio = self.decoder.decode(source)
        decoded = self._clock()
        return self.run_audio(
            audio,
            options,
            decode_seconds=decoded - started,
            on_segment=on_segment,
            on_stage=on_stage,
            on_progress=on_progress,
        )

    def run_audio(
        self,
        audio: Audio,
        options: TranscriptionOptions,
        *,
        decode_seconds: float = 0.0,
        on_segment: SegmentSink | None = None,
        on_stage: StageSink | None = None,
        on_progress: ProgressSink | None = None,
    ) -> TranscriptionResult:
        told = on_stage or (lambda _: None)

        def stage(name: str) -> None:
            checkpoint()  # a cancelled request starts no further stage
            told(name)

        if on_progress is not None:
            on_segment = _with_progress(on_segment, on_progress, audio.duration)
        if options.diarize:
            self.diarizer.check(options)  # refused before the transcription, not after it
        t0 = self._clock()
        stage("transcribe")
        time_words = self._words_while_decoding(options)
        transcript = self.transcriber.transcribe(audio, options, on_segment=on_segment, time_words=time_words)
        t1 = self._clock()
        if options.wants_alignment and transcript.segments and transcript.aligner is None:
            stage("align")
            transcript = self._align(audio, transcript, options)
        t2 = self._clock()
        if options.diarize:
            stage("diarize")
            diarization = self.diarizer.diarize(audio, options)
            transcript = assign_speakers(transcript, diarization, diarizer=self.diarizer.name)
            if options.known_speakers or options.speaker_embeddings:
                checkpoint()
                transcript = self._voices(audio, transcript, options)
        t3 = self._clock()
        timings = StageTimings(decode=decode_seconds, transcribe=t1 - t0, align=t2 - t1, diarize=t3 - t2)
        return TranscriptionResult(transcript=transcript, timings=timings)

    def _voices(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        """Each speaker's voice print (of the kind the registry keeps), and known speakers by name."""
        voices = {label: self.voice_printer.voice_print(audio, spans) for label, spans in spans_of(transcript).items()}
        if options.speaker_embeddings:
            transcript = transcript.with_segments(transcript.segments, speaker_embeddings=voices)
        return rename_speakers(transcript, match_known_speakers(voices, options.known_speakers))

    def _words_while_decoding(self, options: TranscriptionOptions) -> WordTimesWanted | None:
        """The transcriber times words itself where its aligner is the one the chain would use: no
        aligner ahead of it has a model for the language. That saves a second pass over the audio."""
        if not options.wants_alignment:
            return None
        names = [aligner.name for aligner in self.aligners]
        own = next((index for index, name in enumerate(names) if self.transcriber.times_words_like(name)), None)
        if own is None:
            return None
        ahead = self.aligners[:own]
        return lambda language: not any(aligner.can_align(language) for aligner in ahead)

    def _align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        reasons: list[str] = []
        for aligner in self.aligners:
            try:
                return aligner.align(audio, transcript, options)
            except AlignmentUnavailable as exc:
                reasons.append(f"{aligner.name}: {exc.reason}")
                self._log_fallback_once(aligner.name, exc)
        message = f"No aligner can align language '{transcript.language}' ({'; '.join(reasons) or 'none configured'})."
        if options.word_timestamps:
            raise StageUnavailable(message, param="timestamp_granularities[]")
        logger.warning("alignment skipped: %s", message)
        return transcript

    def _log_fallback_once(self, aligner: str, exc: AlignmentUnavailable) -> None:
        key = (aligner, exc.language)
        with self._fallbacks_lock:
            if key in self._fallbacks_logged:
                return
            self._fallbacks_logged.add(key)
        logger.warning("aligner %s unavailable for language %s, falling back: %s", aligner, exc.language, exc.reason)


def _with_progress(on_segment: SegmentSink | None, on_progress: ProgressSink, duration: float) -> SegmentSink:
    """Also report the share of the audio transcribed (0..1) as each segment is decoded."""

    def both(segment: Segment) -> None:
        if on_segment is not None:
            on_segment(segment)
        on_progress(min(1.0, segment.end / duration) if duration > 0 else 0.0)

    return both
