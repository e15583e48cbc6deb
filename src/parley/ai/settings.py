"""Settings of the AI service that ``parley.config.Settings`` does not carry (yet).

config.py is the one settings object of the platform; these few were added by the AI service's
hardening and are read from the same ``PARLEY_`` environment until config.py takes them over.
:func:`ai_settings` prefers a value of the main settings object when it has one of the same
name, so moving a field into config.py needs no change here.

- ``PARLEY_AI_CALLBACK_HOSTS``: comma-separated ``host`` or ``host:port`` entries that batch
  job callbacks may reach (a bare host means the scheme's default port). Empty (the default):
  every ``callback_url`` is refused.
- ``PARLEY_AI_DECODER_WAIT_S``: how long a transcription waits for a free speech decoder
  before it is answered 503 with ``Retry-After``.
- ``PARLEY_AI_STREAMS_PER_USER``: live caption streams one user may have open at once.
- ``PARLEY_AI_STREAM_IDLE_S``: a live caption stream that sends no audio for this long is
  closed.
- ``PARLEY_AI_STREAM_AUTH_S``: how long a stream opened without ``?token=`` has to send its
  ``auth`` frame.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class AiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    ai_callback_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ai_decoder_wait_s: float = Field(default=10.0, gt=0)
    ai_streams_per_user: int = Field(default=2, ge=1)
    ai_stream_idle_s: float = Field(default=60.0, gt=0)
    ai_stream_auth_s: float = Field(default=10.0, gt=0)

    @field_validator("ai_callback_hosts", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def ai_settings(settings: Any) -> AiSettings:
    """These settings from the environment, overridden by same-named fields of ``settings``."""
    from_env = AiSettings()
    overrides = {
        name: getattr(settings, name)
        for name in AiSettings.model_fields
        if getattr(settings, name, None) is not None
    }
    return from_env.model_copy(update=overrides) if overrides else from_env
