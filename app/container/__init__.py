"""The composition root: the only package that knows which adapter implements which port and what
each backend name means (app/config/backends.py lists the names; third-party ones come from entry
points, wrapped by app/adapters/plugins.py).

One small container per concern, joined by `Application` and fed one Settings object (as in
python-dependency-injector's `application-multiple-containers` example):
- stages.py: Core (device, decoder, URL fetcher), Transcription, Alignment, Diarization
- serving.py: Formatting, Jobs, HttpPolicy (admission, uploads, metrics, keys), Realtime
- application.py: Application (the pipeline, the request services), plugins, build_container
"""

from app.container.application import Application, StageModels, build_container

__all__ = ["Application", "StageModels", "build_container"]
