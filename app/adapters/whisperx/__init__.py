"""Adapters built on whisperx (and the pyannote / faster-whisper libraries it brings)."""

import warnings

# pyannote.audio warns at import that torchcodec cannot find FFmpeg's libraries. We decode with
# PyAV and hand pyannote waveforms in memory, so torchcodec is never used.
warnings.filterwarnings("ignore", message=r"\s*torchcodec is not installed correctly")
