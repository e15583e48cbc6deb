"""Settings: seed environment names, YAML files, and the JWT secret rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.config import ConfigError, Settings, prepare


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "JWT_SECRET",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_ORIGINS",
        "PARLEY_ENV",
        "PARLEY_CONFIG",
        "PARLEY_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


def test_seed_environment_names_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/parley")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    settings = Settings()
    assert settings.secret() == "s" * 40
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.sqlalchemy_url == "postgresql+asyncpg://u:p@db:5432/parley"
    assert settings.redis_url == "redis://cache:6379/0"


def test_prefixed_names_work_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_ACCESS_TOKEN_TTL_S", "60")
    monkeypatch.setenv("PARLEY_ENV", "production")
    settings = Settings()
    assert settings.access_token_ttl_s == 60
    assert settings.env == "production"


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/parley.db"


def test_yaml_file_is_read_and_env_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "parley.yaml"
    config.write_text("access_token_ttl_s: 120\nlogin_max_failures: 9\n")
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    monkeypatch.setenv("PARLEY_LOGIN_MAX_FAILURES", "3")
    settings = Settings()
    assert settings.access_token_ttl_s == 120
    assert settings.login_max_failures == 3


def test_missing_yaml_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigError, match="does not exist"):
        Settings()


def test_development_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    first = prepare(Settings(data_dir=tmp_path)).secret()
    second = prepare(Settings(data_dir=tmp_path)).secret()
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


def test_production_without_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        prepare(Settings(env="production", data_dir=tmp_path))


def test_production_with_a_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        prepare(Settings(env="production", data_dir=tmp_path, jwt_secret="short"))


def test_production_with_a_strong_secret_starts(tmp_path: Path) -> None:
    settings = prepare(Settings(env="production", data_dir=tmp_path, jwt_secret="k" * 32))
    assert settings.secure_cookies is True


def test_the_gateway_addresses_are_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().forwarded_allow_ips == "127.0.0.1"
    monkeypatch.setenv("PARLEY_FORWARDED_ALLOW_IPS", "172.30.80.10,10.0.0.0/8")
    assert Settings().forwarded_allow_ips == "172.30.80.10,10.0.0.0/8"


def test_service_limits_are_settings_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings()
    assert defaults.media_max_open_uploads == 20
    assert defaults.ai_callback_hosts == []
    assert (defaults.ai_decoder_wait_s, defaults.ai_streams_per_user) == (10.0, 2)
    assert (defaults.ai_stream_idle_s, defaults.ai_stream_auth_s) == (60.0, 10.0)
    monkeypatch.setenv("PARLEY_MEDIA_MAX_OPEN_UPLOADS", "3")
    monkeypatch.setenv("PARLEY_AI_CALLBACK_HOSTS", "hooks.example.com, 127.0.0.1:8088,")
    monkeypatch.setenv("PARLEY_AI_STREAMS_PER_USER", "5")
    monkeypatch.setenv("PARLEY_AI_STREAM_IDLE_S", "1.5")
    settings = Settings()
    assert settings.media_max_open_uploads == 3
    assert settings.ai_callback_hosts == ["hooks.example.com", "127.0.0.1:8088"]
    assert (settings.ai_streams_per_user, settings.ai_stream_idle_s) == (5, 1.5)
    monkeypatch.setenv("PARLEY_AI_STREAMS_PER_USER", "0")
    with pytest.raises(ValueError, match="ai_streams_per_user"):
        Settings()
