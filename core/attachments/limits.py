"""How much of a question's files trickle reads, and why each bound is where it is."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """The bounds on what one question's files may add to a request.

    Every bound that cuts something produces a notice; none of them fails the question.

    - `max_files` (10): a message with dozens of files is almost always a dump, not a
      question about each of them, and each file costs a download and a parse.
    - `max_file_bytes` (10 MB): the most a caller should download per file. It keeps one
      upload from holding the worker for long; callers can check a file's advertised
      size against it before downloading at all.
    - `max_chars_per_file` (100,000) and `max_chars_total` (200,000): inlined text is
      paid for in context tokens (about 4 characters each), so together they stay near
      50k tokens, which fits a 128k-token model with room for the history and the answer.
    - `max_pdf_pages` (50): text extraction is pure Python and costs time per page;
      50 pages already fill the character budget for most documents.
    - `max_source_pixels` (50 MP): decoding needs about 4 bytes per pixel, so 50 MP is
      ~200 MB at the peak. It admits a 48 MP phone photo and refuses decompression bombs
      (a few KB of PNG that claim a gigapixel) before any pixel is decoded.
    - `max_image_side` (2048 px) and `max_image_pixels` (4 MP): vision models tile or
      shrink larger images anyway, so sending more only costs upload and tokens.
    - `max_png_bytes` (2 MB): past this a re-encoded PNG (a photo saved as PNG) goes
      as JPEG instead; screenshots and diagrams stay PNG and sharp.
    - `max_images` (4): each image costs hundreds to a few thousand tokens, and several
      providers refuse more than a handful per request.
    """

    max_files: int = 10
    max_file_bytes: int = 10_000_000
    max_chars_per_file: int = 100_000
    max_chars_total: int = 200_000
    max_pdf_pages: int = 50
    max_source_pixels: int = 50_000_000
    max_image_side: int = 2048
    max_image_pixels: int = 4_000_000
    max_png_bytes: int = 2_000_000
    max_images: int = 4

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"AttachmentLimits.{f.name} must be a whole number >= 0, not {value!r}")
        if self.max_image_side < 1 or self.max_image_pixels < 1:
            raise ValueError("AttachmentLimits: an image needs at least one pixel")


def readable_size(n: int) -> str:
    """A byte count as people read it in a notice: "10 MB", "500 KB"."""
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n / 1000:g} KB"
