"""Realtime transcription sessions (OpenAI's Realtime protocol): the server's sessions (service.py),
one session's protocol and turns (session.py), its audio (audio.py) and configuration (config.py), and
the decoder every session shares (decode_queue.py)."""

from app.services.realtime.config import RealtimeLimits, SessionClosed
from app.services.realtime.decode_queue import DecodeQueue
from app.services.realtime.service import RealtimeService

__all__ = ["DecodeQueue", "RealtimeLimits", "RealtimeService", "SessionClosed"]
