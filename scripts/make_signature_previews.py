"""Draw the default catalog's signature previews: small WebP art from each palette and motif.

Run once when a default signature or its palette changes, and commit the files:

    .venv/bin/pip install pillow   # a build-time tool only; the app never imports it
    .venv/bin/python scripts/make_signature_previews.py

Each picture is drawn from the signature's palette in default_catalog.json with a motif that
says what the style is (noir blinds, neon grid, watercolour washes...). The random noise is
seeded by the slug, so a rerun writes the same images.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

DATA = Path(__file__).resolve().parent.parent / "promptgen" / "data"
SIZE = (320, 200)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    a, b = _rgb(top), _rgb(bottom)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)], fill=tuple(round(a[i] + (b[i] - a[i]) * t) for i in range(3))
        )
    return image


def _grain(image: Image.Image, rng: random.Random, amount: int) -> Image.Image:
    noise = Image.effect_noise(image.size, amount).convert("RGB")
    # Same seed, same picture: shift the noise by a seeded offset.
    noise = ImageChops.offset(noise, rng.randrange(image.width), rng.randrange(image.height))
    return ImageChops.overlay(image, noise)


def _vignette(image: Image.Image, strength: int) -> Image.Image:
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse(
        (-image.width * 0.2, -image.height * 0.3, image.width * 1.2, image.height * 1.3), fill=255
    )
    mask = mask.filter(ImageFilter.GaussianBlur(40))
    dark = Image.new("RGB", image.size, (0, 0, 0))
    return Image.composite(image, Image.blend(image, dark, strength / 100), mask)


def noir(palette: list[str], rng: random.Random) -> Image.Image:
    image = _gradient(SIZE, palette[1], palette[0])
    draw = ImageDraw.Draw(image)
    for i in range(9):  # light through venetian blinds, falling across the frame
        x = 40 + i * 34
        draw.polygon([(x, 0), (x + 18, 0), (x - 60, SIZE[1]), (x - 78, SIZE[1])], fill=palette[2])
    draw.ellipse((200, 40, 260, 100), fill=palette[0])  # a silhouette's head
    draw.rectangle((190, 95, 270, 200), fill=palette[0])
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    return _vignette(_grain(image.convert("L").convert("RGB"), rng, 60), 70)


def pastel(palette: list[str], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE, palette[0])
    draw = ImageDraw.Draw(image)
    for colour in palette[1:] * 2:
        r = rng.randint(55, 85)
        x, y = rng.randint(0, SIZE[0]), rng.randint(0, SIZE[1])
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return image.filter(ImageFilter.GaussianBlur(14))


def minimal(palette: list[str], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE, palette[0])
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 120, 200, 200), fill=palette[1])
    draw.ellipse((190, 30, 290, 130), fill=palette[2])
    draw.polygon([(40, 120), (100, 30), (160, 120)], fill=palette[3])
    return image


def vintage(palette: list[str], rng: random.Random) -> Image.Image:
    image = _gradient(SIZE, palette[0], palette[1])
    draw = ImageDraw.Draw(image)
    draw.ellipse((110, 70, 210, 170), fill=palette[2])  # a low sun
    draw.rectangle((0, 140, SIZE[0], SIZE[1]), fill=palette[3])
    leak = Image.new("RGB", SIZE, palette[4])
    mask = Image.new("L", SIZE, 0)
    ImageDraw.Draw(mask).ellipse((-80, -60, 90, 120), fill=150)
    image = Image.composite(leak, image, mask.filter(ImageFilter.GaussianBlur(30)))
    return _vignette(_grain(image, rng, 22), 45)


def neon(palette: list[str], rng: random.Random) -> Image.Image:
    image = _gradient(SIZE, palette[0], palette[1])
    glow = Image.new("RGB", SIZE, (0, 0, 0))
    draw = ImageDraw.Draw(glow)
    horizon = 110
    for i in range(-8, 9):  # a perspective grid running to the horizon
        draw.line([(160 + i * 12, horizon), (160 + i * 60, SIZE[1])], fill=palette[2], width=2)
    for j in range(6):
        y = horizon + (j**1.7) * 6
        draw.line([(0, y), (SIZE[0], y)], fill=palette[3], width=2)
    for _ in range(7):  # towers with lit windows
        x, w, h = rng.randint(0, 300), rng.randint(14, 30), rng.randint(40, 90)
        draw.rectangle((x, horizon - h, x + w, horizon), outline=palette[3], width=2)
    glow = ImageChops.add(glow, glow.filter(ImageFilter.GaussianBlur(6)))
    return ImageChops.screen(image, glow)


def editorial(palette: list[str], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE, palette[0])
    draw = ImageDraw.Draw(image)
    draw.rectangle((24, 24, 150, 176), fill=palette[1])  # a photograph on the page
    for i in range(7):  # columns of text
        width = 130 if i % 3 else 90
        draw.rectangle((170, 36 + i * 18, 170 + width, 42 + i * 18), fill=palette[2])
    draw.line([(170, 170), (300, 170)], fill=palette[3], width=2)
    return image


def watercolor(palette: list[str], rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE, palette[0])
    for colour in palette[1:] * 2:
        wash = Image.new("RGB", SIZE, colour)
        mask = Image.new("L", SIZE, 0)
        draw = ImageDraw.Draw(mask)
        cx, cy = rng.randint(30, 290), rng.randint(30, 170)
        points = [(cx + rng.randint(-90, 90), cy + rng.randint(-60, 60)) for _ in range(7)]
        draw.polygon(points, fill=190)
        # A wash: soft bleeding edges, and a darker rim where the pigment pooled.
        soft = mask.filter(ImageFilter.GaussianBlur(6))
        rim = ImageChops.subtract(soft, mask.filter(ImageFilter.GaussianBlur(2))).point(
            lambda v: min(255, v * 3)
        )
        image = Image.composite(wash, image, soft)
        image = Image.composite(ImageChops.multiply(image, wash), image, rim)
    return _grain(image, rng, 12)


def golden(palette: list[str], rng: random.Random) -> Image.Image:
    image = _gradient(SIZE, palette[0], palette[1])
    glow = Image.new("RGB", SIZE, (0, 0, 0))
    draw = ImageDraw.Draw(glow)
    draw.ellipse((190, 90, 250, 150), fill=palette[2])
    glow = ImageChops.add(glow, glow.filter(ImageFilter.GaussianBlur(30)))
    image = ImageChops.screen(image, glow)
    draw = ImageDraw.Draw(image)
    points = [(0, 160)] + [(x, 150 + 12 * ((x // 40) % 2)) for x in range(0, 340, 40)]
    draw.polygon([*points, (SIZE[0], SIZE[1]), (0, SIZE[1])], fill=palette[3])
    return image


MOTIFS = {
    "cinematic-noir": noir,
    "soft-pastel": pastel,
    "bold-minimal": minimal,
    "vintage-film": vintage,
    "neon-cyberpunk": neon,
    "editorial-clean": editorial,
    "watercolor-dream": watercolor,
    "golden-hour": golden,
}


def main() -> int:
    catalog = json.loads((DATA / "default_catalog.json").read_text("utf-8"))
    for signature in catalog["signatures"]:
        slug, path = signature["slug"], signature.get("preview_image")
        if not path or slug not in MOTIFS:
            print(f"skipped {slug}: no preview_image path or motif", file=sys.stderr)
            continue
        image = MOTIFS[slug](signature["palette"], random.Random(slug))  # noqa: S311 - art, not secrets
        target = DATA / path
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, "WEBP", quality=82, method=6)
        print(f"{target.relative_to(DATA)}: {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
