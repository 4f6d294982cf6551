"""Settings: read once from environment variables, durations carry their unit."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from shared.settings import (
    DEV_SECRET_KEY,
    DEV_TOKEN_KEY,
    Settings,
    env_name,
    parse_duration_s,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30),
        ("90s", 90),
        ("90m", 5400),
        ("1h", 3600),
        ("4d", 4 * 86400),
        ("1.5h", 5400),
        (" 2m ", 120),
        ("0", 0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "4 days", "-5m", "5w", "m", "1h30m", "4D"])
def test_bad_duration_raises_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration") as raised:
        parse_duration_s(text)
    assert repr(text) in str(raised.value)
    assert "4d" in str(raised.value)  # the message shows what is accepted


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.stale_after_s == 4 * 86400
    assert settings.sync_cooldown_s == 3600
    assert settings.openhumans_filename == "github-activity.json"
    assert settings.database_url.startswith("sqlite:///")


def test_from_env_reads_names_without_the_unit_suffix() -> None:
    settings = Settings.from_env(
        {
            "STALE_AFTER": "2d",
            "SCHEDULER_INTERVAL": "90s",
            "SYNC_COOLDOWN": "30m",
            "HTTP_TIMEOUT": "10",
            "GITHUB_RESERVE": "50",
            "GATEWAY_PORT": "9000",
            "REDIS_URL": "redis://cache:6379/2",
            "LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.stale_after_s == 2 * 86400
    assert settings.scheduler_interval_s == 90
    assert settings.sync_cooldown_s == 1800
    assert settings.http_timeout_s == 10
    assert settings.github_reserve == 50
    assert isinstance(settings.github_reserve, int)
    assert settings.gateway_port == 9000
    assert isinstance(settings.gateway_port, int)
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.log_level == "DEBUG"


def test_the_suffixed_name_is_not_read() -> None:
    settings = Settings.from_env({"STALE_AFTER_S": "60"})
    assert settings.stale_after_s == 4 * 86400


def test_empty_values_keep_the_default() -> None:
    assert Settings.from_env({"STALE_AFTER": "", "SECRET_KEY": ""}) == Settings()


def test_bad_duration_in_environment_raises() -> None:
    with pytest.raises(ValueError, match="STALE|not a duration"):
        Settings.from_env({"STALE_AFTER": "four days"})


def test_bad_integer_in_environment_raises() -> None:
    with pytest.raises(ValueError):
        Settings.from_env({"GITHUB_RESERVE": "lots"})


def test_env_name_of_every_field() -> None:
    assert env_name("stale_after_s") == "STALE_AFTER"
    assert env_name("redis_url") == "REDIS_URL"
    names = [env_name(f.name) for f in dataclasses.fields(Settings)]
    assert len(set(names)) == len(names)
    assert not any(name.endswith("_S") for name in names)


def test_every_field_is_read_from_its_env_name() -> None:
    environ = {}
    for field in dataclasses.fields(Settings):
        if field.name.endswith("_s") or field.type in ("int", int):
            environ[env_name(field.name)] = "7"
        elif field.name.startswith("rate_limit_"):
            environ[env_name(field.name)] = "7/day"
        else:
            environ[env_name(field.name)] = f"value-of-{field.name}"
    settings = Settings.from_env(environ)
    for field in dataclasses.fields(Settings):
        value = getattr(settings, field.name)
        assert value in (7, "7/day", f"value-of-{field.name}")
        assert value != getattr(Settings(), field.name), field.name


def test_settings_are_frozen_and_keyword_only() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.secret_key = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Settings("http://example.org")  # type: ignore[misc]


def test_production_problems_flag_development_secrets() -> None:
    problems = Settings().production_problems()
    assert any("SECRET_KEY" in problem for problem in problems)
    assert any("TOKEN_ENCRYPTION_KEYS" in problem for problem in problems)
    assert Settings().secret_key == DEV_SECRET_KEY
    assert Settings().token_encryption_keys == DEV_TOKEN_KEY


def test_production_problems_empty_with_real_secrets(settings: Settings) -> None:
    production = dataclasses.replace(
        settings, app_base_url="https://github.example.org", openhumans_webhook_secret="s3cret"
    )
    assert production.production_problems() == []
    only_secret = dataclasses.replace(production, token_encryption_keys=DEV_TOKEN_KEY)
    assert only_secret.production_problems() == ["TOKEN_ENCRYPTION_KEYS is the development default"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"openhumans_webhook_secret": ""}, "OPENHUMANS_WEBHOOK_SECRET is empty"),
        ({"app_base_url": "http://github.example.org"}, "APP_BASE_URL is not https"),
    ],
)
def test_production_problems_flag_unsafe_settings(
    settings: Settings, change: dict[str, str], problem: str
) -> None:
    production = dataclasses.replace(
        settings, app_base_url="https://github.example.org", openhumans_webhook_secret="s3cret"
    )
    assert dataclasses.replace(production, **change).production_problems() == [problem]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.github.com",
        "https://API.GITHUB.COM",
        "https://api.github.com:443/",
        " https://Api.GitHub.com",
        "HTTPS://www.openhumans.org",
        "https://openhumans.org",
    ],
)
def test_every_spelling_of_a_real_host_counts_as_real(url: str) -> None:
    sandbox = "http://127.0.0.1:8900"
    base = Settings(
        openhumans_url=f"{sandbox}/openhumans",
        github_api_url=f"{sandbox}/github-api",
        github_web_url=f"{sandbox}/github",
    )
    assert not base.uses_real_services
    field = "openhumans_url" if "openhumans" in url.lower() else "github_api_url"
    assert dataclasses.replace(base, **{field: url}).uses_real_services


def test_rates_are_checked_when_read() -> None:
    assert Settings.from_env({"RATE_LIMIT_LOGIN": "10/second"}).rate_limit_login == "10/second"
    assert Settings.from_env({"RATE_LIMIT_IP": "OFF"}).rate_limit_ip == "off"
    with pytest.raises(ValueError, match="not a rate"):
        Settings.from_env({"RATE_LIMIT_MEMBER": "lots"})


def test_is_configured_needs_both_oauth_apps() -> None:
    assert not Settings().is_configured
    assert not Settings(openhumans_client_id="oh").is_configured
    assert Settings(openhumans_client_id="oh", github_client_id="gh").is_configured


def test_services_refuse_real_members_with_development_secrets(tmp_path: pathlib.Path) -> None:
    from shared import runtime

    real = Settings(database_url=f"sqlite:///{tmp_path}/db.sqlite3")
    assert real.uses_real_services
    with pytest.raises(SystemExit, match="TOKEN_ENCRYPTION_KEYS"):
        runtime.start("gateway", real)
    sandboxed = Settings(
        database_url=f"sqlite:///{tmp_path}/db.sqlite3",
        openhumans_url="http://127.0.0.1:8900/openhumans",
        github_api_url="http://127.0.0.1:8900/github-api",
        github_web_url="http://127.0.0.1:8900/github",
    )
    assert not sandboxed.uses_real_services
    assert runtime.start("gateway", sandboxed).settings is sandboxed
