"""Settings: CONTRACT.md's names and defaults, and errors that name the variable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bots.settings import Settings
from core.settings import CoreSettings, SettingsError


def test_defaults_follow_the_contract():
    s = Settings.from_mapping({})
    assert (s.model, s.edit_interval, s.idle_timeout) == ("gpt-4o-mini", 0.5, 60.0)
    assert (s.http_host, s.http_port, s.log_format, s.user_concurrency) == ("127.0.0.1", 3000, "text", 1)
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.discord_api_url == "https://discord.com/api/v10"
    assert s.uses_local_model


def test_one_person_cannot_take_the_workspace_edit_budget_by_default():
    s = Settings.from_mapping({})
    assert s.user_rpm <= 10 < 50  # Slack's chat.update: about 50 a minute per workspace
    assert (s.user_concurrency, s.user_queue) == (1, 3)
    assert Settings.from_mapping({"TRICKLE_USER_QUEUE": "0"}).user_queue == 0  # no queue: refuse at once


def test_a_base_url_alone_selects_the_endpoint():
    assert not Settings.from_mapping({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}).uses_local_model


@pytest.mark.parametrize(
    "name, value",
    [
        ("TRICKLE_EDIT_INTERVAL", "fast"),
        ("TRICKLE_EDIT_INTERVAL", "0"),
        ("TRICKLE_IDLE_TIMEOUT", "-1"),
        ("TRICKLE_HTTP_PORT", "70000"),
        ("TRICKLE_LOG_FORMAT", "xml"),
        ("TRICKLE_USER_CONCURRENCY", "0"),
        ("TRICKLE_USER_QUEUE", "-1"),
        ("TRICKLE_USER_QUEUE", "many"),
        ("OPENAI_BASE_URL", "localhost:8000"),
        ("TRICKLE_SLACK_STREAM", "fast"),
        ("TRICKLE_TEMPERATURE", "nan"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str):
    with pytest.raises(SettingsError, match=name):
        Settings.from_mapping({name: value})


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TRICKLE_MODEL=from-file\nTRICKLE_EDIT_INTERVAL=0.25\n")
    s = Settings.load({"TRICKLE_MODEL": "from-env"}, env_file=env_file)
    assert (s.model, s.edit_interval) == ("from-env", 0.25)


def test_admins_are_a_set_of_ids():
    assert Settings.from_mapping({"TRICKLE_ADMINS": "U1, U2,,"}).admins == {"U1", "U2"}


def test_redacted_hides_secrets():
    s = Settings.from_mapping({"OPENAI_API_KEY": "sk-secret", "SLACK_BOT_TOKEN": "xoxb-1"})
    shown = s.redacted()
    assert shown["openai_api_key"] == "***" and shown["slack_bot_token"] == "***"
    assert "sk-secret" not in repr(shown)


@pytest.mark.parametrize(
    "name, value",
    [
        ("TRICKLE_REDIS_URL", "redis://:canarypw@host:notaport/0"),
        ("TRICKLE_REDIS_URL", "redis://default:canarypw@host:99999/0"),
        ("OPENAI_BASE_URL", "htps://bob:canarypw@api.example/v1"),
        ("OPENAI_BASE_URL", "https://api.example:notaport/v1?api_key=canarypw"),
        ("OPENAI_BASE_URL", "api.example/v1?token=canarypw"),
        ("TRICKLE_MAX_TOKENS", "sk-canarypw0123456789"),
    ],
)
def test_a_bad_value_is_named_but_its_secret_is_not_printed(name: str, value: str):
    with pytest.raises(SettingsError, match=name) as refused:
        Settings.from_mapping({name: value})
    assert "canarypw" not in str(refused.value)
    assert "***" in str(refused.value)


def test_playground_hosts_are_names_in_one_spelling():
    s = Settings.from_mapping({"TRICKLE_PLAYGROUND_HOSTS": "Chat.Example.com, 192.168.1.20 ,,[::1],localhost."})
    assert s.playground_hosts == ("chat.example.com", "192.168.1.20", "::1", "localhost")
    assert Settings.from_mapping({}).playground_hosts == ()


@pytest.mark.parametrize("value", ["http://chat.example.com", "chat.example.com:8080", "*", "a b", "-x.example"])
def test_playground_hosts_refuse_what_is_not_a_host_name(value: str):
    with pytest.raises(SettingsError, match="TRICKLE_PLAYGROUND_HOSTS"):
        Settings.from_mapping({"TRICKLE_PLAYGROUND_HOSTS": value})


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1e3"])
def test_a_bad_context_size_is_named(value: str):
    with pytest.raises(SettingsError, match="TRICKLE_CONTEXT_TOKENS"):
        Settings.from_mapping({"TRICKLE_CONTEXT_TOKENS": value})


def test_an_answer_cap_that_fills_the_context_is_refused_at_start():
    with pytest.raises(SettingsError, match="TRICKLE_MAX_TOKENS"):
        Settings.from_mapping({"TRICKLE_MAX_TOKENS": "4096", "TRICKLE_CONTEXT_TOKENS": "4096"})
    s = Settings.from_mapping({"TRICKLE_MAX_TOKENS": "1024", "TRICKLE_CONTEXT_TOKENS": "4096"})
    assert (s.max_tokens, s.context_tokens) == (1024, 4096)
    assert Settings.from_mapping({}).context_tokens is None


def test_a_value_pydantic_refuses_is_one_settings_error_naming_the_variable():
    with pytest.raises(SettingsError) as refused:
        Settings.from_mapping({"TRICKLE_HTTP_PORT": "70000", "TRICKLE_LOG_FORMAT": "xml"})
    assert str(refused.value) == "TRICKLE_HTTP_PORT='70000' is out of range (accepted: a whole number from 0 to 65535)"
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # pydantic's unmasked text


def test_a_blank_variable_is_unset():
    assert Settings.from_mapping({"TRICKLE_EDIT_INTERVAL": "  ", "TRICKLE_MODEL": ""}) == Settings.from_mapping({})


def test_building_by_field_name_reads_neither_the_environment_nor_env_file(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("TRICKLE_EDIT_INTERVAL=0.25\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRICKLE_MODEL", "from-env")
    s = Settings(idle_timeout=5.0)
    assert (s.model, s.edit_interval, s.idle_timeout) == ("gpt-4o-mini", 0.5, 5.0)
    loaded = Settings.load()
    assert (loaded.model, loaded.edit_interval) == ("from-env", 0.25)


def test_settings_cannot_change_once_built():
    s = Settings.from_mapping({})
    with pytest.raises(ValueError):
        s.model = "other"  # type: ignore[misc]
    assert s.model_copy(update={"model": "other"}).model == "other"


def test_core_settings_hold_no_platform_field_and_import_no_platform():
    platform = [
        name for name in CoreSettings.model_fields if name.startswith(("slack_", "discord_", "shard_", "http_", "log_"))
    ]
    assert not platform
    assert {"slack_bot_token", "shard_ids", "http_port", "log_level"} <= set(Settings.model_fields)
    source = (Path(__file__).parent.parent / "core" / "settings.py").read_text()
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.split(".")[0] == "bots"]


@pytest.mark.parametrize("name", ["TRICKLE_HTTP_PORT", "TRICKLE_MAX_TOKENS", "DISCORD_GUILD_ID", "TRICKLE_USER_QUEUE"])
def test_a_whole_number_setting_takes_digits_only(name: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}='3\.0' is not a whole number \(accepted: "):
        Settings.from_mapping({name: "3.0"})
