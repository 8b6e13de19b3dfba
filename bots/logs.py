"""Logging set-up: plain text or one JSON object a line, secrets never written."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from bots.settings import Settings
from core.privacy.masking import mask_secrets

MIN_SECRET = 6  # shorter configured values are too likely to be ordinary words


class Redactor:
    """Masks configured secrets, then whatever `core.privacy.masking` knows looks like one.

    Applied to the whole formatted line, traceback included: an exception's message
    (a failed Redis URL, a header echoed by an HTTP error) is as likely to carry a
    secret as the log message itself.
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"<Redactor secrets={len(self._secrets)}>"

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return mask_secrets(text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line, carrying the answer id when the record has one."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redact or Redactor(())

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        answer_id = getattr(record, "answer_id", None)
        if answer_id:
            entry["answer_id"] = answer_id
        if record.exc_info:
            entry["error"] = self._redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self._redact(self.formatStack(record.stack_info))
        # Fields are redacted before escaping (a secret with a quote in it still
        # matches), the line after it (whatever else a record carried).
        return self._redact(json.dumps(entry, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: [answer id] message`, then any traceback, all redacted."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redact or Redactor(())

    def format(self, record: logging.LogRecord) -> str:
        answer_id = getattr(record, "answer_id", None)
        prefix = f"[{answer_id}] " if answer_id else ""
        record.message = record.getMessage()
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {prefix}{record.message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return self._redact(line)


class MalformedHttp(logging.Filter):
    """aiohttp's server logs a request it cannot parse (no `Host`, a broken chunk size,
    `Content-Length` with `Transfer-Encoding`, an unreadable body) at ERROR with a
    traceback; it has already answered 400. Anyone who can reach the port can send one,
    so it becomes one WARNING line naming what was wrong, with no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (HttpProcessingError, RequestPayloadError)):
            cause = exc.__cause__ if isinstance(exc, RequestPayloadError) and exc.__cause__ else exc
            what = " ".join(str(getattr(cause, "message", "") or cause).split())
            record.msg, record.args = "refused a malformed HTTP request: %.200s", (what,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def secrets_of(settings: Settings) -> list[str]:
    """Every configured value that must never be written, in the forms it may appear."""
    secrets = [
        settings.openai_api_key or "",
        settings.slack_bot_token or "",
        settings.slack_app_token or "",
        settings.slack_signing_secret or "",
        settings.discord_bot_token or "",
    ]
    if settings.redis_url:
        try:
            password = urlsplit(settings.redis_url).password or ""
        except ValueError:
            password = ""
        secrets += [password, unquote(password)]
    return secrets


class _OwnHandler(logging.StreamHandler):
    """The handler `configure_logging` installs: calling it again replaces this one."""


def configure_logging(settings: Settings, *, stream=None, quiet: bool = False) -> logging.Handler:
    """Send logs to stderr in the configured format, with secrets redacted.

    `quiet` (for `trickle ask`) keeps the terminal to warnings and errors, and leaves
    out what the model endpoint said (logger `trickle.model`) unless TRICKLE_LOG_LEVEL is
    DEBUG: the error line already names the cause, and a server's words may name the
    hosts behind its proxy, which the log's redaction does not mask.
    """
    handler = _OwnHandler(stream or sys.stderr)
    redact = Redactor(secrets_of(settings))
    formatter = JsonFormatter(redact) if settings.log_format == "json" else TextFormatter(redact)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OwnHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)) if quiet else settings.log_level)
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "discord.gateway", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedHttp) for f in server.filters):
        server.addFilter(MalformedHttp())
    model_said = logging.ERROR if quiet and settings.log_level != "DEBUG" else logging.NOTSET
    logging.getLogger("trickle.model").setLevel(model_said)
    return handler
