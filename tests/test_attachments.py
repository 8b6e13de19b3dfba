"""Attachments in: files become fenced text blocks and images, and every cut is said.

Every fixture is made here, in code: tiny PDFs written by hand (`_pdf`), images drawn
with Pillow, PNG headers assembled chunk by chunk for the decompression bombs.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import struct
import time
import zlib

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from core.attachments import (
    Attachment,
    AttachmentLimits,
    Prepared,
    read_attachments,
    read_attachments_async,
    vision_capable,
)
from tests.fakes.documents import noisy_png as _noisy_png
from tests.fakes.documents import text_pdf as _pdf

# --- fixtures made in code ------------------------------------------------------------


def _encrypted(pdf: bytes, *, user: str, owner: str = "owner") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int) -> bytes:
    """A few dozen bytes of PNG that claim `width` x `height` pixels: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _image_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _small_png(color: tuple[int, ...] = (200, 30, 30), size: tuple[int, int] = (40, 30)) -> bytes:
    return _image_bytes(Image.new("RGB", size, color), "PNG")


def _read(*items: Attachment, vision: bool = True, **limits: int) -> Prepared:
    return read_attachments(items, limits=AttachmentLimits(**limits), vision=vision)


def _opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- text -----------------------------------------------------------------------------


def test_a_code_file_becomes_its_name_then_a_fenced_block_with_its_language():
    prepared = _read(Attachment("tool.py", "text/x-python", b"print('hi')\n"))
    assert prepared.text_blocks == ("tool.py\n```python\nprint('hi')\n```",)
    assert prepared.images == () and prepared.notices == ()
    assert prepared.summary_notice() is None


@pytest.mark.parametrize(
    ("name", "mime", "language"),
    [
        ("data.csv", "text/csv", "csv"),
        ("conf.json", "", "json"),
        ("README.md", "text/plain", "markdown"),
        ("deploy.yml", "", "yaml"),
        ("main.rs", "", "rust"),
        ("Dockerfile", "", "dockerfile"),
        ("export", "application/json", "json"),
        ("notes.txt", "", "text"),
        ("server.log", "", "text"),
        ("unknown.zzz", "", "text"),
    ],
)
def test_the_fence_language_comes_from_the_extension_then_the_mime_type(name, mime, language):
    (block,) = _read(Attachment(name, mime, b"a,b\n")).text_blocks
    assert block.splitlines()[1] == f"```{language}"


def test_backticks_inside_a_file_cannot_close_its_fence():
    content = "# Notes\n```python\nx = 1\n```\n\n````\nfour\n````\nend\n"
    (block,) = _read(Attachment("notes.md", "text/markdown", content.encode())).text_blocks
    lines = block.splitlines()
    fence = lines[1].removesuffix("markdown")
    assert fence == "`````"
    # the first line that could close the fence is the last one, so the file is whole inside
    closing = next(i for i, line in enumerate(lines[2:], 2) if line.startswith(fence))
    assert closing == len(lines) - 1
    assert "\n".join(lines[2:closing]) + "\n" == content


def test_a_text_file_with_a_wrong_mime_type_is_sniffed_as_text():
    prepared = _read(Attachment("query", "application/octet-stream", "SELECT 'é';\n".encode()))
    assert prepared.text_blocks == ("query\n```text\nSELECT 'é';\n```",)
    assert prepared.notices == ()


def test_a_script_that_writes_pdfs_is_read_as_text():
    script = b'HEADER = b"%PDF-1.4\\n"\nprint(HEADER)\n'
    (block,) = _read(Attachment("make_pdf.py", "text/x-python", script)).text_blocks
    assert block.startswith("make_pdf.py\n```python\nHEADER")


def test_a_pdf_with_junk_before_its_header_is_read_when_named_pdf():
    (block,) = _read(Attachment("old.pdf", "", b"\x00junk\n" + _pdf(["still here"]))).text_blocks
    assert "still here" in block


def test_a_typescript_file_that_slack_calls_a_video_is_read_as_typescript():
    (block,) = _read(Attachment("app.ts", "video/mp2t", b"export const x: number = 1;\n")).text_blocks
    assert block.startswith("app.ts\n```typescript\n")


def test_an_image_labelled_as_text_is_read_as_an_image():
    prepared = _read(Attachment("pixel.txt", "text/plain", _small_png()))
    assert prepared.text_blocks == () and len(prepared.images) == 1


def test_the_bom_goes_and_bytes_that_are_not_utf8_become_replacement_characters():
    data = b"\xef\xbb\xbf" + b"caf" + b"\xe9 ok\r\nnext\r\n"  # Latin-1 é after a UTF-8 BOM
    (block,) = _read(Attachment("menu.txt", "text/plain", data)).text_blocks
    assert block == "menu.txt\n```text\ncaf\ufffd ok\nnext\n```"


def test_a_utf16_file_with_its_bom_is_decoded():
    (block,) = _read(Attachment("win.log", "", "Ünïcode line\r\n".encode("utf-16"))).text_blocks
    assert block == "win.log\n```text\nÜnïcode line\n```"


def test_a_binary_file_is_not_read_and_says_so():
    prepared = _read(Attachment("archive.zip", "application/zip", b"PK\x03\x04\x00\x00\xff\xfe" * 20))
    assert prepared.text_blocks == ()
    assert prepared.notices == ("archive.zip: this kind of file is not read",)


def test_binary_bytes_under_a_text_name_are_not_inlined():
    prepared = _read(Attachment("dump.txt", "text/plain", b"\x00\x01\x02\xff" * 50))
    assert prepared.text_blocks == ()
    assert prepared.notices == ("dump.txt: this kind of file is not read",)


def test_an_image_format_trickle_does_not_decode_says_which_ones_it_does():
    prepared = _read(Attachment("scan.tiff", "image/tiff", b"II*\x00" + b"\x00\xff" * 40))
    assert prepared.notices == ("scan.tiff: this kind of image is not read (PNG, JPEG, GIF and WebP are)",)


def test_an_empty_file_is_said_to_be_empty():
    prepared = _read(Attachment("blank.txt", "text/plain", b""))
    assert prepared.text_blocks == () and prepared.notices == ("blank.txt is empty",)


# --- limits ---------------------------------------------------------------------------


def test_a_failed_download_is_reported_with_its_reason():
    prepared = _read(Attachment("photo.png", "image/png", failed="403"), Attachment("late.txt", failed=""))
    assert prepared.notices == ("photo.png could not be downloaded (403)", "late.txt could not be downloaded")
    assert prepared.images == () and prepared.text_blocks == ()


def test_files_past_the_limit_are_left_out_and_counted():
    items = [Attachment(f"f{i}.txt", "text/plain", f"file {i}\n".encode()) for i in range(12)]
    prepared = _read(*items)
    assert len(prepared.text_blocks) == 10
    assert prepared.text_blocks[-1].startswith("f9.txt\n")
    assert prepared.notices == ("2 more files were left out: at most 10 are read per question",)


def test_a_long_file_is_cut_at_a_line_end_within_its_limit_and_says_so():
    content = "".join(f"line {i:06d}\n" for i in range(20_000))  # 240,000 characters
    prepared = _read(Attachment("big.log", "text/plain", content.encode()))
    (block,) = prepared.text_blocks
    title, body = block.split("\n", 1)
    kept = body.split("\n", 1)[1].removesuffix("```")
    assert len(kept) <= 100_000 and kept.endswith("\n") and content.startswith(kept)
    assert title == f"big.log (the first {len(kept):,} characters of 240,000 characters)"
    assert prepared.notices == (f"big.log was cut to its first {len(kept):,} characters (of 240,000 characters)",)


def test_the_question_total_cuts_the_third_file_and_leaves_out_the_fourth():
    items = [Attachment(f"part{i}.csv", "text/csv", ("x" * 99 + "\n").encode() * 810) for i in range(4)]
    prepared = _read(*items)  # 81,000 characters each; 200,000 for the question
    assert len(prepared.text_blocks) == 3
    assert prepared.text_blocks[2].startswith("part2.csv (the first 38,000 characters of 81,000 characters)")
    assert prepared.notices == (
        "part2.csv was cut to its first 38,000 characters (of 81,000 characters): "
        "one question's files are read up to 200,000 characters",
        "part3.csv was left out: one question's files are read up to 200,000 characters",
    )


def test_a_file_is_left_out_rather_than_cut_to_a_useless_sliver():
    line = ("y" * 99 + "\n").encode()
    prepared = _read(
        Attachment("a.txt", "", line * 1000), Attachment("b.txt", "", line * 995), Attachment("c.txt", "", line * 50)
    )  # 100,000 + 99,500 characters leave 500 for c.txt's 5,000
    assert len(prepared.text_blocks) == 2
    assert prepared.notices == ("c.txt was left out: one question's files are read up to 200,000 characters",)


def test_a_file_larger_than_the_byte_limit_is_not_read():
    prepared = _read(Attachment("huge.csv", "text/csv", b"a,b\n" * 1000), max_file_bytes=2000)
    assert prepared.text_blocks == ()
    assert prepared.notices == ("huge.csv was not read: it is larger than 2 KB",)


def test_a_name_with_line_breaks_stays_on_one_line_in_notices():
    prepared = _read(Attachment("evil\nname\r.bin", "", b"\x00\x01" * 10))
    assert prepared.notices == ("evil name .bin: this kind of file is not read",)
    assert "\n" not in prepared.summary_notice()


@pytest.mark.parametrize("field", ["max_files", "max_chars_total", "max_images"])
def test_negative_limits_are_refused(field):
    with pytest.raises(ValueError, match=field):
        AttachmentLimits(**{field: -1})


# --- PDFs -----------------------------------------------------------------------------


def test_a_twenty_page_pdf_is_read_page_by_page_quickly():
    pdf = _pdf([f"Page {n} of the report\nrevenue line {n * 100}" for n in range(1, 21)])
    started = time.perf_counter()
    prepared = _read(Attachment("report.pdf", "application/pdf", pdf))
    elapsed = time.perf_counter() - started
    print(f"\n20-page PDF ({len(pdf):,} bytes) read in {elapsed * 1000:.1f} ms")
    assert elapsed < 5
    (block,) = prepared.text_blocks
    assert block.startswith("report.pdf\n```text\n--- page 1 ---\nPage 1 of the report")
    assert "--- page 20 ---\nPage 20 of the report\nrevenue line 2000" in block
    assert prepared.notices == ()


def test_pages_past_the_limit_are_not_read_and_the_notice_counts_them():
    pdf = _pdf([f"Chapter {n}" for n in range(1, 8)])
    prepared = _read(Attachment("book.pdf", "", pdf), max_pdf_pages=5)
    (block,) = prepared.text_blocks
    assert block.startswith("book.pdf (pages 1–5 of 7)\n")
    assert "Chapter 5" in block and "Chapter 6" not in block
    assert prepared.notices == ("book.pdf: only the first 5 of 7 pages were read",)


def test_a_pdf_stops_extracting_once_its_text_budget_is_full():
    pdf = _pdf(["\n".join(f"row {n}-{i} " + "data " * 15 for i in range(40)) for n in range(1, 31)])
    prepared = _read(Attachment("table.pdf", "application/pdf", pdf), max_chars_per_file=5_000)
    (block,) = prepared.text_blocks
    assert "--- page 2 ---" in block and "--- page 4 ---" not in block
    (notice,) = prepared.notices
    assert notice.startswith("table.pdf was cut to its first ") and notice.endswith(" characters (of 30 pages)")


def test_a_password_protected_pdf_is_a_notice_not_a_crash():
    locked = _encrypted(_pdf(["secret plans"]), user="hunter2")
    prepared = _read(Attachment("plans.pdf", "application/pdf", locked))
    assert prepared.text_blocks == ()
    assert prepared.notices == ("plans.pdf is password-protected and was not read",)


def test_a_pdf_encrypted_only_against_editing_is_read():
    readable = _encrypted(_pdf(["open to all"]), user="")
    (block,) = _read(Attachment("memo.pdf", "application/pdf", readable)).text_blocks
    assert "open to all" in block


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + b"\x8f garbage that is no PDF at all \x00\xff" * 30,
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R",
        b"not even a header, only the name says pdf",
    ],
    ids=["garbage", "truncated", "no-header"],
)
def test_a_broken_pdf_is_a_notice_not_a_crash(data):
    prepared = _read(Attachment("broken.pdf", "application/pdf", data))
    assert prepared.text_blocks == ()
    assert prepared.notices == ("broken.pdf could not be read as a PDF",)


def test_a_pdf_without_text_says_it_may_be_a_scan():
    prepared = _read(Attachment("scan.pdf", "application/pdf", _pdf(["", ""])))
    assert prepared.notices == ("scan.pdf has no text to read (it may be a scan)",)


# --- images ---------------------------------------------------------------------------


def test_a_five_megabyte_png_is_shrunk_within_the_limits_with_its_aspect_kept():
    png = _noisy_png()
    assert len(png) > 4_000_000
    started = time.perf_counter()
    prepared = _read(Attachment("photo.png", "image/png", png))
    elapsed = time.perf_counter() - started
    print(f"\n3000x2500 PNG ({len(png) / 1e6:.1f} MB) prepared in {elapsed * 1000:.0f} ms")
    assert elapsed < 5
    (image,) = prepared.images
    assert (image.width, image.height) == _opened(image.data).size
    assert max(image.width, image.height) <= 2048 and image.width * image.height <= 4_000_000
    assert abs(image.width / image.height - 3000 / 2500) < 0.01
    assert image.mime == "image/jpeg"  # a photo: over 2 MB as PNG even at this size
    assert _opened(image.data).format == "JPEG"
    assert prepared.notices == ()


def test_a_transparent_image_too_heavy_for_png_goes_as_jpeg_on_white():
    noisy = Image.frombytes("RGBA", (300, 200), os.urandom(300 * 200 * 4))
    noisy.putalpha(Image.new("L", (300, 200), 0))
    noisy.paste((0, 0, 0, 255), (100, 50, 200, 150))
    (image,) = _read(Attachment("layer.png", "image/png", _image_bytes(noisy, "PNG")), max_png_bytes=1000).images
    decoded = _opened(image.data)
    assert (image.mime, decoded.mode, decoded.size) == ("image/jpeg", "RGB", (300, 200))
    assert all(channel > 240 for channel in decoded.getpixel((10, 10)))  # was transparent
    assert all(channel < 15 for channel in decoded.getpixel((150, 100)))  # was opaque black


def test_a_small_screenshot_stays_png_with_its_transparency():
    shot = Image.new("RGBA", (300, 200), (10, 120, 200, 0))
    shot.paste((255, 255, 255, 255), (50, 50, 250, 150))
    prepared = _read(Attachment("shot.png", "image/png", _image_bytes(shot, "PNG")))
    (image,) = prepared.images
    assert (image.mime, image.width, image.height) == ("image/png", 300, 200)
    decoded = _opened(image.data)
    assert decoded.mode == "RGBA" and decoded.getpixel((0, 0))[3] == 0


def test_a_phone_photo_is_turned_upright_and_loses_its_metadata():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    photo = _image_bytes(Image.new("RGB", (400, 200), (0, 128, 0)), "JPEG", exif=exif.tobytes())
    (image,) = _read(Attachment("IMG_0001.jpg", "image/jpeg", photo)).images
    decoded = _opened(image.data)
    assert (image.mime, decoded.size) == ("image/jpeg", (200, 400))
    assert not decoded.getexif()


def test_a_sixteen_bit_grey_png_keeps_its_greys():
    grey = _image_bytes(Image.new("I;16", (30, 30), 40_000), "PNG")
    (image,) = _read(Attachment("depth.png", "image/png", grey)).images
    assert _opened(image.data).convert("L").getpixel((5, 5)) == 40_000 // 256


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (20, 20), color) for color in ((255, 0, 0), (0, 0, 255))]
    gif = _image_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (image,) = _read(Attachment("blink.gif", "image/gif", gif)).images
    assert image.mime == "image/png"
    assert _opened(image.data).convert("RGB").getpixel((10, 10)) == (255, 0, 0)


def test_a_decompression_bomb_is_refused_before_decoding():
    for width, height in ((100_000, 100_000), (10_000, 6_000)):  # past Pillow's own guard; past ours
        prepared = _read(Attachment("bomb.png", "image/png", _png_header_only(width, height)))
        assert prepared.images == ()
        (notice,) = prepared.notices
        assert notice.startswith("bomb.png is too large to read")
    assert prepared.notices == ("bomb.png is too large to read (10000×6000 pixels)",)


@pytest.mark.parametrize(
    "data",
    [os.urandom(500), _small_png()[:60], b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>"],
    ids=["random-bytes", "truncated-png", "login-page-served-instead"],
)
def test_a_broken_image_is_a_notice_not_a_crash(data):
    prepared = _read(Attachment("broken.png", "image/png", data))
    assert prepared.images == ()
    assert prepared.notices == ("broken.png could not be read as an image",)


def test_without_vision_images_are_left_out_with_one_notice():
    prepared = _read(
        Attachment("a.png", "image/png", _small_png()),
        Attachment("b.txt", "text/plain", b"kept\n"),
        Attachment("c.jpg", "image/jpeg", _image_bytes(Image.new("RGB", (8, 8)), "JPEG")),
        vision=False,
    )
    assert prepared.images == () and len(prepared.text_blocks) == 1
    assert prepared.notices == ("2 images were left out: this model does not read images",)
    one = _read(Attachment("a.png", "image/png", _small_png()), vision=False)
    assert one.notices == ("a.png was left out: this model does not read images",)


def test_images_past_the_limit_are_left_out_and_counted():
    items = [Attachment(f"i{n}.png", "image/png", _small_png((n * 40, 0, 0))) for n in range(6)]
    prepared = _read(*items)
    assert [image.name for image in prepared.images] == ["i0.png", "i1.png", "i2.png", "i3.png"]
    assert prepared.notices == ("2 more images were left out: at most 4 are read per question",)


def test_an_image_is_ready_as_an_openai_image_url_part():
    (image,) = _read(Attachment("dot.png", "image/png", _small_png(size=(2, 2)))).images
    part = image.content_part()
    url = part["image_url"]["url"]
    assert part["type"] == "image_url" and url == image.data_url
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == image.data


# --- notices, async, vision table ------------------------------------------------------


def test_the_summary_joins_notices_on_one_line_and_counts_what_does_not_fit():
    prepared = Prepared(notices=("a.pdf could not be downloaded (403)", "b.tiff: this kind of file is not read"))
    assert prepared.summary_notice() == "a.pdf could not be downloaded (403); b.tiff: this kind of file is not read"
    many = Prepared(notices=tuple(f"file{n}.bin: this kind of file is not read" for n in range(20)))
    line = many.summary_notice(max_chars=120)
    assert line.startswith("file0.bin: this kind of file is not read; file1.bin")
    shown = line.count("this kind of file")
    assert line.endswith(f"; and {20 - shown} more") and len(line) <= 130


async def test_the_async_reader_leaves_the_event_loop_free_while_it_works():
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    items = [Attachment("photo.png", "image/png", _noisy_png(1600, 1200))]
    task = asyncio.create_task(ticker())
    try:
        prepared = await read_attachments_async(items, vision=True)
        assert ticks > 0
    finally:
        task.cancel()
    assert prepared.images[0].width == 1600
    assert prepared == read_attachments(items, vision=True)


@pytest.mark.parametrize(
    ("model", "sees"),
    [
        ("gpt-4o-mini", True),
        ("gpt-4o", True),
        ("gpt-4.1-nano", True),
        ("gpt-5", True),
        ("o1", True),
        ("o3", True),
        ("o4-mini", True),
        ("claude-3-5-sonnet-20241022", True),
        ("claude-sonnet-4-20250514", True),
        ("gemini-2.0-flash", True),
        ("models/gemini-1.5-pro", True),
        ("openai/gpt-4o", True),
        ("llava:13b", True),
        ("llama-3.2-11b-vision-instruct", True),
        ("pixtral-12b", True),
        ("Qwen2.5-VL-7B-Instruct", True),
        ("ft:gpt-4o-mini:acme::abc123", True),
        ("gpt-3.5-turbo", False),
        ("gpt-4", False),
        ("o1-mini", False),
        ("o3-mini", False),
        ("claude-2.1", False),
        ("gpt-4o-audio-preview", False),
        ("text-embedding-3-small", False),
        ("SmolLM2-135M-Instruct", False),
        ("llama-3.1-8b-instruct", False),
        ("mistral-7b", False),
        ("", False),
    ],
)
def test_vision_is_guessed_from_the_model_name(model, sees):
    assert vision_capable(model) is sees
