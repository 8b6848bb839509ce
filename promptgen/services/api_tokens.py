"""Personal API tokens: created and revoked in Settings, presented as `Authorization: Bearer`.

A token is `pg_` followed by 43 URL-safe characters (32 random bytes). It is shown once, at
creation; only its SHA-256 is stored, with its first characters (`prefix`) so the user can
tell tokens apart. A token's scope is "read" (blueprints, compile, history, shares) or
"generate" (read, and generate, which spends quota).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.audit import audit
from promptgen.db import rows_affected
from promptgen.errors import UserFacingError
from promptgen.models import ApiToken, User

TOKEN_PREFIX = "pg_"  # noqa: S105 - the visible prefix, not a secret
SCOPE_READ = "read"
SCOPE_GENERATE = "generate"
SCOPES = {SCOPE_READ: "Read", SCOPE_GENERATE: "Read and generate"}
MAX_TOKENS_PER_USER = 20
MAX_NAME_LENGTH = 80
# Stamping last_used_at on every call would write a row per request; a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_SHOWN_PREFIX = 10  # "pg_" and 7 characters


class ApiTokenError(UserFacingError):
    """A token cannot be created; `code` says why (the Settings form's redirect carries it,
    and TOKEN_ERRORS turns it back into the message)."""

    def __init__(self, code: str) -> None:
        super().__init__(TOKEN_ERRORS[code], field="scope" if code == "scope" else "name")
        self.code = code


TOKEN_ERRORS = {
    "name_missing": "Give the token a name, such as the script that uses it.",
    "name_long": f"Use at most {MAX_NAME_LENGTH} characters for the token's name.",
    "scope": "Choose what the token may do: read, or read and generate.",
    "too_many": (
        f"You have {MAX_TOKENS_PER_USER} active tokens. Revoke one you no longer use first."
    ),
}


@dataclass(frozen=True)
class TokenView:
    id: str
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is shown once and never again."""

    view: TokenView
    secret: str

    def __repr__(self) -> str:
        return f"NewToken({self.view.id}, {self.view.prefix}…)"


@dataclass(frozen=True)
class TokenUser:
    """Who presented a valid token, and what it may do."""

    user_id: uuid.UUID
    token_id: uuid.UUID
    scope: str

    def allows(self, needed: str) -> bool:
        return needed == SCOPE_READ or self.scope == SCOPE_GENERATE


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(row: ApiToken) -> TokenView:
    return TokenView(
        id=str(row.id),
        name=row.name,
        prefix=row.prefix,
        scope=row.scope,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def create_token(*, session: Session, user_id: uuid.UUID, name: str, scope: str) -> NewToken:
    """A new token for the user (a user session)."""
    name = " ".join(name.split())
    if not name:
        raise ApiTokenError("name_missing")
    if len(name) > MAX_NAME_LENGTH:
        raise ApiTokenError("name_long")
    if scope not in SCOPES:
        raise ApiTokenError("scope")
    active = session.exec(
        select(sa.func.count())
        .select_from(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
    ).one()
    if active >= MAX_TOKENS_PER_USER:
        raise ApiTokenError("too_many")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user_id,
        name=name,
        prefix=secret[:_SHOWN_PREFIX],
        token_hash=hash_token(secret),
        scope=scope,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    audit("api_token_created", user=user_id, scope=scope)
    return NewToken(view=_view(row), secret=secret)


def list_tokens(*, session: Session, user_id: uuid.UUID) -> list[TokenView]:
    """The user's active tokens, newest first."""
    rows = session.exec(
        select(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .order_by(col(ApiToken.created_at).desc())
    ).all()
    return [_view(r) for r in rows]


def revoke_token(*, session: Session, user_id: uuid.UUID, token_id: str) -> bool:
    """Revoke one of the user's tokens at once; False for an unknown or another user's id."""
    try:
        parsed = uuid.UUID(str(token_id))
    except ValueError:
        return False
    result = session.execute(
        sa.update(ApiToken)
        .where(
            col(ApiToken.id) == parsed,
            col(ApiToken.user_id) == user_id,
            col(ApiToken.revoked_at).is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    changed = rows_affected(result)
    if changed:
        audit("api_token_revoked", user=user_id)
    return bool(changed)


def authenticate(*, session: Session, token: str, now: datetime | None = None) -> TokenUser | None:
    """The user behind a presented token (an admin session: the user is not known yet), or
    None for a malformed, unknown or revoked token. Stamps last_used_at."""
    if not token.startswith(TOKEN_PREFIX) or not 20 <= len(token) <= 100:
        return None
    now = now or datetime.now(UTC)
    row = session.exec(
        select(ApiToken)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(col(ApiToken.token_hash) == hash_token(token), col(ApiToken.revoked_at).is_(None))
    ).first()
    if row is None:
        return None
    last = row.last_used_at
    if last is None or last < now - LAST_USED_RESOLUTION:
        session.execute(
            sa.update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=now)
        )
    return TokenUser(user_id=row.user_id, token_id=row.id, scope=row.scope)
