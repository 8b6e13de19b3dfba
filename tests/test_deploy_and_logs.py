"""Deployment files validate, and logs never carry secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest

from bots.logs import configure_logging
from bots.services import ADAPTER_CLOSE_SECONDS
from bots.settings import Settings
from tests.system import require

ROOT = Path(__file__).resolve().parent.parent
CANARY_KEY = "sk-canary-0123456789abcdef"
CANARY_SLACK = "xoxb-canary-1111-2222-abcdefgh"
CANARY_DISCORD = "canary-discord-token-with-no-known-shape"
CANARY_REDIS_PASSWORD = "redis-canary-pw"


@pytest.mark.compose
def test_compose_file_validates():
    require("compose")
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def _configuration_table() -> list[str]:
    """Every variable named in the first column of README's Configuration table."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for row in table.splitlines():
        if row.startswith("| `"):
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])
    return names


def test_the_readme_table_lists_the_settings_the_code_reads():
    names = _configuration_table()
    assert {"OPENAI_API_KEY", "TRICKLE_REDIS_URL", "TRICKLE_SHARD_IDS", "DISCORD_GATEWAY_URL"} <= set(names)
    read = {str(field.validation_alias) for field in Settings.model_fields.values()}
    assert read <= set(names), read - set(names)


def test_env_example_documents_every_setting():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    missing = [name for name in _configuration_table() if name not in documented]
    assert not missing, missing


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    """The compose file as docker-compose resolves it with nothing set (no .env, no env)."""
    require("compose")
    import yaml  # the dev extra's PyYAML

    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES)}
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(empty), "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


_SETTING_PREFIXES = ("TRICKLE_", "SLACK_", "DISCORD_", "OPENAI_")
TRICKLE_SERVICES = ("slack", "discord", "all")


@pytest.mark.parametrize("service", TRICKLE_SERVICES)
def test_compose_passes_every_setting_through_and_its_defaults_start(compose, service):
    environment = compose["services"][service]["environment"]
    missing = [name for name in _configuration_table() if name not in environment]
    assert not missing, missing
    settings = Settings.from_mapping({k: v or "" for k, v in environment.items()})
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 3000)
    assert settings.redis_url == "redis://redis:6379/0"


@pytest.mark.parametrize("service", TRICKLE_SERVICES)
def test_compose_services_drain_wait_for_redis_and_scale(compose, service):
    spec = compose["services"][service]
    grace = spec["stop_grace_period"]
    # The drain (TRICKLE_SHUTDOWN_TIMEOUT) and the adapters closing, before the SIGKILL.
    needed = Settings().shutdown_timeout + ADAPTER_CLOSE_SECONDS
    assert grace.endswith("s") and int(grace[:-1]) > needed, (grace, needed)
    assert spec["depends_on"]["redis"]["condition"] == "service_healthy"
    for port in spec.get("ports", []):
        published = port.get("published") if isinstance(port, dict) else port.rsplit(":", 1)[0].rpartition(":")[2]
        assert not published, f"{service} binds a fixed host port ({port}): --scale would clash"


def _capture(log_format: str):
    settings = Settings.from_mapping(
        {
            "OPENAI_API_KEY": CANARY_KEY,
            "SLACK_BOT_TOKEN": CANARY_SLACK,
            "DISCORD_BOT_TOKEN": CANARY_DISCORD,
            "TRICKLE_REDIS_URL": f"redis://default:{CANARY_REDIS_PASSWORD}@redis:6379/0",
            "TRICKLE_LOG_FORMAT": log_format,
        }
    )
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def captured_json_logs():
    yield from _capture("json")


@pytest.fixture(params=["json", "text"])
def captured_logs(request):
    yield from _capture(request.param)


def _fail_with_secrets() -> None:
    def connect() -> None:
        raise ConnectionError(
            f"cannot reach redis://default:{CANARY_REDIS_PASSWORD}@redis:6379/0 "
            f"(AUTH {CANARY_REDIS_PASSWORD} refused; key {CANARY_KEY}, token {CANARY_DISCORD})"
        )

    try:
        connect()
    except ConnectionError as exc:
        raise RuntimeError(f"retry with {CANARY_SLACK} failed") from exc


def test_secrets_never_reach_the_logs(captured_json_logs):
    log = logging.getLogger("trickle.test")
    log.warning("calling with key %s and token %s", CANARY_KEY, CANARY_SLACK)
    log.error("header Authorization: Bearer xoxb-other-333-444-zzzz and sk-another-secret-123456")
    output = captured_json_logs.getvalue()
    assert CANARY_KEY not in output and CANARY_SLACK not in output
    assert "xoxb-other" not in output and "sk-another" not in output
    assert output.count("***") >= 4


def test_json_logs_carry_the_answer_id(captured_json_logs):
    logging.getLogger("trickle.relay").info("edited", extra={"answer_id": "abc123"})
    line = json.loads(captured_json_logs.getvalue().strip().splitlines()[-1])
    assert line["answer_id"] == "abc123"
    assert line["message"] == "edited"


def test_secrets_in_an_exception_never_reach_the_logs(captured_logs):
    log = logging.getLogger("trickle.test")
    try:
        _fail_with_secrets()
    except RuntimeError:
        log.exception("the answer failed")
    log.warning("where we are", stack_info=True)
    output = captured_logs.getvalue()
    assert "Traceback" in output and "ConnectionError: cannot reach redis://default:***@redis" in output
    for canary in (CANARY_KEY, CANARY_SLACK, CANARY_DISCORD, CANARY_REDIS_PASSWORD):
        assert canary not in output, canary


def test_any_url_password_is_masked(captured_logs):
    logging.getLogger("trickle.test").error("proxy https://bob:hunter2@proxy.example:8080/v1 refused")
    output = captured_logs.getvalue()
    assert "hunter2" not in output and "https://bob:***@proxy.example:8080/v1" in output


def test_the_readme_lists_every_exported_metric_and_the_setup_guides():
    from bots.metrics import Metrics

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    exported = {m.name for m in Metrics().registry.collect()}
    listed = set(re.findall(r"`(trickle_[a-z_]+)`", section))
    # prometheus-client names counters without their `_total`; the page shows what is scraped.
    assert {n if n in listed else f"{n}_total" for n in exported} == listed
    for heading in ("## Quick start", "## Slack setup", "## Discord setup", "## Deployment"):
        assert heading in readme, heading
    assert "docs/slack.md" in readme and "docs/discord.md" in readme
