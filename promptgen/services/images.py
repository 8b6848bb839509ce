"""Reference images: checked by content (not by file name) before they reach a provider."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from promptgen.errors import UserFacingError

MAX_IMAGES = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024
ALLOWED_TYPES = "PNG, JPEG or WebP"


class ImageRejected(UserFacingError, ValueError):
    """An upload that cannot be used; the message names the file and the limit."""


@dataclass(frozen=True)
class CheckedImage:
    filename: str
    mime_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def __repr__(self) -> str:  # the bytes are large; keep logs readable
        return f"CheckedImage({self.filename!r}, {self.mime_type}, {len(self.data)} bytes)"


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type from the file's magic bytes, or None if it is not PNG/JPEG/WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_images(files: list[tuple[str, bytes]]) -> list[CheckedImage]:
    """Validate uploads: at most 4, each at most 5 MB and really a PNG, JPEG or WebP."""
    if len(files) > MAX_IMAGES:
        raise ImageRejected(f"Attach at most {MAX_IMAGES} images (you chose {len(files)}).")
    checked = []
    for filename, data in files:
        name = (filename or "image").rsplit("/", 1)[-1][:255]
        if len(data) > MAX_IMAGE_BYTES:
            size_mb = len(data) / (1024 * 1024)
            raise ImageRejected(f"{name} is {size_mb:.1f} MB; the limit is 5 MB per image.")
        mime_type = sniff_image_type(data)
        if mime_type is None:
            raise ImageRejected(f"{name} is not a {ALLOWED_TYPES} image.")
        checked.append(CheckedImage(filename=name, mime_type=mime_type, data=data))
    return checked


def human_size(size_bytes: int) -> str:
    """A file's size as people read it: "812 bytes", "4.2 KB", "1.3 MB" (never "0 KB")."""
    if size_bytes < 1024:
        return "1 byte" if size_bytes == 1 else f"{size_bytes:,} bytes"
    for unit, scale in (("KB", 1024), ("MB", 1024**2)):
        value = size_bytes / scale
        if value < 1000 or unit == "MB":
            text = f"{value:.1f}".removesuffix(".0") if value < 100 else f"{value:,.0f}"
            return f"{text} {unit}"
    raise AssertionError("unreachable")
