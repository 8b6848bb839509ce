"""Security events as one structured log line each, with no secrets.

`audit("sign_in_failed", email=..., ip=...)` logs, at INFO on the `promptgen.audit` logger:

    audit event=sign_in_failed email_hash=5d41402abc4b2a76 ip=203.0.113.7

Values are reduced to what an operator needs: an email becomes a keyed hash (the same
address always gives the same hash, so repeated attempts can be followed, but the address
cannot be read back), user ids are UUIDs, and anything else is quoted so a value cannot
forge another field or line. Never pass a password, token or API key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
import uuid

from promptgen.settings import get_settings

log = logging.getLogger("promptgen.audit")

_PLAIN = re.compile(r"^[A-Za-z0-9_.:@/+-]{1,200}$")
# Field names that must never be logged, whatever a caller passes.
_FORBIDDEN = ("password", "token", "api_key", "secret", "key_text")


@functools.cache
def _email_key(secret: str) -> bytes:
    return hashlib.sha256(b"promptgen audit email v1\0" + secret.encode()).digest()


def email_hash(email: str) -> str:
    """A short keyed hash of a normalised email (HMAC-SHA-256 under a key derived from
    KEY_ENCRYPTION_KEYS), so logs can link attempts without holding the address."""
    key = _email_key(get_settings().key_encryption_keys or "promptgen-local")
    value = (email or "").strip().lower().encode("utf-8", "replace")
    return hmac.new(key, value, hashlib.sha256).hexdigest()[:16]


def _format(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, uuid.UUID | int | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    text = str(value)
    if _PLAIN.match(text):
        return text
    return json.dumps(text[:200], ensure_ascii=True)


def audit(event: str, *, email: str | None = None, **fields: object) -> None:
    """Log one security event: `audit event=<event> key=value ...` (see the module doc)."""
    parts = [f"event={_format(event)}"]
    if email is not None:
        parts.append(f"email_hash={email_hash(email)}")
    for name, value in fields.items():
        if any(word in name.lower() for word in _FORBIDDEN):
            raise ValueError(f"refusing to log the field {name!r}")
        parts.append(f"{name}={_format(value)}")
    log.info("audit %s", " ".join(parts))
