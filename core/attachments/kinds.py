"""What kind of file an attachment is: decided by its bytes first, its labels second.

Platforms guess mime types from file names (Slack calls a `.ts` file `video/mp2t`,
Discord sends none for many code files), so magic numbers and a UTF-8 sniff come first
and the declared mime type and extension are only the fallback.
"""

from __future__ import annotations

import codecs
import enum
import posixpath

__all__ = ["Kind", "extension", "is_utf8_text", "kind_of"]


class Kind(enum.Enum):
    """Which reader a file goes to; the two kinds never read differ only in the notice."""

    TEXT = "text"
    PDF = "pdf"
    IMAGE = "image"  # a format trickle decodes: PNG, JPEG, GIF, WebP
    OTHER_IMAGE = "other image"  # TIFF, HEIC, BMP...: said apart, people expect images to work
    OTHER = "other"


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "webp"})
_IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"})
_OTHER_IMAGE_EXTENSIONS = frozenset(
    ["tif", "tiff", "bmp", "heic", "heif", "avif", "ico", "psd", "raw", "cr2", "nef", "dng"]
)

# Extensions read as text whatever the mime type says. Not exhaustive: anything else that
# is valid UTF-8 without NULs is read as text too; this list only lets a file that is not
# quite UTF-8 (Latin-1 notes, a log with one bad byte) through with replacement characters.
TEXT_EXTENSIONS = frozenset(
    [
        "txt",
        "text",
        "log",
        "md",
        "markdown",
        "rst",
        "csv",
        "tsv",
        "json",
        "jsonl",
        "ndjson",
        "yaml",
        "yml",
        "toml",
        "ini",
        "cfg",
        "conf",
        "env",
        "xml",
        "html",
        "htm",
        "css",
        "scss",
        "svg",
        "sql",
        "sh",
        "bash",
        "zsh",
        "fish",
        "ps1",
        "bat",
        "py",
        "pyi",
        "ipynb",
        "js",
        "mjs",
        "cjs",
        "jsx",
        "ts",
        "tsx",
        "go",
        "rs",
        "java",
        "kt",
        "kts",
        "scala",
        "c",
        "h",
        "cpp",
        "cc",
        "cxx",
        "hpp",
        "hh",
        "cs",
        "swift",
        "m",
        "rb",
        "php",
        "pl",
        "lua",
        "r",
        "dart",
        "ex",
        "exs",
        "erl",
        "hs",
        "ml",
        "clj",
        "vue",
        "svelte",
        "tf",
        "hcl",
        "proto",
        "graphql",
        "gql",
        "diff",
        "patch",
        "properties",
        "gradle",
        "cmake",
        "mk",
        "dockerfile",
        "makefile",
        "tex",
        "srt",
        "vtt",
    ]
)
_TEXT_MIMES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/sql",
        "application/x-sh",
        "application/x-python",
        "application/x-ndjson",
    }
)


def extension(name: str) -> str:
    """The lower-case extension without the dot; the whole name for `Makefile` and kin."""
    base = posixpath.basename(name.replace("\\", "/")).lower()
    stem, dot, ext = base.rpartition(".")
    return ext if dot and stem else base


def _is_pdf(data: bytes) -> bool:
    # At the very start only: a script that writes PDFs has `%PDF-` in its first lines too.
    # PDF readers accept junk before the header; a file named .pdf still gets that chance.
    return data.lstrip()[:5] == b"%PDF-"


def _is_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def is_utf8_text(data: bytes) -> bool:
    """Valid UTF-8 (or UTF-16 with its BOM) and no NULs: text, whatever the label says."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _declared_text(mime: str, ext: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_MIMES or mime.endswith(("+json", "+xml")) or ext in TEXT_EXTENSIONS


def kind_of(name: str, mime: str, data: bytes) -> Kind:
    """The kind of one downloaded file, so the reader knows which decoder to try."""
    if _is_pdf(data):
        return Kind.PDF
    if _is_image(data):
        return Kind.IMAGE
    mime = mime.split(";", 1)[0].strip().lower()
    ext = extension(name)
    # A file labelled a PDF or an image without the header is reported as unreadable by
    # that decoder, even when its bytes are text: most often they are an HTML login or
    # error page served in place of the file, and the model should not read that as it.
    mime_decides = ext not in TEXT_EXTENSIONS
    if ext == "pdf" or (mime_decides and mime == "application/pdf"):
        return Kind.PDF
    if ext in _IMAGE_EXTENSIONS or (mime_decides and mime in _IMAGE_MIMES):
        return Kind.IMAGE
    if is_utf8_text(data) or (_declared_text(mime, ext) and b"\x00" not in data):
        return Kind.TEXT
    if ext in _OTHER_IMAGE_EXTENSIONS or mime.startswith("image/"):
        return Kind.OTHER_IMAGE
    return Kind.OTHER
