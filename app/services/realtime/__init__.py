"""Realtime transcription sessions (OpenAI's Realtime protocol): the server's sessions (service.py);
one session's protocol and event dispatch (session.py), its incoming audio (intake.py, kept by
audio.py), its turns (turns.py), their decoding (transcribing.py) and the events sent about them
(emission.py), its configuration (config.py); the decoder every session shares (decode_queue.py)."""

from app.services.realtime.config import RealtimeLimits, SessionClosed
from app.services.realtime.decode_queue import DecodeQueue
from app.services.realtime.service import RealtimeService

__all__ = ["DecodeQueue", "RealtimeLimits", "RealtimeService", "SessionClosed"]
