"""Audio constants every stage agrees on: what the decoder produces and Whisper's windows expect."""

SAMPLE_RATE = 16_000  # Hz, mono: the decoder's output and every model's input
WINDOW_SECONDS = 30  # Whisper sees at most 30 s at once
WINDOW_SAMPLES = SAMPLE_RATE * WINDOW_SECONDS
FRAMES_PER_SECOND = 100  # mel frames (10 ms hop); OpenAI's `seek` counts these
WINDOW_FRAMES = WINDOW_SECONDS * FRAMES_PER_SECOND
# OpenAI's realtime input formats, as bytes a second: `audio/pcm` is 24 kHz PCM16, G.711 8 kHz bytes.
REALTIME_BYTES_PER_SECOND = {"audio/pcm": 48_000, "audio/pcmu": 8_000, "audio/pcma": 8_000}
