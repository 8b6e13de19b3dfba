"""A question's downloaded files turned into text blocks, images and notices.

Pure and synchronous: bytes in, a `Prepared` out, no I/O. Parsing PDFs and resizing
images is CPU work, so the event loop calls `read_attachments_async`, which runs the
same function in a worker thread.

Every limit that bites leaves a notice. Files are taken in the order given, so the
caller decides what matters most (the platform's upload order, usually).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from core.attachments.images import prepare_image
from core.attachments.kinds import Kind, kind_of
from core.attachments.limits import AttachmentLimits, readable_size
from core.attachments.models import Attachment, Prepared, PreparedImage, Unreadable
from core.attachments.pdf import pdf_text
from core.attachments.text import cut, decode_text, fenced_block, language_for

__all__ = ["read_attachments", "read_attachments_async"]

_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_NAME_CHARS = 80
_MIN_PIECE = 1_000  # characters: a smaller piece of a file tells the model nothing


def read_attachments(items: Sequence[Attachment], *, limits: AttachmentLimits | None = None, vision: bool) -> Prepared:
    """What the model receives from `items`, with a notice for everything cut or skipped.

    `vision` says whether the model takes image parts; without it images are counted,
    not decoded, and one notice says they were left out.
    """
    return _Reading(limits or AttachmentLimits(), vision).read(items)


async def read_attachments_async(
    items: Sequence[Attachment], *, limits: AttachmentLimits | None = None, vision: bool
) -> Prepared:
    """`read_attachments` in a worker thread, so that other answers keep streaming.

    pypdf is pure Python and holds the GIL while it parses; the loop still gets its turn
    every switch interval (5 ms), which is enough to keep edits flowing.
    """
    return await asyncio.to_thread(read_attachments, list(items), limits=limits, vision=vision)


def display_name(name: str) -> str:
    """A file name safe for a one-line notice: no line breaks, not absurdly long."""
    clean = _UNSAFE_IN_NAME.sub(" ", name).strip() or "a file without a name"
    return clean if len(clean) <= _NAME_CHARS else clean[: _NAME_CHARS - 1] + "…"


class _Reading:
    """One call's progress: what was kept, the budgets left, and the notices so far."""

    __slots__ = ("limits", "vision", "blocks", "images", "notices", "chars_left", "unseen_images", "extra_images")

    def __init__(self, limits: AttachmentLimits, vision: bool) -> None:
        self.limits = limits
        self.vision = vision
        self.blocks: list[str] = []
        self.images: list[PreparedImage] = []
        self.notices: list[str] = []
        self.chars_left = limits.max_chars_total
        self.unseen_images: list[str] = []  # left out because the model does not see
        self.extra_images = 0  # left out past max_images

    def __repr__(self) -> str:
        return (
            f"<_Reading blocks={len(self.blocks)} images={len(self.images)} "
            f"chars_left={self.chars_left} notices={len(self.notices)}>"
        )

    def read(self, items: Sequence[Attachment]) -> Prepared:
        for item in items[: self.limits.max_files]:
            self._one(item)
        self._say_totals(len(items))
        return Prepared(tuple(self.blocks), tuple(self.images), tuple(self.notices))

    def _one(self, item: Attachment) -> None:
        name = display_name(item.name)
        if item.failed is not None:
            reason = display_name(item.failed) if item.failed.strip() else ""
            self.notices.append(f"{name} could not be downloaded" + (f" ({reason})" if reason else ""))
            return
        if len(item.data) > self.limits.max_file_bytes:
            self.notices.append(f"{name} was not read: it is larger than {readable_size(self.limits.max_file_bytes)}")
            return
        kind = kind_of(item.name, item.mime, item.data)
        try:
            if kind is Kind.TEXT:
                self._text(name, item)
            elif kind is Kind.PDF:
                self._pdf(name, item)
            elif kind is Kind.IMAGE:
                self._image(name, item)
            elif kind is Kind.OTHER_IMAGE:
                self.notices.append(f"{name}: this kind of image is not read (PNG, JPEG, GIF and WebP are)")
            else:
                self.notices.append(f"{name}: this kind of file is not read")
        except Unreadable as unreadable:
            self.notices.append(f"{name} {unreadable.reason}")

    def _budget(self, name: str) -> int:
        """Characters this file may still add; 0 (with its notice) when none are left."""
        if self.chars_left <= 0:
            self.notices.append(
                f"{name} was left out: one question's files are read up to {self.limits.max_chars_total:,} characters"
            )
        return max(0, min(self.limits.max_chars_per_file, self.chars_left))

    def _text(self, name: str, item: Attachment) -> None:
        content = decode_text(item.data)
        if not content.strip():
            self.notices.append(f"{name} is empty")
            return
        budget = self._budget(name)
        if budget:
            self._add_text(name, content, budget, language_for(item.name, item.mime), title=name)

    def _pdf(self, name: str, item: Attachment) -> None:
        budget = self._budget(name)
        if not budget:
            return
        doc = pdf_text(item.data, max_pages=self.limits.max_pdf_pages, max_chars=budget)
        if not any(doc.pages):
            raise Unreadable("has no text to read (it may be a scan)")
        read, total = len(doc.pages), doc.total_pages
        text = doc.text
        title = name if read == total else f"{name} (pages 1–{read} of {total})"
        whole = f"{len(text):,} characters" if read == total else f"{total} pages"
        if not self._add_text(name, text, budget, "text", title=title, whole=whole) and read < total:
            self.notices.append(f"{name}: only the first {read} of {total} pages were read")
        if doc.failed_pages:
            self.notices.append(f"{name}: {doc.failed_pages} of its pages could not be read")

    def _add_text(self, name: str, content: str, budget: int, language: str, *, title: str, whole: str = "") -> bool:
        """Add one fenced block within `budget`; True (with a notice) when it was cut.

        `whole` names what the block was cut from ("250,000 characters", "120 pages"),
        both in the block's title, so the model knows it sees a part, and in the notice.
        """
        kept = cut(content, budget)
        if len(kept) == len(content):
            self.chars_left -= len(kept)
            self.blocks.append(fenced_block(title, kept, language))
            return False
        by_total = budget < self.limits.max_chars_per_file
        if by_total:
            # Whatever is left after a cut is too little for the next file to be useful:
            # the question's budget is spent, and later files are left out, said by name.
            self.chars_left = 0
            if len(kept) < min(_MIN_PIECE, self.limits.max_chars_total // 10):
                self._budget(name)
                return True
        else:
            self.chars_left -= len(kept)
        whole = whole or f"{len(content):,} characters"
        self.blocks.append(fenced_block(f"{name} (the first {len(kept):,} characters of {whole})", kept, language))
        notice = f"{name} was cut to its first {len(kept):,} characters (of {whole})"
        if by_total:
            notice += f": one question's files are read up to {self.limits.max_chars_total:,} characters"
        self.notices.append(notice)
        return True

    def _image(self, name: str, item: Attachment) -> None:
        if not self.vision:
            self.unseen_images.append(name)
        elif len(self.images) >= self.limits.max_images:
            self.extra_images += 1
        else:
            self.images.append(prepare_image(name, item.data, self.limits))

    def _say_totals(self, count: int) -> None:
        """The notices that count files rather than name one each."""
        if self.unseen_images:
            who = self.unseen_images[0] if len(self.unseen_images) == 1 else f"{len(self.unseen_images)} images"
            verb = "was" if len(self.unseen_images) == 1 else "were"
            self.notices.append(f"{who} {verb} left out: this model does not read images")
        if self.extra_images:
            many = "image was" if self.extra_images == 1 else "images were"
            self.notices.append(
                f"{self.extra_images} more {many} left out: at most {self.limits.max_images} are read per question"
            )
        extra_files = count - self.limits.max_files
        if extra_files > 0:
            many = "file was" if extra_files == 1 else "files were"
            self.notices.append(
                f"{extra_files} more {many} left out: at most {self.limits.max_files} are read per question"
            )
