"""How the environment becomes settings (SPEC section 2): each variable by its name in any
case, defaults for what is unset, keyword arguments over the environment, other variables
ignored, and a bad value named with what is wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import DEFAULT_DATABASE_URL, Settings


def test_unset_variables_take_the_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)

    settings = Settings()

    assert (settings.database_url, str(settings.playbooks_dir), settings.host, settings.port) == (
        DEFAULT_DATABASE_URL, "playbooks", "0.0.0.0", 8080)
    assert settings.slack_bot_token is None and settings.slack_api_url == "https://slack.com/api/"
    assert (settings.slash_command, settings.log_level, settings.log_format) == ("/incident", "INFO", "json")


def test_variables_are_read_in_any_case_and_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("slack_bot_token", "xoxb-lower-case")
    monkeypatch.setenv("Log_Level", "debug")
    monkeypatch.setenv("SLACK_API_URL", "http://emulator:8000/api")
    monkeypatch.setenv("PUBLIC_URL", "https://bot.example.com/")
    monkeypatch.setenv("SOMETHING_ELSE", "ignored")

    settings = Settings()

    assert settings.port == 9001
    assert settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value() == "xoxb-lower-case"
    assert settings.log_level == "DEBUG"
    assert settings.slack_api_url == "http://emulator:8000/api/"
    assert settings.public_url == "https://bot.example.com"
    assert "xoxb-lower-case" not in repr(settings)


def test_keyword_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")

    settings = Settings(port=1234, slack_bot_token=None)

    assert settings.port == 1234
    assert settings.slack_bot_token is None


def test_bad_values_are_named_with_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "70000")
    monkeypatch.setenv("LOG_FORMAT", "xml")

    with pytest.raises(ValidationError) as raised:
        Settings()

    assert [(error["loc"], error["msg"]) for error in raised.value.errors()] == [
        (("port",), "Input should be less than or equal to 65535"),
        (("log_format",), "Input should be 'json' or 'console'"),
    ]
