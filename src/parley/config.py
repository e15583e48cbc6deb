"""One settings object for every service.

Values come, highest priority first, from keyword arguments, the environment (``PARLEY_*`` plus
the seed names ``JWT_SECRET``, ``ALLOWED_ORIGINS``, ``DATABASE_URL``, ``REDIS_URL``), and an
optional YAML file named by ``PARLEY_CONFIG`` (the CLI's ``--config`` sets it, so that processes
the CLI starts see the same file).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

MIN_PRODUCTION_SECRET_BYTES = 32
CONFIG_FILE_ENV = "PARLEY_CONFIG"


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("parley-data")
    host: str = "127.0.0.1"
    port: int = 8800

    jwt_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("JWT_SECRET", "PARLEY_JWT_SECRET", "jwt_secret")
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "ALLOWED_ORIGINS", "PARLEY_ALLOWED_ORIGINS", "allowed_origins"
        ),
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "PARLEY_DATABASE_URL", "database_url"),
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "PARLEY_REDIS_URL", "redis_url")
    )

    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600
    login_max_failures: int = 5
    login_window_s: int = 15 * 60
    max_json_body_bytes: int = 1024 * 1024
    cookie_secure: bool | None = None
    # Addresses (or CIDR ranges) of the gateways whose X-Forwarded-For / X-Forwarded-Proto are
    # believed: behind nginx, per-address limits then see each client, not the gateway.
    # Anyone else's forwarded headers are ignored. "*" trusts every peer (never when clients
    # can reach the service directly).
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: str = "info"
    log_json: bool = True
    auto_migrate: bool = True

    meeting_idle_end_s: int = 300
    meeting_sweep_interval_s: float = 30.0
    signaling_token_ttl_s: int = 120
    signaling_resume_grace_s: float = 30.0
    signaling_ping_interval_s: float = 10.0
    ice_servers: list[dict[str, Any]] = Field(default_factory=list)
    code_lookup_limit: int = 30
    # Breakout rooms (issue 18): how long the "back to the main room" countdown runs when a
    # host closes them (or their time is up); tests set it small.
    breakout_countdown_s: float = 60.0
    code_lookup_window_s: int = 60

    # media-service (issue 6): object storage, upload limits, recordings, TURN credentials.
    # S3-compatible storage is used when a bucket is set; otherwise <data_dir>/objects.
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_create_bucket: bool = True
    s3_presign_downloads: bool = False
    media_max_file_bytes: int = 2 * 1024**3
    media_user_quota_bytes: int = 10 * 1024**3
    media_upload_expiry_s: int = 24 * 3600
    media_worker_interval_s: float = 5.0
    # meeting-service's base URL when split; None: the same app (all-in-one), called in-process.
    media_meetings_url: str | None = None
    # Where media-service submits recording transcriptions (ai service) when split; in the
    # all-in-one app the request stays in-process. Off: no transcription of recordings.
    media_ai_url: str | None = None
    media_transcribe_recordings: bool = True
    # Resumable uploads one user may have open (created, not yet finished or expired) at once.
    media_max_open_uploads: int = Field(default=20, ge=1)
    recording_retention_days: int | None = None
    stun_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_secret: SecretStr | None = None
    turn_credential_ttl_s: int = 24 * 3600

    # The media plane (issue 15): Janus as SFU, driven by media-service (parley.rtc).
    # auto: two people peer to peer, from the third on through the SFU; always; never (mesh).
    sfu_mode: Literal["auto", "always", "never"] = "auto"
    # Janus's HTTP API (``http://host:8088/janus``) when it runs apart; None: `parley up`
    # starts one itself when the `janus` binary is installed (else rooms stay in mesh).
    janus_url: str | None = None
    janus_api_secret: SecretStr | None = None
    # VideoRoom's admin_key (room creation, RTP forwarding).
    janus_admin_key: SecretStr | None = None
    # Janus's admin API (``http://host:7088/admin``) and its secret: traffic figures (the
    # forwarded bitrate); without them that figure is not reported.
    janus_admin_url: str | None = None
    janus_admin_secret: SecretStr | None = None
    # UDP ports Janus's media uses (open them in the firewall) and the public address it
    # announces behind NAT (Janus's nat_1_1_mapping).
    janus_rtp_ports: str = "20000-20199"
    janus_public_ip: str | None = None
    # Network interfaces Janus gathers ICE candidates on (Janus's ice_enforce_list); None: all.
    janus_ice_interfaces: str | None = None
    # Rooms with more publishers than this forward only the last speakers' cameras (audio from
    # everyone); how many cameras that is.
    sfu_last_n_above: int = Field(default=25, ge=1)
    sfu_last_n: int = Field(default=9, ge=1)
    # signaling-service → media-service's rtc API when split; None: in-process (all-in-one).
    signaling_media_url: str | None = None
    # Several media nodes (with ETCD_ENDPOINTS): each rtc process announces its Janus under an
    # id (default: host-pid-port), a region (meetings prefer nodes of their people's region;
    # a signaling node's region is its people's), the publishers it takes before it counts as
    # full, and the private address other nodes send it RTP on (one meeting across nodes).
    sfu_node_id: str | None = None
    sfu_region: str = ""
    sfu_node_publishers: int = Field(default=100, ge=1)
    sfu_forward_host: str = "127.0.0.1"
    # Server-side recording of SFU rooms (issue 17): the folder this node's Janus writes its
    # .mjr files in (None: ``<data_dir>/janus/recordings``, the embedded Janus's), and the
    # longest a recording runs before it is stopped by itself.
    sfu_recordings_dir: Path | None = None
    sfu_recording_max_s: int = Field(default=4 * 3600, ge=5)

    # ai-inference-service (issue 7): engines, limits, batch workers, Triton endpoints.
    ai_model_dir: Path | None = None  # user-placed weights (whisper/<name>/model.bin ...)
    ai_asr_engine: str = "local"
    ai_tts_engine: str = "local"
    ai_emotion_engine: str = "local"
    ai_workers: int = 1  # in-process batch workers (0: only `parley serve ai-worker` runs jobs)
    ai_max_sync_audio_s: float = 600.0
    ai_max_upload_bytes: int = 200 * 1024**2
    ai_decoders: int = 2  # PocketSphinx decoders kept (one per concurrent transcription)
    # meeting-service's base URL when split; None: the same app (all-in-one), called in-process.
    ai_meetings_url: str | None = None
    # Where batch workers fetch media links from when not in the all-in-one app (media-service).
    ai_media_url: str | None = None
    # Hosts (``host`` or ``host:port``; a bare host means the scheme's default port) batch job
    # callbacks may reach. Empty: every ``callback_url`` is refused.
    ai_callback_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long a transcription waits for a free speech decoder before 503 with Retry-After.
    ai_decoder_wait_s: float = Field(default=10.0, gt=0)
    ai_streams_per_user: int = Field(default=2, ge=1)  # live caption streams open at once
    ai_stream_idle_s: float = Field(default=60.0, gt=0)  # a stream with no audio this long closes
    # How long a stream opened without ``?token=`` has to send its ``auth`` frame.
    ai_stream_auth_s: float = Field(default=10.0, gt=0)
    triton_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("PARLEY_TRITON_URLS", "TRITON_URLS", "triton_urls"),
    )

    # deployment (issue 8): tracing (OTLP), etcd registration, the address a service advertises.
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "PARLEY_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "otlp_endpoint"
        ),
    )  # e.g. http://jaeger:4318/v1/traces
    tracing: bool = False  # spans without an exporter of ours (tests add one)
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    etcd_endpoints: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("ETCD_ENDPOINTS", "PARLEY_ETCD_ENDPOINTS", "etcd_endpoints"),
    )
    etcd_lease_ttl_s: int = Field(default=10, ge=2)
    advertise_url: str | None = None  # how others reach this process (default http://host:port)

    @field_validator("etcd_endpoints", mode="before")
    @classmethod
    def _split_etcd_endpoints(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("triton_urls", mode="before")
    @classmethod
    def _split_triton_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator(
        "allowed_origins", "stun_urls", "turn_urls", "ai_callback_hosts", mode="before"
    )
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            if not Path(config_file).is_file():
                raise ConfigError(f"config file {config_file} does not exist")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the async driver SQLAlchemy needs."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'parley.db').resolve()}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env == "production"

    def secret(self) -> str:
        """The JWT signing secret; call :func:`prepare` first."""
        if self.jwt_secret is None:
            raise ConfigError("JWT secret not prepared")
        return self.jwt_secret.get_secret_value()


def prepare(settings: Settings) -> Settings:
    """Make the settings runnable: data dir present, JWT secret resolved.

    Production refuses to start without a strong secret. Development generates one and keeps it
    in the data dir so that tokens survive a restart.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.jwt_secret is not None:
        if (
            settings.env == "production"
            and len(settings.secret().encode()) < MIN_PRODUCTION_SECRET_BYTES
        ):
            raise ConfigError(
                f"JWT_SECRET must be at least {MIN_PRODUCTION_SECRET_BYTES} bytes "
                "when PARLEY_ENV=production"
            )
        return settings
    if settings.env == "production":
        raise ConfigError(
            "JWT_SECRET is not set: production needs its own secret of at least "
            f"{MIN_PRODUCTION_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)"
        )
    secret_file = settings.data_dir / "jwt_secret"
    if secret_file.is_file():
        secret = secret_file.read_text().strip()
    else:
        secret = secrets.token_urlsafe(48)
        secret_file.touch(mode=0o600)
        secret_file.write_text(secret)
        structlog.get_logger("parley.config").warning(
            "jwt_secret_generated",
            path=str(secret_file),
            hint="set JWT_SECRET; a generated secret is for development only",
        )
    settings.jwt_secret = SecretStr(secret)
    return settings
