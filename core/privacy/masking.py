"""Masking secrets in text people will read: logs, start-up errors, notices.

Pure text in, text out. It knows only what a secret *looks like* (a password in a URL, a
`token=` in a query string, a Slack or OpenAI token); the values actually configured are
masked by `bots.logs.Redactor`, which adds them on top. It lives in `core` because the
settings' own error messages quote what was typed, and must not quote a password.
"""

from __future__ import annotations

import re

MASK = "***"

# Token shapes of the services trickle talks to (and a few it may be handed by mistake).
_TOKENS = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,}|"
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|hf_[A-Za-z0-9]{20,}|"
    r"[MNO][A-Za-z0-9_-]{23,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,})"
)
# The password of a URL written with credentials (redis://user:PASSWORD@host). Greedy up
# to the last `@` before the path, as URL parsers split it: a password may hold an `@`.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)([^\s/]+)(@)")
# A query parameter whose name says it is a secret (?api_key=..., &password=..., &sig=...).
_QUERY_SECRET = re.compile(
    r"([?&;][A-Za-z0-9_.-]*(?:token|key|password|passwd|pwd|secret|sig|signature|auth|credential)"
    r"[A-Za-z0-9_.-]*=)([^&#\s'\"]+)",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """`text` with URL passwords, secret query values and token-shaped strings masked."""
    text = _URL_PASSWORD.sub(rf"\1{MASK}\3", text)
    text = _QUERY_SECRET.sub(rf"\1{MASK}", text)
    return _TOKENS.sub(MASK, text)
