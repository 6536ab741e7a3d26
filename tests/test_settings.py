"""Process settings: read from the environment, refused when they could not work."""

from __future__ import annotations

from pathlib import Path

import pytest

from facade.settings import Settings


def test_settings_come_from_the_environment_and_go_back_to_it() -> None:
    env = {"FACADE_BACKEND_CONNECTIONS": "7", "FACADE_SHADOW_QUEUE": "50"}
    settings = Settings.from_env(env)
    assert (settings.backend_connections, settings.shadow_queue) == (7, 50)
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(
    "name", ["FACADE_BACKEND_CONNECTIONS", "FACADE_SHADOW_QUEUE", "FACADE_SHADOW_CONCURRENCY"]
)
@pytest.mark.parametrize("value", ["0", "-3"])
def test_limits_below_one_are_refused(name: str, value: str) -> None:
    """A queue of 0 would be unbounded; 0 connections or workers would serve nothing."""
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_named_admin_tokens_come_from_a_variable_and_a_file(tmp_path: Path) -> None:
    file = tmp_path / "tokens"
    file.write_text("# operators\ncarol = tok3\n\n", encoding="utf-8")
    env = {
        "FACADE_ADMIN_TOKEN": "tok0",
        "FACADE_ADMIN_TOKENS": "alice=tok1, bob=tok2",
        "FACADE_ADMIN_TOKENS_FILE": str(file),
    }
    settings = Settings.from_env(env)
    assert settings.tokens() == {"admin": "tok0", "alice": "tok1", "bob": "tok2", "carol": "tok3"}
    assert "tok1" not in repr(settings)
    assert Settings.from_env(settings.to_env()).tokens() == settings.tokens()


@pytest.mark.parametrize("value", ["alice", "=tok", "alice="])
def test_an_admin_token_without_its_name_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="name=token"):
        Settings.from_env({"FACADE_ADMIN_TOKENS": value})


def test_state_audit_and_retirement_settings_go_to_the_workers(tmp_path: Path) -> None:
    env = {
        "FACADE_STATE": str(tmp_path / "flags.json"),
        "FACADE_AUDIT": str(tmp_path / "audit.jsonl"),
        "FACADE_RETIRE_AFTER": "2h",
    }
    settings = Settings.from_env(env)
    assert (settings.state_path, settings.retire_after) == (tmp_path / "flags.json", 7200.0)
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({}).state_path is None
    with pytest.raises(ValueError, match="not a duration"):
        Settings.from_env({"FACADE_RETIRE_AFTER": "soon"})


def test_resilience_settings_come_from_the_environment() -> None:
    env = {
        "FACADE_BACKEND_LIMITS": "http://ERP.internal:8080/soap=4, https://crm=2",
        "FACADE_BACKEND_QUEUE": "20",
        "FACADE_BACKEND_QUEUE_TIMEOUT": "1.5",
        "FACADE_RETRY_ATTEMPTS": "1",
        "FACADE_BREAKER": "off",
        "FACADE_IDEMPOTENCY_TTL": "60",
        "FACADE_SHUTDOWN_SECONDS": "5",
    }
    settings = Settings.from_env(env)
    assert settings.backend_limits == {"http://erp.internal:8080": 4, "https://crm:443": 2}
    assert (settings.backend_queue, settings.backend_queue_timeout) == (20, 1.5)
    assert (settings.resilience.retry.attempts, settings.resilience.breaker) == (1, False)
    assert (settings.idempotency_ttl, settings.shutdown_seconds) == (60, 5)
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({}).backend_queue_timeout is None  # until the deadline


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FACADE_BACKEND_LIMITS", "http://erp:8080", "is not ORIGIN=CALLS"),
        ("FACADE_BACKEND_LIMITS", "ftp://erp=3", "is not an http"),
        ("FACADE_BACKEND_LIMITS", "http://erp=many", "is not a number of calls"),
        ("FACADE_BACKEND_LIMITS", "http://erp=0", "must take at least 1 call"),
        ("FACADE_BREAKER", "maybe", "must be on or off"),
        ("FACADE_RETRY_BUDGET", "1.5", "share between 0 and 1"),
        ("FACADE_BACKEND_QUEUE_TIMEOUT", "0", "more than 0 seconds"),
        ("FACADE_BREAKER_COOL_DOWN", "-1", "more than 0 seconds"),
        ("FACADE_RETRY_ATTEMPTS", "0", "at least 1"),
    ],
)
def test_resilience_settings_that_cannot_work_are_refused(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=name) as refused:
        Settings.from_env({name: value})
    assert message in str(refused.value)


def test_the_settings_file_is_named_by_facade_config_and_passed_to_workers() -> None:
    settings = Settings.from_env({"FACADE_CONFIG": "conf/facade.yaml"})
    assert str(settings.config_file) == "conf/facade.yaml"
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({}).config_file is None
    assert "FACADE_CONFIG" not in Settings().to_env()


def test_the_translator_niceness_comes_from_the_environment_and_goes_to_workers() -> None:
    assert Settings.from_env({}).translator_nice == 10
    settings = Settings.from_env({"FACADE_TRANSLATOR_NICE": "0"})
    assert settings.translator_nice == 0
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize("value", ["-1", "20"])
def test_a_translator_niceness_outside_0_to_19_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="FACADE_TRANSLATOR_NICE must be between 0 and 19"):
        Settings.from_env({"FACADE_TRANSLATOR_NICE": value})


def test_the_compression_threads_niceness_comes_from_the_environment_and_goes_to_workers() -> None:
    assert Settings.from_env({}).compress_nice == 10
    settings = Settings.from_env({"FACADE_COMPRESS_NICE": "3"})
    assert settings.compress_nice == 3
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize("value", ["-1", "20"])
def test_a_compression_niceness_outside_0_to_19_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="FACADE_COMPRESS_NICE must be between 0 and 19"):
        Settings.from_env({"FACADE_COMPRESS_NICE": value})
