"""Decoding a session's turns: what to decode next, live hypotheses while a turn grows, the final
text when it ends, a long turn window by window. Deltas are the words two hypotheses a second of
audio apart agree on (domain/live.py); `completed` carries the whole transcript, which the deltas
join to exactly."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import structlog

from app.domain.audio import SAMPLE_RATE
from app.domain.errors import DomainError
from app.domain.languages import word_joiner
from app.domain.live import DELAYS, Hypothesis, StableToken, UtteranceRequest, tokens_of
from app.domain.models import Audio
from app.services.realtime.config import RealtimeLimits, SessionConfig
from app.services.realtime.decode_queue import DecodeQueue
from app.services.realtime.emission import Emitter
from app.services.realtime.speakers import LiveSpeakers
from app.services.realtime.turns import WINDOW_CUT_SECONDS, LiveItem, Turns

logger = structlog.get_logger(__name__)
# A turn's language, when the session does not name one, is settled by a detection this sure of
# itself or else the one made on this much audio; until then nothing of the turn is sent (on a second
# of audio, two detections in a row can agree on the wrong language).
LANGUAGE_CONFIDENCE = 0.8
LANGUAGE_AUDIO_SECONDS = 3.0
# Until a turn's first words are out, it is decoded again as soon as this much audio has come.
FIRST_WORDS_INTERVAL_SECONDS = 0.2
# What earlier windows of the same turn said, as the decoder's prompt. Not earlier turns: Whisper
# given a finished sentence as its prompt tends to repeat it over unclear audio.
PROMPT_CONTEXT_CHARS = 200


class TurnTranscriber:
    def __init__(
        self,
        session_id: str,
        turns: Turns,
        decoder: DecodeQueue,
        limits: RealtimeLimits,
        emitter: Emitter,
        config: Callable[[], SessionConfig],
        speakers: LiveSpeakers,
    ) -> None:
        self.session_id = session_id
        self.speakers = speakers
        self.turns = turns
        self.audio = turns.audio
        self.decoder = decoder
        self.limits = limits
        self.emitter = emitter
        self.config = config  # the session's configuration now (session.update replaces it)
        self._wake = anyio.Event()

    def wake(self) -> None:
        """There is new audio or a new turn to decode."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            while await self._step():
                pass

    async def _step(self) -> bool:
        """Do the most urgent piece of decoding; False when there is none."""
        turns = self.turns
        if turns.pending:
            await self._finish(turns.pending[0])
            turns.pending.popleft()
            self._trim()
            return True
        item = turns.current
        if item is None or not self.config().transcribe:
            return False
        if (self.audio.received - item.window_start) / SAMPLE_RATE > WINDOW_CUT_SECONDS[1]:
            await self._finish_window(item, turns.quietest_cut(item))
            return True
        new_audio = self.audio.received - max(item.heard_until, item.window_start)
        interval = self.limits.decode_interval_seconds if item.sent else FIRST_WORDS_INTERVAL_SECONDS
        if new_audio >= interval * SAMPLE_RATE or turns.paused and new_audio > 0:
            # In a pause the turn may be over: decode as for the final text, which can then be sent at once.
            await self._hypothesize(item, final=turns.paused)
            return True
        return False

    async def _hypothesize(self, item: LiveItem, *, final: bool) -> None:
        until = self.audio.received
        hypothesis = await self._decode(item, item.window_start, until, final=final)
        if hypothesis is None or item.failed or hypothesis.repetitive:
            return
        item.heard_until, item.heard_in_full = until, final
        config = self.config()
        if item.language is None and not config.language:
            heard = (until - item.window_start) / SAMPLE_RATE
            if hypothesis.language_probability < LANGUAGE_CONFIDENCE and heard < LANGUAGE_AUDIO_SECONDS:
                return
            item.language = hypothesis.language
        await self._delta(item, item.agreement.offer(hypothesis, until))
        if config.partials and item.agreement.previous is not None and item.end is None:
            await self.emitter.partial(item, item.agreement.previous.text, self.turns.last_item_id)

    async def _finish(self, item: LiveItem) -> None:
        """The turn is committed: decode what is left of it and send `completed`."""
        assert item.end is not None
        heard_all = (
            item.agreement.previous is not None
            and item.heard_in_full
            and item.heard_until >= (item.speech_end or item.end)
        )
        last = (
            item.agreement.previous if heard_all else await self._decode(item, item.window_start, item.end, final=True)
        )
        if last is None:
            return
        await self._delta(item, item.agreement.finish(last))
        await self._close_window(item, item.window_start, item.end)
        config = self.config()
        await self.emitter.completed(item, logprobs=config.logprobs, language=config.language or item.language)

    async def _finish_window(self, item: LiveItem, cut: int) -> None:
        """A turn outgrew Whisper's window: the window ends at `cut`, its text is final, a new one begins."""
        last = await self._decode(item, item.window_start, cut, final=True)
        if last is not None:
            await self._delta(item, item.agreement.finish(last))
            await self._close_window(item, item.window_start, cut)
        item.earlier_windows.extend(item.agreement.stable)
        item.agreement.restart()
        item.window_start = item.heard_until = cut
        self._trim()

    async def _close_window(self, item: LiveItem, start: int, end: int) -> None:
        """A window's deltas are all out: its final text (corrected by a fresh decoding where the
        session's `delay` asks for it) goes to `completed`, and its speakers to segment events."""
        final = item.agreement.stable
        if DELAYS[self.config().delay].corrects:
            fresh = await self._decode(item, start, end, final=True, prefix=(), fatal=False)
            if fresh is not None and not fresh.repetitive and not fresh.no_speech:
                final = tokens_of(fresh)
        item.final.extend(final)
        await self._segments(item, start, end, "".join(t.piece for t in final).strip())

    async def _segments(self, item: LiveItem, start: int, end: int, said: str) -> None:
        """Who said this window of the turn (`gpt-4o-transcribe-diarize`), as segment events. A failure
        costs the segments, never the transcript."""
        if not self.config().diarize or item.failed:
            return
        try:
            segments = await self.speakers.segments(
                self.audio, item.start, start, end, said, word_joiner(item.language or self.config().language or "en")
            )
        except Exception:
            logger.exception("live speakers failed", session=self.session_id, item=item.id)
            return
        for segment in segments:
            await self.emitter.segment(item, segment.start, segment.end, segment.speaker, segment.text)

    async def _delta(self, item: LiveItem, tokens: list[StableToken]) -> None:
        await self.emitter.delta(
            item, tokens, logprobs=self.config().logprobs, previous_item_id=self.turns.last_item_id
        )

    async def _decode(
        self,
        item: LiveItem,
        start: int,
        end: int,
        *,
        final: bool,
        prefix: tuple[int, ...] | None = None,
        fatal: bool | None = None,
    ) -> Hypothesis | None:
        """A decoding of session samples `start`..`end`, continuing the stable tokens (or `prefix`). A
        final one's failure fails the item (unless `fatal` is False: a correction can be done without)."""
        config = self.config()
        context = "".join(t.piece for t in item.earlier_windows).strip()[-PROMPT_CONTEXT_CHARS:]
        prompt = " ".join(p for p in (config.prompt, context) if p) or None
        request = UtteranceRequest(
            model=config.model or "",
            language=config.language or item.language,
            prompt=prompt,
            prefix=item.agreement.prefix if prefix is None else prefix,
            final=final,
            logprobs=config.logprobs,
            hotwords=", ".join(config.keywords) or None,
            languages=config.languages,
        )
        samples = self.audio.between(start, end)
        try:
            return await self.decoder.decode(
                Audio(samples=samples, duration=len(samples) / SAMPLE_RATE), request, session=self.session_id
            )
        except Exception as exc:
            if not (final if fatal is None else fatal):
                logger.warning("live decoding failed", session=self.session_id, item=item.id, error=str(exc)[:300])
                return None
            item.failed = True
            await self.emitter.failed(item, exc)
            if not isinstance(exc, DomainError):
                logger.exception("realtime transcription failed", session=self.session_id, item=item.id)
            return None

    def _trim(self) -> None:
        self.turns.trim(self.config().prefix_padding_ms)
