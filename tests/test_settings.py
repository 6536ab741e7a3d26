"""Process settings: read from the environment, refused when they could not work."""

from __future__ import annotations

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


def test_the_settings_file_is_named_by_facade_config_and_passed_to_workers() -> None:
    settings = Settings.from_env({"FACADE_CONFIG": "conf/facade.yaml"})
    assert str(settings.config_file) == "conf/facade.yaml"
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({}).config_file is None
    assert "FACADE_CONFIG" not in Settings().to_env()
