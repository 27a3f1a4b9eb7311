"""A session's turns (conversation items): the one being spoken, the committed ones waiting for their
transcript, and the audio they still need."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field

from app.domain.audio import SAMPLE_RATE
from app.domain.live import (
    AGREEMENT_GAP_SAMPLES,
    VAD_FRAME_SAMPLES,
    Agreement,
    StableToken,
    TurnDetection,
    TurnDetector,
)
from app.services.realtime.audio import SessionAudio
from app.services.realtime.config import RealtimeEventError

# A long turn is finished window by window, cut at the quietest VAD frame between these marks: each
# live decoding then reads at most the last window (its cost grows with the audio), and the window
# before passes its words on as context.
WINDOW_CUT_SECONDS = (10.0, 15.0)


@dataclass(slots=True)
class LiveItem:
    """One turn: its audio span in session samples and what was sent of it."""

    id: str
    start: int
    end: int | None = None  # set when committed
    speech_end: int | None = None  # server VAD: the end of the last speech frame
    window_start: int = 0  # the Whisper window being decoded now starts here
    agreement: Agreement = field(default_factory=Agreement)
    heard_until: int = 0  # the audio `agreement.previous` was decoded from ends here
    heard_in_full: bool = False  # ... and it was decoded as a final one is (the full beam)
    language: str | None = None
    earlier_windows: list[StableToken] = field(default_factory=list)
    sent: str = ""  # the deltas so far, joined
    final: list[StableToken] = field(default_factory=list)  # the finished windows' text, as `completed` says it
    added: bool = False
    failed: bool = False

    def __post_init__(self) -> None:
        self.window_start = self.start


class Turns:
    """Where each turn starts and ends (server VAD or the client's commits) and which wait for decoding."""

    def __init__(self, audio: SessionAudio, max_pending: int) -> None:
        self.audio = audio
        self.max_pending = max_pending  # REALTIME__MAX_PENDING_TURNS
        self.current: LiveItem | None = None  # being spoken (or, without server VAD, the open buffer)
        self.pending: deque[LiveItem] = deque()  # committed, transcript not yet complete
        self.last_item_id: str | None = None
        self.detector: TurnDetector | None = None  # None: the client commits turns itself
        self.agreement_gap = AGREEMENT_GAP_SAMPLES  # the session's `delay` sets it for the turns to come

    def open(self, start: int) -> LiveItem:
        self.current = LiveItem(
            id=f"item_{secrets.token_hex(10)}",
            start=start,
            heard_until=start,
            agreement=Agreement(gap=self.agreement_gap),
        )
        return self.current

    def detect(self, settings: TurnDetection | None, at: int) -> None:
        """Detect turns with `settings` from session sample `at` on (None: the client commits)."""
        self.detector = None if settings is None else TurnDetector(settings, frames=at // VAD_FRAME_SAMPLES)
        if self.detector is not None:
            self.detector.restart_at(at)

    @property
    def paused(self) -> bool:
        """Server VAD heard the speaker stop (the turn may be over)."""
        return self.detector is not None and self.detector.paused_at is not None

    def queue_full_error(self, transcribing: bool) -> RealtimeEventError | None:
        if not transcribing or len(self.pending) < self.max_pending:
            return None
        return RealtimeEventError(
            f"{len(self.pending)} turns are waiting to be transcribed (the limit is "
            f"{self.max_pending}, REALTIME__MAX_PENDING_TURNS): commit less often.",
            code="too_many_pending_turns",
        )

    def commit(self, item: LiveItem, end: int, *, transcribing: bool) -> str | None:
        """`item` ends at `end`; returns the id of the item before it."""
        item.end = end
        self.current = None
        previous, self.last_item_id = self.last_item_id, item.id
        if transcribing:
            self.pending.append(item)
        return previous

    def discard(self, item: LiveItem) -> None:
        self.current = None
        item.failed = True  # a live decoding of it still in flight sends nothing

    def quietest_cut(self, item: LiveItem) -> int:
        """The least speech-like VAD frame 10 to 15 s into the window: a pause between words."""
        first, last = (item.window_start + int(s * SAMPLE_RATE) for s in WINDOW_CUT_SECONDS)
        return self.audio.quietest_frame(first, last)

    def trim(self, prefix_padding_ms: int) -> None:
        """Drop audio nothing needs any more: before every open window, keeping what a turn heard in
        the next frames would reach back to (its prefix padding, from a frame not yet complete)."""
        keep = self.audio.received - prefix_padding_ms * SAMPLE_RATE // 1000 - VAD_FRAME_SAMPLES
        for item in (*self.pending, *([self.current] if self.current else [])):
            keep = min(keep, item.window_start)
        self.audio.drop_before(keep)
