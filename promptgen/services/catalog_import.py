"""The catalog: plans, blueprints, visual signatures and AI models, loaded from JSON.

`seed_catalog` loads the bundled defaults (promptgen/data/default_catalog.json) and
`import_catalog` an operator's file; both upsert by slug. A file is validated completely
before anything is written, so a bad file changes nothing: its size, encoding and every
value the database could not store (NUL characters, integers past a column's range) are
checked, and each blueprint gets a test render with sample values. Fields an entry leaves
out keep their stored values (so a seed never clears Stripe price ids set by an operator).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, SQLModel, select

from promptgen.blueprints import (
    MAX_TEMPLATE_CHARS,
    SchemaError,
    check_template_renders,
    validate_parameter_schema,
)
from promptgen.db import table_of
from promptgen.errors import UserFacingError
from promptgen.models import SubscriptionTier, SupportedAIModel, SupportedTemplate, VisualSignature
from promptgen.providers.base import ProviderName
from promptgen.services.signatures import (
    HEX_COLOUR,
    MAX_PALETTE_COLOURS,
    Preview,
    PreviewRejected,
    check_preview,
)

_SLUG = r"^[a-z0-9][a-z0-9._-]{0,63}$"

# A catalog file (or dict) is read whole into memory and validated before anything is
# written; past this it is refused unread.
MAX_CATALOG_BYTES = 5 * 1024 * 1024
# Real catalogs nest about 6 deep (a multiple-choice item enum); deeper is a mistake or an
# attack on the recursive parsers downstream.
MAX_JSON_DEPTH = 32
# Any number in the file: what the browser form can hold exactly (JSON Schema bounds,
# defaults). Columns have their own, tighter bounds below.
MAX_JSON_INTEGER = 2**53 - 1
# PostgreSQL INTEGER, the type of every integer column in the catalog tables.
INT32_MAX = 2**31 - 1
# Retention beyond a century is a typo, and `now - timedelta(days=...)` must stay in range.
MAX_RETENTION_DAYS = 36_500
MAX_TEXT_CHARS = 20_000
# Read one byte past the preview limit, so an oversized file is refused without reading it all.
MAX_PREVIEW_READ = 512 * 1024 + 1


class CatalogError(UserFacingError, ValueError):
    """A catalog file that cannot be imported; the message names the entry and the field."""


class CatalogFileError(CatalogError):
    """The file itself cannot be read: missing, too big, not UTF-8, not JSON."""


_SortOrder = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
_Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
_Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(pattern=_SLUG)
    sort_order: _SortOrder = 0
    is_active: bool = True


class TierEntry(_Entry):
    name: str = Field(min_length=1, max_length=120)
    description: _Text = ""
    monthly_quota: _Count
    retention_days: int = Field(ge=1, le=MAX_RETENTION_DAYS)
    price_monthly_cents: _Count = 0
    price_yearly_cents: _Count = 0
    currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    stripe_price_monthly_id: str | None = Field(default=None, max_length=255)
    stripe_price_yearly_id: str | None = Field(default=None, max_length=255)
    features: list[Annotated[str, Field(max_length=500)]] = Field(default=[], max_length=50)


class BlueprintEntry(_Entry):
    name: str = Field(min_length=1, max_length=120)
    category: str = Field(min_length=1, max_length=64)
    description: _Text = ""
    prompt_template: str = Field(min_length=1, max_length=MAX_TEMPLATE_CHARS)
    parameter_schema: dict[str, Any]
    instructions: _Text = ""
    # Whether the form offers visual signatures (image prompts do; a code review does not).
    takes_signature: bool = False

    @field_validator("parameter_schema")
    @classmethod
    def _schema_is_usable(cls, schema: dict[str, Any], info: Any) -> dict[str, Any]:
        try:
            validate_parameter_schema(schema, prompt_template=info.data.get("prompt_template"))
        except SchemaError as exc:
            raise ValueError(exc.message) from None
        return schema


class SignatureEntry(_Entry):
    name: str = Field(min_length=1, max_length=120)
    description: _Text = ""
    style_prompt: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    preview_image_url: str | None = Field(default=None, max_length=500)
    # "#rrggbb" colours: the swatch shown when there is no preview image.
    palette: list[str] = Field(default=[], max_length=MAX_PALETTE_COLOURS)
    # A PNG, JPEG or WebP file, relative to the catalog file; stored in the database.
    preview_image: str | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("palette")
    @classmethod
    def _palette_is_hex(cls, palette: list[str]) -> list[str]:
        for colour in palette:
            if not HEX_COLOUR.match(colour):
                raise ValueError(f"has '{colour[:20]}', which is not a #rrggbb colour")
        return [colour.lower() for colour in palette]

    @field_validator("preview_image")
    @classmethod
    def _preview_is_relative(cls, path: str | None) -> str | None:
        if path is not None and (Path(path).is_absolute() or ".." in Path(path).parts):
            raise ValueError("must be a path inside the catalog file's folder")
        return path


class ModelEntry(_Entry):
    provider: ProviderName
    model_name: str = Field(min_length=1, max_length=120)
    display_name: str = Field(min_length=1, max_length=120)
    description: _Text = ""
    endpoint: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    supports_images: bool = False
    allowed_tiers: list[str] = Field(default=[], max_length=100)  # empty: every tier
    # US dollars per million tokens, for the estimated cost of each generation.
    input_price_per_mtok: float = Field(default=0.0, ge=0, le=100_000, allow_inf_nan=False)
    output_price_per_mtok: float = Field(default=0.0, ge=0, le=100_000, allow_inf_nan=False)


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tiers: list[TierEntry] = []
    blueprints: list[BlueprintEntry] = []
    signatures: list[SignatureEntry] = []
    models: list[ModelEntry] = []


# section name -> (table, entry type)
_SECTIONS: dict[str, type[SQLModel]] = {
    "tiers": SubscriptionTier,
    "blueprints": SupportedTemplate,
    "signatures": VisualSignature,
    "models": SupportedAIModel,
}


@dataclass
class CatalogReport:
    """What an import did, per section: created, updated and unchanged slugs."""

    created: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def summary(self) -> str:
        parts = []
        for section in _SECTIONS:
            created = len(self.created.get(section, []))
            updated = len(self.updated.get(section, []))
            unchanged = len(self.unchanged.get(section, []))
            if created or updated or unchanged:
                parts.append(
                    f"{section}: {created} created, {updated} updated, {unchanged} unchanged"
                )
        return "Catalog: " + ("; ".join(parts) if parts else "nothing to import")


def _describe(error: Mapping[str, Any], data: Any) -> str:
    location = list(error["loc"])
    where = ""
    if len(location) >= 2 and isinstance(location[1], int):
        section, index = location[0], location[1]
        slug = None
        with contextlib.suppress(AttributeError, IndexError, KeyError, TypeError):
            slug = data[section][index].get("slug")
        where = f"{section}[{index}]" + (f" (slug '{slug}')" if slug else "")
        location = location[2:]
    elif location:
        where = str(location[0])
        location = location[1:]
    field_name = ".".join(str(p) for p in location)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a known field"
    elif error["type"] == "missing":
        message = "is required"
    return f"{where}: field '{field_name}' {message}" if field_name else f"{where}: {message}"


class _HugeNumber(str):
    """An integer literal too long to convert (Python refuses past 4,300 digits); kept as
    its text so the check below can name where it is."""


def _parse_int(text: str) -> int | _HugeNumber:
    return int(text) if len(text) <= 40 else _HugeNumber(text)


def _where(location: list[Any], problem: str, data: Any) -> CatalogError:
    if not location:
        return CatalogError(f"the catalog {problem}")
    return CatalogError(_describe({"loc": location, "msg": problem, "type": "value"}, data))


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which the database cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate escape (\\ud800-\\udfff), which is not text"
    return None


def check_storable(data: Any) -> None:
    """Refuse what the database cannot store or the validators should not have to walk:
    NUL characters and lone surrogates in strings, numbers past MAX_JSON_INTEGER or not
    finite, nesting past MAX_JSON_DEPTH, more than about MAX_CATALOG_BYTES of JSON, and
    anything that is not a JSON value. Iterative, so depth cannot exhaust the stack."""
    size = 0
    pending: list[tuple[Any, list[Any]]] = [(data, [])]
    while pending:
        value, location = pending.pop()
        if len(location) > MAX_JSON_DEPTH:
            raise _where(location, f"is nested more than {MAX_JSON_DEPTH} levels deep", data)
        if isinstance(value, _HugeNumber):
            raise _where(location, f"is {_a_number(len(value))}-digit number, far too large", data)
        if isinstance(value, str):
            size += len(value) + 2
            if problem := _text_problem(value):
                raise _where(location, problem, data)
        elif isinstance(value, bool) or value is None:
            size += 5
        elif isinstance(value, int):
            size += 8
            if abs(value) > MAX_JSON_INTEGER:
                raise _where(
                    location,
                    f"is {value}, too large: at most {MAX_JSON_INTEGER:,} anywhere, and "
                    f"{INT32_MAX:,} for counts, prices and sort_order",
                    data,
                )
        elif isinstance(value, float):
            size += 8
            if not math.isfinite(value):
                raise _where(location, f"is {value}; numbers must be finite", data)
        elif isinstance(value, dict):
            size += 2
            children = []
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _where(location, f"has a key {key!r} that is not a string", data)
                if problem := _text_problem(key):
                    raise _where(location, f"has a key {key!r} that {problem}", data)
                size += len(key) + 3
                children.append((item, [*location, key]))
            pending.extend(reversed(children))  # a stack: reversed, so file order comes out
        elif isinstance(value, list):
            size += 2
            pending.extend(
                (value[index], [*location, index]) for index in reversed(range(len(value)))
            )
        else:
            raise _where(location, f"is of type {type(value).__name__}, not a JSON value", data)
        if size > MAX_CATALOG_BYTES:
            raise CatalogError(
                f"the catalog is larger than {MAX_CATALOG_BYTES // (1024 * 1024)} MB; "
                "split it into several files"
            )


def validate_catalog(data: Any, *, known_tiers: AbstractSet[str] = frozenset()) -> CatalogFile:
    """Parse and check a whole catalog document; raise CatalogError on the first problem."""
    if not isinstance(data, dict):
        raise CatalogError(
            "the catalog file must be a JSON object with tiers, blueprints, signatures "
            "and/or models"
        )
    check_storable(data)
    try:
        catalog = CatalogFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(_describe(exc.errors()[0], data)) from None
    for section in _SECTIONS:
        seen: set[str] = set()
        for index, entry in enumerate(getattr(catalog, section)):
            if entry.slug in seen:
                raise CatalogError(
                    f"{section}[{index}] (slug '{entry.slug}'): field 'slug' repeats an "
                    "earlier entry"
                )
            seen.add(entry.slug)
    tiers = set(known_tiers) | {t.slug for t in catalog.tiers}
    for index, model in enumerate(catalog.models):
        for slug in model.allowed_tiers:
            if slug not in tiers:
                raise CatalogError(
                    f"models[{index}] (slug '{model.slug}'): field 'allowed_tiers' names "
                    f"unknown tier '{slug}'"
                )
    # Last, as the slowest check: a template that fails here would fail for users.
    for index, blueprint in enumerate(catalog.blueprints):
        try:
            check_template_renders(blueprint.parameter_schema, blueprint.prompt_template)
        except SchemaError as exc:
            raise CatalogError(
                f"blueprints[{index}] (slug '{blueprint.slug}'): field 'prompt_template' "
                f"{exc.message}"
            ) from None
    return catalog


def read_previews(catalog: CatalogFile, base_dir: Path | None) -> dict[str, Preview]:
    """Each signature's preview image, read from beside the catalog file and checked (type
    by magic bytes, size), keyed by slug. Raises CatalogError naming the entry."""
    previews: dict[str, Preview] = {}
    for index, entry in enumerate(catalog.signatures):
        if entry.preview_image is None:
            continue
        where = f"signatures[{index}] (slug '{entry.slug}'): field 'preview_image'"
        if base_dir is None:
            raise CatalogError(f"{where} needs a catalog file to be relative to")
        folder = base_dir.resolve()
        path = (folder / entry.preview_image).resolve()
        if not path.is_relative_to(folder):
            raise CatalogError(f"{where} must be a path inside the catalog file's folder")
        try:
            with path.open("rb") as file:
                data = file.read(MAX_PREVIEW_READ)
        except FileNotFoundError:
            raise CatalogError(f"{where}: {entry.preview_image} does not exist") from None
        except OSError as exc:
            raise CatalogError(
                f"{where}: {entry.preview_image} cannot be read ({exc.strerror or exc})"
            ) from None
        try:
            previews[entry.slug] = check_preview(entry.preview_image, data)
        except PreviewRejected as exc:
            raise CatalogError(f"{where}: {exc}") from None
    return previews


def _row_values(section: str, values: dict[str, Any], previews: dict[str, Preview]) -> dict:
    """An entry's values as columns: a signature's preview path becomes the image itself."""
    if section != "signatures" or "preview_image" not in values:
        return values
    values = dict(values)
    preview = previews.get(values["slug"]) if values.pop("preview_image") else None
    values["preview_image"] = preview.data if preview else None
    values["preview_mime_type"] = preview.mime_type if preview else None
    values["preview_sha256"] = preview.sha256 if preview else None
    return values


def import_catalog(
    *, session: Session, data: Any, now: datetime | None = None, base_dir: Path | None = None
) -> CatalogReport:
    """Upsert every entry of `data` by slug. Validates everything before writing anything.
    `base_dir`: the catalog file's folder, which preview image paths are relative to."""
    known_tiers = set(session.exec(select(SubscriptionTier.slug)).all())
    catalog = validate_catalog(data, known_tiers=known_tiers)
    previews = read_previews(catalog, base_dir)
    now = now or datetime.now(UTC)
    report = CatalogReport()
    for section, table in _SECTIONS.items():
        for entry in getattr(catalog, section):
            values = _row_values(section, entry.model_dump(exclude_unset=True), previews)
            row = session.exec(select(table).where(table_of(table).c.slug == entry.slug)).first()
            if row is None:
                row = table(**_row_values(section, entry.model_dump(), previews))
                if hasattr(row, "created_at"):
                    row.created_at = row.updated_at = now
                session.add(row)
                report.created.setdefault(section, []).append(entry.slug)
                continue
            changes = {k: v for k, v in values.items() if getattr(row, k) != v}
            if not changes:
                report.unchanged.setdefault(section, []).append(entry.slug)
                continue
            for key, value in changes.items():
                setattr(row, key, value)
            if hasattr(row, "updated_at"):
                row.updated_at = now
            session.add(row)
            report.updated.setdefault(section, []).append(entry.slug)
        # Tiers first, so models in the same file can name them.
        session.flush()
    return report


def read_catalog_file(path: Path) -> Any:
    """The parsed JSON of a catalog file; CatalogFileError when it cannot be. The size is
    checked before reading, and reading stops past the limit (a pipe has no size)."""
    try:
        if path.stat().st_size > MAX_CATALOG_BYTES:
            raise CatalogFileError(_too_large(path, path.stat().st_size))
        with path.open("rb") as file:
            raw = file.read(MAX_CATALOG_BYTES + 1)
    except FileNotFoundError:
        raise CatalogFileError(f"{path} does not exist") from None
    except OSError as exc:
        raise CatalogFileError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CATALOG_BYTES:
        raise CatalogFileError(_too_large(path, None))
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some editors write
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CatalogFileError(
            f"{path} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
            f"(line {line}); save the file as UTF-8"
        ) from None
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise CatalogFileError(
            f"{path} is nested too deeply to read (at most {MAX_JSON_DEPTH} levels)"
        ) from None


def _too_large(path: Path, size: int | None) -> str:
    limit = MAX_CATALOG_BYTES // (1024 * 1024)
    actual = f" ({size / (1024 * 1024):.1f} MB)" if size else ""
    return f"{path} is larger than {limit} MB{actual}; split it into several files"


def default_catalog() -> dict[str, Any]:
    text = resources.files("promptgen.data").joinpath("default_catalog.json").read_text("utf-8")
    return json.loads(text)


def default_catalog_dir() -> Path:
    """The folder of the default catalog, which its preview image paths are relative to."""
    return Path(str(resources.files("promptgen.data")))


def seed_catalog(*, session: Session) -> CatalogReport:
    """Load the default catalog. Running it again changes nothing."""
    return import_catalog(session=session, data=default_catalog(), base_dir=default_catalog_dir())


def _a_number(n: int) -> str:
    """ "a 5" but "an 8", "an 11", "an 18": the article as the number is said."""
    spoken_vowel = str(n).startswith("8") or n in (11, 18) or 11_000 <= n < 12_000
    return f"{'an' if spoken_vowel else 'a'} {n:,}"
