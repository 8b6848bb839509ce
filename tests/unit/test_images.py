"""Uploads are checked by their bytes, not their names."""

import pytest

from promptgen.services.images import ImageRejected, check_images, sniff_image_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


def test_sniffs_each_allowed_type() -> None:
    assert sniff_image_type(PNG) == "image/png"
    assert sniff_image_type(JPEG) == "image/jpeg"
    assert sniff_image_type(WEBP) == "image/webp"
    assert sniff_image_type(b"GIF89a....") is None


def test_a_renamed_text_file_is_refused_by_name() -> None:
    with pytest.raises(ImageRejected, match=r"notes\.png is not a PNG, JPEG or WebP image"):
        check_images([("notes.png", b"just some text")])


def test_a_jpeg_named_png_is_accepted_as_jpeg() -> None:
    [image] = check_images([("photo.png", JPEG)])
    assert image.mime_type == "image/jpeg"


def test_size_and_count_limits_are_named() -> None:
    big = PNG + b"\x00" * (5 * 1024 * 1024)
    with pytest.raises(ImageRejected, match=r"huge\.png is 5\.0 MB; the limit is 5 MB"):
        check_images([("huge.png", big)])
    with pytest.raises(ImageRejected, match="at most 4 images"):
        check_images([(f"{i}.png", PNG) for i in range(5)])
