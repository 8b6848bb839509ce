"""Visual signatures 2.0: weighted mixes of up to three, previews, and favourites.

A mix of signatures becomes one style clause, the way Midjourney's `--sref` weights blend
style references: weights are normalised to shares that add up to 100 %, the largest leads
("dominant"), the next is "secondary" and the third an "accent". The wording depends only
on the names, styles, weights and the order they were picked, so a mix always compiles to
the same prompt.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, delete, select

from promptgen.db import insert_with_on_conflict
from promptgen.models import SignatureFavorite, VisualSignature
from promptgen.services.images import sniff_image_type

MAX_SIGNATURES = 3
MIN_WEIGHT = 1
MAX_WEIGHT = 10
DEFAULT_WEIGHT = 5
# Past this many signatures the picker offers search and favourites.
SEARCH_THRESHOLD = 12

# Previews are small cards; 512 KB is far more than a good 512 px WebP needs.
MAX_PREVIEW_BYTES = 512 * 1024
PREVIEW_TYPES = "PNG, JPEG or WebP"
MAX_PALETTE_COLOURS = 6
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
ROLES = ("dominant", "secondary", "accent")


class SignatureChoiceError(ValueError):
    """A mix that cannot be used; `message` says what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PreviewRejected(ValueError):
    """A preview image the catalog cannot take; the message names the file and the limit."""


@dataclass(frozen=True)
class SignatureChoice:
    """One picked signature and its weight (MIN_WEIGHT..MAX_WEIGHT)."""

    signature_id: int
    weight: int = DEFAULT_WEIGHT


@dataclass(frozen=True)
class WeightedStyle:
    name: str
    style_prompt: str
    weight: int


@dataclass(frozen=True)
class StyleClause:
    """What compile_prompt places: a name line and the style text."""

    name: str
    style: str


def check_choices(choices: Iterable[SignatureChoice]) -> tuple[SignatureChoice, ...]:
    """The choices, refused with a clear message when there are too many, one repeats or a
    weight is out of range."""
    picked = tuple(choices)
    if len(picked) > MAX_SIGNATURES:
        raise SignatureChoiceError(
            f"Pick at most {MAX_SIGNATURES} visual signatures (you picked {len(picked)})."
        )
    seen: set[int] = set()
    for choice in picked:
        if choice.signature_id in seen:
            raise SignatureChoiceError("Each visual signature can be picked only once.")
        seen.add(choice.signature_id)
        if isinstance(choice.weight, bool) or not isinstance(choice.weight, int):
            raise SignatureChoiceError("A signature weight must be a whole number.")
        if not MIN_WEIGHT <= choice.weight <= MAX_WEIGHT:
            raise SignatureChoiceError(
                f"Signature weights go from {MIN_WEIGHT} to {MAX_WEIGHT} (one is {choice.weight})."
            )
    return picked


def shares(weights: Sequence[int]) -> list[int]:
    """Whole percentages proportional to `weights` that add up to exactly 100 (largest
    remainder; ties go to the earlier pick)."""
    total = sum(weights)
    if not weights or total <= 0:
        return []
    exact = [w * 100 / total for w in weights]
    floors = [int(x) for x in exact]
    short = 100 - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:short]:
        floors[i] += 1
    return floors


def _natural(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def combine(styles: Sequence[WeightedStyle]) -> StyleClause | None:
    """One coherent clause for up to three weighted signatures; None for none.

    One signature reads as before ("Name: style"). Equal weights make an even blend;
    otherwise the signatures are ranked by weight (earlier pick first on a tie) and named
    dominant, secondary and accent with their shares."""
    if not styles:
        return None
    if len(styles) == 1:
        return StyleClause(styles[0].name, styles[0].style_prompt.strip())
    percent = shares([s.weight for s in styles])
    ranked = sorted(range(len(styles)), key=lambda i: (-styles[i].weight, i))
    if len({s.weight for s in styles}) == 1:
        names = [styles[i].name for i in ranked]
        parts = [f"{styles[i].name}: {styles[i].style_prompt.strip()}" for i in ranked]
        return StyleClause(
            f"an even blend of {_natural(names)}",
            "; ".join(parts) + ". Weave them together evenly into one consistent look",
        )
    name = " + ".join(f"{styles[i].name} ({percent[i]}%)" for i in ranked)
    parts = []
    for rank, i in enumerate(ranked):
        role = ROLES[rank]
        parts.append(f"{role} ({percent[i]}%) {styles[i].name}: {styles[i].style_prompt.strip()}")
    lead = styles[ranked[0]].name
    return StyleClause(
        name,
        "; ".join(parts)
        + f". Let {lead} set the overall look and blend the others in proportion to their "
        "shares",
    )


# --- previews ---------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime_type: str
    sha256: str


def check_preview(name: str, data: bytes) -> Preview:
    """A catalog preview image: PNG, JPEG or WebP by its magic bytes, at most
    MAX_PREVIEW_BYTES. SVG is refused: it can carry script, and it is served from the
    app's own origin."""
    if len(data) > MAX_PREVIEW_BYTES:
        raise PreviewRejected(
            f"{name} is {len(data) / 1024:.0f} KB; a preview image may be at most "
            f"{MAX_PREVIEW_BYTES // 1024} KB"
        )
    mime_type = sniff_image_type(data)
    if mime_type is None:
        raise PreviewRejected(f"{name} is not a {PREVIEW_TYPES} image (SVG is not accepted)")
    return Preview(data, mime_type, hashlib.sha256(data).hexdigest())


def preview_url(slug: str, sha256: str | None) -> str:
    """Where the browser loads a signature's preview; the content hash in the query makes
    the URL change with the image, so it can be cached for a year."""
    return f"/api/signatures/{slug}/preview?v={(sha256 or '')[:16]}"


def get_preview(*, session: Session, slug: str) -> Preview | None:
    row = session.exec(
        select(VisualSignature).where(
            col(VisualSignature.slug) == slug, col(VisualSignature.is_active)
        )
    ).first()
    if row is None or not row.preview_image or not row.preview_mime_type:
        return None
    return Preview(row.preview_image, row.preview_mime_type, row.preview_sha256 or "")


def swatch_gradient(palette: Sequence[str]) -> str:
    """A CSS background for a signature without a preview image: its palette as bands.
    Only validated "#rrggbb" colours reach this, so the CSS cannot be injected into."""
    colours = [c for c in palette if HEX_COLOUR.match(c)] or ["#888888"]
    if len(colours) == 1:
        return colours[0]
    step = 100 / len(colours)
    stops = ", ".join(
        f"{c} {round(i * step)}% {round((i + 1) * step)}%" for i, c in enumerate(colours)
    )
    return f"linear-gradient(135deg, {stops})"


# --- favourites -------------------------------------------------------------------


def favorite_ids(*, session: Session, user_id: uuid.UUID) -> set[int]:
    return set(
        session.exec(
            select(SignatureFavorite.signature_id).where(col(SignatureFavorite.user_id) == user_id)
        ).all()
    )


def set_favorite(
    *, session: Session, user_id: uuid.UUID, signature_id: int, favorite: bool
) -> set[int]:
    """Star or unstar an active signature for the user; their favourites afterwards."""
    exists = session.exec(
        select(VisualSignature.id).where(
            col(VisualSignature.id) == signature_id, col(VisualSignature.is_active)
        )
    ).first()
    if favorite and exists is not None:
        insert = insert_with_on_conflict(session)
        session.execute(
            insert(SignatureFavorite)
            .values(user_id=user_id, signature_id=signature_id, created_at=datetime.now(UTC))
            .on_conflict_do_nothing()
        )
    elif not favorite:
        session.execute(
            delete(SignatureFavorite).where(
                col(SignatureFavorite.user_id) == user_id,
                col(SignatureFavorite.signature_id) == signature_id,
            )
        )
    return favorite_ids(session=session, user_id=user_id)
