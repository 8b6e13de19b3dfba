"""The text of a PDF, page by page, within a page and a character budget.

pypdf is pure Python: parsing is CPU work that runs in a worker thread (see
`read_attachments_async`), and each page costs time, so extraction stops at the page
limit or as soon as the text budget is full rather than reading pages to throw away.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.attachments.models import Unreadable

if TYPE_CHECKING:
    from pypdf import PdfReader

__all__ = ["PdfText", "pdf_text"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PdfText:
    """The pages read (in order, from the first) and how many the document has."""

    pages: tuple[str, ...]
    total_pages: int
    failed_pages: int = 0

    @property
    def text(self) -> str:
        """Pages with a marker line each, so the model can say which page it quotes."""
        return "\n\n".join(f"--- page {n} ---\n{page}" for n, page in enumerate(self.pages, 1))


def pdf_text(data: bytes, *, max_pages: int, max_chars: int) -> PdfText:
    """Extract text from the first pages until `max_pages` or `max_chars` is reached.

    Raises `Unreadable` for encrypted documents that need a password and for anything
    pypdf cannot parse. Broken PDFs fail in many ways inside pypdf (its own errors, but
    also KeyError, ValueError, RecursionError), so every exception is caught here: an
    uploaded file must cost a notice, never the answer.
    """
    import pypdf  # imported here: only questions with a PDF pay for it

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _unlocked(reader):
            raise Unreadable("is password-protected and was not read")
        total = len(reader.pages)
    except Unreadable:
        raise
    except Exception as exc:
        log.info("pdf not readable: %s: %s", type(exc).__name__, exc)
        raise Unreadable("could not be read as a PDF") from None
    pages: list[str] = []
    failed = 0
    chars = 0
    for index in range(min(total, max_pages)):
        if chars > max_chars:
            break
        try:
            page = reader.pages[index].extract_text() or ""
        except Exception as exc:
            log.info("pdf page %d not readable: %s: %s", index + 1, type(exc).__name__, exc)
            page, failed = "", failed + 1
        page = page.replace("\x00", "").strip()
        pages.append(page)
        chars += len(page)
    return PdfText(tuple(pages), total, failed)


def _unlocked(reader: PdfReader) -> bool:
    """Open a PDF encrypted with an empty user password (only edits are restricted).

    Many PDFs are "encrypted" just to forbid printing or copying; anyone can read them,
    and so can the model. AES needs the `cryptography` package, which trickle does not
    require: without it such files count as locked.
    """
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False
