"""The composition root: the only package that knows which adapter implements which port and what each
backend name means (docs/architecture.md draws it). stages.py: where inference runs and each stage's
backend; application.py: the jobs by JOBS__BACKEND, and everything joined."""

from app.container.application import Application, build_container

__all__ = ["Application", "build_container"]
