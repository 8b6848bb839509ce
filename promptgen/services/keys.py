"""Users' own provider keys (BYOK): store sealed, list by last four, open only to use.

The plaintext key is returned only by `open_key`, to the generation or key-test call that
uses it, and never logged or kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from promptgen import vault
from promptgen.audit import audit
from promptgen.db import run_in_user_session
from promptgen.errors import UserFacingError
from promptgen.models import UserApiKey
from promptgen.providers import ProviderConfig, ProviderError, get_provider
from promptgen.providers.base import PROVIDER_NAMES
from promptgen.services import recovery
from promptgen.settings import Settings, get_settings

MIN_KEY_LENGTH = 20
MAX_KEY_LENGTH = 512


class InvalidApiKey(UserFacingError, ValueError):
    """A key that cannot be stored; the message is for the user."""


@dataclass(frozen=True)
class KeyView:
    """What the settings page may show about a stored key: never the key."""

    provider: str
    provider_name: str
    last_four: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None


def _view(row: UserApiKey) -> KeyView:
    return KeyView(
        provider=row.provider,
        provider_name=PROVIDER_NAMES.get(row.provider, row.provider),
        last_four=row.last_four,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
    )


def normalize_key(provider: str, api_key: str) -> str:
    """Check a pasted key's shape; raise InvalidApiKey with a message naming the problem."""
    if provider not in PROVIDER_NAMES:
        raise InvalidApiKey("Choose Google Gemini or OpenAI.")
    key = (api_key or "").strip()
    if not key:
        raise InvalidApiKey("Paste your API key.")
    if any(ch.isspace() for ch in key) or not key.isascii():
        raise InvalidApiKey("That does not look like an API key: it contains spaces or symbols.")
    if len(key) < MIN_KEY_LENGTH or len(key) > MAX_KEY_LENGTH:
        name = PROVIDER_NAMES[provider]
        article = "an" if name[:1] in "AEIOU" else "a"  # an OpenAI key, a Google Gemini key
        raise InvalidApiKey(
            f"That does not look like {article} {name} key "
            f"(expected {MIN_KEY_LENGTH}-{MAX_KEY_LENGTH} characters)."
        )
    return key


def _row(session: Session, user_id: uuid.UUID, provider: str) -> UserApiKey | None:
    return session.exec(
        select(UserApiKey).where(UserApiKey.user_id == user_id, UserApiKey.provider == provider)
    ).first()


def save_key(*, session: Session, user_id: uuid.UUID, provider: str, api_key: str) -> KeyView:
    """Add or replace the user's key for a provider."""
    key = normalize_key(provider, api_key)
    sealed = vault.seal(key, user_id=user_id, provider=provider)
    now = datetime.now(UTC)
    stored: dict[str, Any] = {
        "key_version": sealed.key_version,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "last_four": key[-4:],
        "updated_at": now,
        "last_used_at": None,
    }
    row = _row(session, user_id, provider)
    if row is None:
        row = UserApiKey(user_id=user_id, provider=provider, created_at=now, **stored)
    else:
        row.sqlmodel_update(stored)
    session.add(row)
    session.flush()
    audit("key_saved", user=user_id, provider=provider)
    return _view(row)


def list_keys(*, session: Session, user_id: uuid.UUID) -> list[KeyView]:
    rows = session.exec(
        select(UserApiKey).where(UserApiKey.user_id == user_id).order_by(UserApiKey.provider)
    ).all()
    return [_view(r) for r in rows]


def delete_key(*, session: Session, user_id: uuid.UUID, provider: str) -> bool:
    row = _row(session, user_id, provider)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    audit("key_deleted", user=user_id, provider=provider)
    return True


def open_key(
    *, session: Session, user_id: uuid.UUID, provider: str, mark_used: bool = True
) -> str | None:
    """The user's plaintext key for `provider`, or None. Only for the call that uses it."""
    row = _row(session, user_id, provider)
    if row is None:
        return None
    plaintext = vault.open_sealed(
        vault.Sealed(row.key_version, row.nonce, row.ciphertext),
        user_id=user_id,
        provider=provider,
    )
    if mark_used:
        row.last_used_at = datetime.now(UTC)
        session.add(row)
    return plaintext


def rotate_keys(*, session: Session) -> tuple[int, int]:
    """Re-seal every stored key under the newest master key: (re-sealed, already current)."""
    keys = vault.master_keys()
    resealed = current = 0
    for row in session.exec(select(UserApiKey)).all():
        if row.key_version == keys.newest_version:
            current += 1
            continue
        plaintext = vault.open_sealed(
            vault.Sealed(row.key_version, row.nonce, row.ciphertext),
            user_id=row.user_id,
            provider=row.provider,
            keys=keys,
        )
        sealed = vault.seal(plaintext, user_id=row.user_id, provider=row.provider, keys=keys)
        row.key_version, row.nonce, row.ciphertext = (
            sealed.key_version,
            sealed.nonce,
            sealed.ciphertext,
        )
        session.add(row)
        resealed += 1
    session.flush()
    return resealed, current


async def verify_key(*, user_id: uuid.UUID, provider: str, settings: Settings | None = None) -> str:
    """Make the provider's cheapest real call with the stored key; the verdict for the user."""
    settings = settings or get_settings()
    api_key = await run_in_user_session(
        open_key, user_id=user_id, provider=provider, mark_used=False
    )
    name = PROVIDER_NAMES.get(provider, provider)
    if api_key is None:
        return f"No {name} key is saved."
    config = ProviderConfig(
        api_key=api_key,
        base_url=settings.provider_base_url(provider),
        timeout_s=min(settings.provider_timeout_seconds, 20),
    )
    try:
        await get_provider(provider).check_key(config)
    except ProviderError as exc:
        return f"Not working: {exc.message}"
    return f"Valid — {name} accepted the key."


def settings_page(*, session: Session, user_id: uuid.UUID) -> tuple[bool, list[KeyView]]:
    """What the settings page shows on load: whether the email is verified, and the keys."""
    return recovery.email_verified(session=session, user_id=user_id), list_keys(
        session=session, user_id=user_id
    )
