"""The ports: what the domain needs from the outside world, one module per concern.

- audio: decoding uploads, fetching URLs, live audio streams
- transcription: file transcription and live utterances
- alignment: word times after transcription
- speakers: diarization, voice prints, the registry of enrolled voices
- rendering: response formats
- models: a stage's model management (list, load, unload)
- stages: what one backend of a stage gives the server (its ports, models, default, warm-up)
- jobs: async jobs, their callbacks and workers; observers of finished work

A port's optional capability is a small Protocol of its own that the port extends: every adapter
answers it, and a third-party backend that does not is wrapped once (app/adapters/plugins.py), so
nobody probes an adapter with `isinstance` or `getattr`. Every method here blocks (model inference,
file decoding); callers run them off the event loop.
"""
