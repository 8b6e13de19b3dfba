"""Documents made in code for tests and benchmarks: no binary fixtures in the repo.

`text_pdf` writes a minimal valid PDF by hand (one Helvetica line per input line);
`noisy_png` draws a photo-like PNG that does not compress away (about 5.5 MB at the
default size), for the downscaling path.
"""

from __future__ import annotations

import io
import os

from PIL import Image, ImageChops


def text_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF: one Helvetica text line per input line on each page."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        lines = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in text.split("\n")]
        ops = "BT /F1 10 Tf 12 TL 40 760 Td " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
        stream = ops.encode("latin-1") if text else b""
        bodies.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        bodies.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def noisy_png(width: int = 3000, height: int = 2500) -> bytes:
    """A photo-like PNG of about 5.5 MB: gradients with one bit of noise in two channels."""
    gradient = Image.linear_gradient("L").resize((width, height))

    def noise() -> Image.Image:
        return Image.frombytes("L", (width, height), os.urandom(width * height)).point(lambda v: v >> 7)

    flipped = gradient.transpose(Image.Transpose.ROTATE_180)
    image = Image.merge("RGB", (ImageChops.add(gradient, noise()), ImageChops.add(flipped, noise()), gradient))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
