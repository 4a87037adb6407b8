"""Uploaded pictures: good ones reach the pipeline, bad ones get a clear message and never crash."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.preprocess import (
    CANVAS_SIDE,
    MIN_UPLOAD_DIGIT_PIXELS,
    PROBLEM_TOO_SMALL,
    UPLOAD_DOT_PIXELS,
    UPLOAD_TOO_SMALL_MESSAGE,
    preprocess,
)
from model.uploads import (
    MAX_PIXELS,
    WORK_SIDE,
    UploadError,
    decode_upload,
    ink_from_photo,
    joined,
)

LIMIT = 2 * 1024 * 1024


def encoded(image: Image.Image, file_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=file_format, **options)
    return buffer.getvalue()


def paper_one(size: tuple[int, int] = (300, 400)) -> Image.Image:
    """A dark pen stroke on slightly grey paper, like a photo or a scan."""
    image = Image.new("RGB", size, (228, 224, 215))
    width, height = size
    ImageDraw.Draw(image).line(
        [(width * 0.52, height * 0.15), (width * 0.47, height * 0.85)], fill=(35, 35, 50), width=18
    )
    return image


@pytest.mark.parametrize("file_format", ["PNG", "JPEG"])
def test_a_pen_on_paper_is_inverted_to_light_ink_on_dark(file_format: str) -> None:
    upload = decode_upload(encoded(paper_one(), file_format), max_bytes=LIMIT)
    assert upload.format == file_format and upload.inverted
    assert upload.original_size == (300, 400)
    steps = preprocess(upload.rgba)
    assert steps.problem is None
    # Only the stroke counts as ink: the paper and JPEG noise are dropped.
    top, left, bottom, right = steps.bbox
    assert right - left < 60 and bottom - top > 250


def test_a_light_digit_on_black_is_kept_as_it_is() -> None:
    image = Image.new("L", (28, 28))
    ImageDraw.Draw(image).ellipse([8, 5, 20, 23], outline=255, width=3)
    upload = decode_upload(encoded(image), max_bytes=LIMIT)
    assert not upload.inverted
    assert preprocess(upload.rgba).problem is None


def test_a_transparent_png_keeps_its_ink_in_the_alpha_channel() -> None:
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(100, 20), (100, 180)], fill=(0, 0, 0, 255), width=16)
    upload = decode_upload(encoded(image), max_bytes=LIMIT)
    ink = upload.rgba[..., 0]
    assert ink[100, 100] == 255 and ink[100, 20] == 0


def test_big_photos_are_shrunk_before_the_pipeline() -> None:
    upload = decode_upload(encoded(paper_one((3000, 4000)), "JPEG"), max_bytes=LIMIT)
    assert max(upload.rgba.shape[:2]) <= WORK_SIDE
    assert upload.original_size == (3000, 4000)


def test_a_blank_page_is_an_empty_drawing_not_an_error() -> None:
    upload = decode_upload(encoded(Image.new("RGB", (100, 100), "white")), max_bytes=LIMIT)
    assert preprocess(upload.rgba).problem == "empty"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"just some text, not a picture", "not a PNG or JPEG"),
        (encoded(Image.new("RGB", (50, 50)), "GIF"), "not a PNG or JPEG"),
        (encoded(Image.new("RGB", (50, 50)), "BMP"), "not a PNG or JPEG"),
        (encoded(paper_one())[:300], "damaged"),
        (encoded(paper_one(), "JPEG")[:400], "damaged"),
    ],
    ids=["zero-bytes", "text", "gif", "bmp", "truncated-png", "truncated-jpeg"],
)
def test_bad_files_get_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(UploadError, match=message):
        decode_upload(data, max_bytes=LIMIT)


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    with pytest.raises(UploadError, match=r"over the limit of 2\.0 MB"):
        decode_upload(b"\x89PNG" + bytes(LIMIT), max_bytes=LIMIT)


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded() -> None:
    # 5,000 × 5,000 black pixels compress to a few kB but would unpack to 25 million pixels.
    bomb = encoded(Image.new("L", (5000, 5000)))
    assert len(bomb) < 100_000 and MAX_PIXELS < 5000 * 5000
    with pytest.raises(UploadError, match="more than the limit"):
        decode_upload(bomb, max_bytes=LIMIT)


def test_a_bomb_beyond_pillows_own_limit_gets_the_same_kind_of_message() -> None:
    bomb = encoded(Image.new("1", (20_000, 20_000)))
    with pytest.raises(UploadError, match="too many pixels"):
        decode_upload(bomb, max_bytes=LIMIT)


def test_pillows_global_bomb_limit_is_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(UploadError):
        decode_upload(encoded(Image.new("L", (5000, 5000))), max_bytes=LIMIT)
    assert before == Image.MAX_IMAGE_PIXELS


def test_ink_from_photo_drops_paper_texture() -> None:
    rng = np.random.default_rng(0)
    paper = 0.85 + rng.normal(0, 0.02, (100, 100)).astype(np.float32)
    paper[20:80, 45:55] = 0.1
    ink, inverted = ink_from_photo(paper)
    assert inverted
    assert ink[50, 50] == pytest.approx(1.0, abs=0.05)
    assert ink[:, :40].max() == 0.0


def test_an_isolated_speck_on_a_scan_does_not_shrink_the_digit() -> None:
    paper = np.full((100, 100), 0.85, dtype=np.float32)
    paper[20:80, 45:55] = 0.1
    clean, _ = ink_from_photo(paper)
    # A one-pixel speck of dust far from the digit, as a scanner's noise leaves.
    paper[5, 95] = 0.1
    specked, _ = ink_from_photo(paper)
    assert specked[5, 95] == 0.0
    np.testing.assert_array_equal(specked, clean)
    # A thin stroke of a pixel's width beside the digit is ink, not specks (far from the
    # digit, so small a blob would be dropped as noise by `without_far_specks`).
    paper[30:60, 40] = 0.1
    assert (ink_from_photo(paper)[0][30:60, 40] > 0.9).all()


def paper_with(size: int, draw: Callable[[ImageDraw.ImageDraw], None]) -> bytes:
    image = Image.new("L", (size, size), 230)
    draw(ImageDraw.Draw(image))
    return encoded(image)


def test_a_small_digit_in_a_large_upload_is_read() -> None:
    # A 1 about 24 pixels tall in a 500-pixel photo: under 15 % of the picture's side, which a
    # canvas drawing would be told is too small, but enough pixels to read.
    data = paper_with(500, lambda pen: pen.line([(250, 238), (249, 262)], fill=30, width=3))
    rgba = decode_upload(data, max_bytes=LIMIT).rgba
    assert preprocess(rgba).problem == PROBLEM_TOO_SMALL
    steps = preprocess(rgba, upload=True)
    assert steps.problem is None and steps.features is not None
    assert 20 <= steps.bbox[2] - steps.bbox[0] <= 30


def test_a_small_zero_in_a_large_upload_keeps_its_hole() -> None:
    data = paper_with(500, lambda pen: pen.ellipse([240, 235, 256, 261], outline=30, width=3))
    steps = preprocess(decode_upload(data, max_bytes=LIMIT).rgba, upload=True)
    assert steps.problem is None
    assert steps.fitted[steps.fitted.shape[0] // 2, steps.fitted.shape[1] // 2] < 0.5


@pytest.mark.parametrize("side", [3, 6])
def test_a_dot_in_an_upload_is_still_too_small(side: int) -> None:
    data = paper_with(400, lambda pen: pen.rectangle([200, 200, 199 + side, 199 + side], fill=30))
    steps = preprocess(decode_upload(data, max_bytes=LIMIT).rgba, upload=True)
    assert steps.problem == PROBLEM_TOO_SMALL and steps.features is None
    assert steps.message == UPLOAD_TOO_SMALL_MESSAGE
    assert "too small" in steps.message and "pixels tall" in steps.message


def test_a_filled_blob_in_an_upload_is_a_dot_not_a_digit() -> None:
    # Over MIN_UPLOAD_DIGIT_PIXELS but under UPLOAD_DOT_PIXELS, and solid: a blot of ink.
    side = (MIN_UPLOAD_DIGIT_PIXELS + UPLOAD_DOT_PIXELS) // 2
    data = paper_with(400, lambda pen: pen.ellipse([200, 200, 199 + side, 199 + side], fill=30))
    assert preprocess(decode_upload(data, max_bytes=LIMIT).rgba, upload=True).problem == (
        PROBLEM_TOO_SMALL
    )


def test_a_short_solid_one_in_a_coarse_scan_is_not_a_dot() -> None:
    # 16 × 6 pixels of ink fill their box like a blot, but a blot is round and a 1 is not.
    data = paper_with(60, lambda pen: pen.rectangle([27, 22, 32, 37], fill=30))
    assert preprocess(decode_upload(data, max_bytes=LIMIT).rgba, upload=True).problem is None


def test_the_canvas_keeps_its_share_of_the_picture_rule() -> None:
    # The same small 1 drawn on the 280-pixel canvas is too small; drawn big it is read.
    canvas = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8)
    canvas[128:152, 139:142] = 255
    steps = preprocess(canvas)
    assert steps.problem == PROBLEM_TOO_SMALL and "draw it bigger" in steps.message
    canvas[40:240, 130:150] = 255
    assert preprocess(canvas).problem is None


def test_a_pen_that_skipped_is_joined_again() -> None:
    ink = np.zeros((60, 40), dtype=np.float32)
    ink[5:55, 18:22] = 1.0
    ink[20:25, 18:22] = ink[38:43, 18:22] = 0.0  # gaps of 1.25 pen widths
    assert (joined(ink)[5:55, 18:22] == 1.0).all()


def thick_ring(gap: bool) -> np.ndarray:
    ink = np.zeros((60, 50), dtype=np.float32)
    ink[10:50, 12:38] = 1.0
    ink[16:44, 20:30] = 0.0  # a ring of 6- to 8-pixel strokes round a 10 × 28 inside
    if gap:
        ink[26:33, 30:38] = 0.0  # the pen skipped on the right
    return ink


@pytest.mark.parametrize("gap", [False, True], ids=["closed", "with-a-gap"])
def test_joining_never_fills_the_inside_of_a_thick_zero(gap: bool) -> None:
    # A closing of 2 pen widths (over 13 pixels) would fill the 10-pixel-wide inside.
    assert (joined(thick_ring(gap))[20:40, 22:28] == 0.0).all()
