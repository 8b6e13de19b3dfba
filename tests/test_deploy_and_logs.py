"""Deployment files validate, and logs never carry secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bots.logs import configure_logging
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CANARY_KEY = "sk-canary-0123456789abcdef"
CANARY_SLACK = "xoxb-canary-1111-2222-abcdefgh"
CANARY_DISCORD = "canary-discord-token-with-no-known-shape"
CANARY_REDIS_PASSWORD = "redis-canary-pw"


def test_compose_file_validates():
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is required in CI to validate docker-compose.yml")
        pytest.skip("docker-compose not installed")
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_env_example_documents_every_contract_setting():
    example = (ROOT / ".env.example").read_text()
    for name in [
        "OPENAI_API_KEY", "OPENAI_BASE_URL", "TRICKLE_MODEL", "TRICKLE_EDIT_INTERVAL",
        "TRICKLE_IDLE_TIMEOUT", "TRICKLE_HTTP_HOST", "TRICKLE_HTTP_PORT", "TRICKLE_LOG_FORMAT",
        "TRICKLE_ADMINS", "TRICKLE_USER_CONCURRENCY", "TRICKLE_REDIS_URL", "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "TRICKLE_SLACK_STREAM",
        "DISCORD_BOT_TOKEN", "DISCORD_GUILD_ID", "DISCORD_API_URL", "DISCORD_GATEWAY_URL",
    ]:
        assert name in example, name


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
