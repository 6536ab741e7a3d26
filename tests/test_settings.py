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
