"""Audio constants every stage agrees on: what the decoder produces and Whisper's windows expect."""

SAMPLE_RATE = 16_000  # Hz, mono: the decoder's output and every model's input
WINDOW_SECONDS = 30  # Whisper sees at most 30 s at once
WINDOW_SAMPLES = SAMPLE_RATE * WINDOW_SECONDS
FRAMES_PER_SECOND = 100  # mel frames (10 ms hop); OpenAI's `seek` counts these
WINDOW_FRAMES = WINDOW_SECONDS * FRAMES_PER_SECOND
