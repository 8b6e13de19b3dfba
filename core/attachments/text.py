"""Text files as the model reads them: decoded, cut to a budget, fenced with a language.

The fence is what keeps a file's content apart from the question around it, so it is
always longer than any run of backticks inside the file: a README that itself contains
``` blocks cannot close it early and spill the rest of the file into the prompt.
"""

from __future__ import annotations

import codecs
import re

from core.attachments.kinds import extension

__all__ = ["cut", "decode_text", "fenced_block", "language_for"]

_LANGUAGES = {
    "py": "python",
    "pyi": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "jsx": "jsx",
    "ts": "typescript",
    "tsx": "tsx",
    "json": "json",
    "jsonl": "json",
    "ndjson": "json",
    "ipynb": "json",
    "csv": "csv",
    "tsv": "tsv",
    "md": "markdown",
    "markdown": "markdown",
    "rst": "rst",
    "yaml": "yaml",
    "yml": "yaml",
    "toml": "toml",
    "ini": "ini",
    "cfg": "ini",
    "xml": "xml",
    "svg": "xml",
    "html": "html",
    "htm": "html",
    "css": "css",
    "scss": "scss",
    "sql": "sql",
    "sh": "bash",
    "bash": "bash",
    "zsh": "bash",
    "fish": "fish",
    "ps1": "powershell",
    "bat": "batch",
    "go": "go",
    "rs": "rust",
    "java": "java",
    "kt": "kotlin",
    "kts": "kotlin",
    "scala": "scala",
    "c": "c",
    "h": "c",
    "cpp": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "hh": "cpp",
    "cs": "csharp",
    "swift": "swift",
    "m": "objectivec",
    "rb": "ruby",
    "php": "php",
    "pl": "perl",
    "lua": "lua",
    "r": "r",
    "dart": "dart",
    "ex": "elixir",
    "exs": "elixir",
    "erl": "erlang",
    "hs": "haskell",
    "ml": "ocaml",
    "clj": "clojure",
    "vue": "vue",
    "svelte": "svelte",
    "tf": "hcl",
    "hcl": "hcl",
    "proto": "protobuf",
    "graphql": "graphql",
    "gql": "graphql",
    "diff": "diff",
    "patch": "diff",
    "tex": "latex",
    "dockerfile": "dockerfile",
    "makefile": "makefile",
    "mk": "makefile",
    "cmake": "cmake",
    "gradle": "groovy",
}
_MIME_LANGUAGES = {
    "application/json": "json",
    "text/csv": "csv",
    "text/markdown": "markdown",
    "text/html": "html",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/x-yaml": "yaml",
    "application/yaml": "yaml",
    "text/x-python": "python",
    "application/javascript": "javascript",
    "text/javascript": "javascript",
}
_BACKTICK_RUN = re.compile(r"`{3,}")


def language_for(name: str, mime: str = "") -> str:
    """The fence's language tag, from the extension, else the mime type, else `text`."""
    found = _LANGUAGES.get(extension(name))
    if found:
        return found
    return _MIME_LANGUAGES.get(mime.split(";", 1)[0].strip().lower(), "text")


def decode_text(data: bytes) -> str:
    """UTF-8 with replacement characters, without a BOM and with `\\n` line ends.

    A UTF-16 file announces itself with a BOM (Windows tools write logs that way) and is
    decoded as such; any other encoding shows a few U+FFFD rather than failing the file.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        text = data.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff").replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def cut(text: str, limit: int) -> str:
    """The first `limit` characters, ending at a line break when one is near the end.

    A cut in the middle of a line leaves the model a half statement or half a CSV row to
    misread; giving back up to a tenth of the budget to end on a whole line is cheaper.
    """
    if len(text) <= limit:
        return text
    line_end = text.rfind("\n", 0, limit)
    return text[: line_end + 1] if line_end >= limit * 0.9 else text[:limit]


def fenced_block(title: str, content: str, language: str) -> str:
    """The title on its own line, then the content in a fence no line inside can close."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(content)), default=0)
    fence = "`" * max(3, longest + 1)
    body = content if content.endswith("\n") or not content else content + "\n"
    return f"{title}\n{fence}{language}\n{body}{fence}"
