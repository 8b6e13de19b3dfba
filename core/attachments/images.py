"""Images as a vision model receives them: decoded safely, shrunk, re-encoded.

The header is checked before any pixel is decoded: a PNG of a few KB may claim to be
100,000 px square, and decoding it would take gigabytes. Pillow's own guard
(`Image.MAX_IMAGE_PIXELS`) is a process-wide setting, so it is left alone; trickle's
`max_source_pixels` sits below it and Pillow's `DecompressionBombError` is still caught
for anything past both.
"""

from __future__ import annotations

import io
import logging
import math
from typing import TYPE_CHECKING

from core.attachments.limits import AttachmentLimits
from core.attachments.models import PreparedImage, Unreadable

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

__all__ = ["prepare_image", "target_size"]

log = logging.getLogger(__name__)

# Only these decoders run on uploaded bytes; Pillow would otherwise try every format it
# knows, and the rarely used ones are where decoder bugs live.
_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


def target_size(width: int, height: int, limits: AttachmentLimits) -> tuple[int, int]:
    """The size within the longest side and pixel limits, aspect ratio kept, never larger."""
    scale = min(
        1.0,
        limits.max_image_side / max(width, height),
        math.sqrt(limits.max_image_pixels / (width * height)),
    )
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def prepare_image(name: str, data: bytes, limits: AttachmentLimits) -> PreparedImage:
    """Decode, orient, shrink and re-encode one image, or raise `Unreadable`.

    Animated GIFs and WebPs give their first frame. The result is PNG for images with
    transparency and for screenshots and drawings; JPEG for photos (a JPEG source, or a
    PNG too large once re-encoded).
    """
    from PIL import Image, ImageOps  # imported here: only questions with an image pay for it

    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as source:
            width, height = source.size
            if width * height > limits.max_source_pixels:
                raise Unreadable(f"is too large to read ({width}×{height} pixels)")
            was_jpeg = source.format == "JPEG"
            if was_jpeg:
                source.draft("RGB", target_size(width, height, limits))  # decode at 1/2..1/8
            source.seek(0)
            source.load()
            image = ImageOps.exif_transpose(source)
            if image.mode.startswith("I"):  # 16-bit grey: scaled, not clipped to white
                image = image.convert("I").point(lambda v: v / 256).convert("L")
            alpha = _has_alpha(image)
            image = image.convert("RGBA" if alpha else "RGB")
            size = target_size(image.width, image.height, limits)
            if size != image.size:
                image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            mime, encoded = _encode(image, alpha=alpha, photo=was_jpeg, limits=limits)
    except Unreadable:
        raise
    except Image.DecompressionBombError:
        raise Unreadable("is too large to read") from None
    except Exception as exc:
        log.info("image not readable: %s: %s", type(exc).__name__, exc)
        raise Unreadable("could not be read as an image") from None
    return PreparedImage(name=name, mime=mime, data=encoded, width=image.width, height=image.height)


def _has_alpha(image: PilImage) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _encode(image: PilImage, *, alpha: bool, photo: bool, limits: AttachmentLimits) -> tuple[str, bytes]:
    """PNG unless the source was a photo or the PNG would be too heavy; then JPEG.

    The PNG is written at zlib's fastest level: on a photo saved as PNG the default
    level spends most of a second to end up too heavy anyway, while a screenshot comes
    out small at any level. A JPEG cannot carry transparency, so a transparent image too
    heavy as PNG is laid on white first (what a chat client shows it on, most of the time).
    """
    if not photo:
        png = _save(image, "PNG", compress_level=1)
        if len(png) <= limits.max_png_bytes:
            return "image/png", png
    if alpha:
        from PIL import Image

        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    return "image/jpeg", _save(image, "JPEG", quality=85)


def _save(image: PilImage, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()
