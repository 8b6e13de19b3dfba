"""Logging set-up: plain text or one JSON object a line, secrets never written."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from core.settings import Settings

# Token shapes of the services trickle talks to; redacted wherever they appear.
_SECRET_PATTERNS = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,}|"
    r"[MNO][A-Za-z0-9_-]{23,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,})"
)


class RedactingFilter(logging.Filter):
    """Masks configured secrets and anything shaped like a token in every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _SECRET_PATTERNS.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, carrying the answer id when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        answer_id = getattr(record, "answer_id", None)
        if answer_id:
            entry["answer_id"] = answer_id
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        answer_id = getattr(record, "answer_id", None)
        prefix = f"[{answer_id}] " if answer_id else ""
        record.message = record.getMessage()
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {prefix}{record.message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(
    settings: Settings, *, stream=None, quiet: bool = False
) -> logging.Handler:
    """Send logs to stderr in the configured format, with secrets redacted.

    `quiet` (for `trickle ask`) keeps the terminal to warnings and errors.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(
        RedactingFilter(
            [
                settings.openai_api_key or "",
                settings.slack_bot_token or "",
                settings.slack_app_token or "",
                settings.slack_signing_secret or "",
                settings.discord_bot_token or "",
            ]
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_trickle", False)]:
        root.removeHandler(old)
    handler._trickle = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)) if quiet else settings.log_level)
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "discord.gateway", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
