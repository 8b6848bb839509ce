"""AES-256-GCM for users' own API keys. Pure crypto: no database, no logging of secrets.

Master keys come from KEY_ENCRYPTION_KEYS as "v2:<base64>,v1:<base64>", newest first. Each
ciphertext is stored beside the version of the key that sealed it, so old rows still open
after a new key is added, and `python -m promptgen keys rotate` re-seals them under the
newest. The user id and provider are bound in as associated data: a ciphertext copied to
another user's row, or to another provider, fails to open.

In local mode with no master key configured, a key is generated once into
DATA_DIR/vault.key so a local run works out of the box; production refuses to start
without KEY_ENCRYPTION_KEYS (settings.check_production_secrets).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from promptgen.settings import Settings, SettingsError, get_settings

NONCE_BYTES = 12
LOCAL_KEY_FILE = "vault.key"


class VaultError(Exception):
    """A stored key cannot be opened (wrong master key, tampered or moved ciphertext)."""


@dataclass(frozen=True)
class Sealed:
    key_version: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class MasterKeys:
    """Versioned master keys, newest first."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def newest_version(self) -> str:
        return self.keys[0][0]

    def get(self, version: str) -> bytes | None:
        return dict(self.keys).get(version)

    @property
    def newest(self) -> bytes:
        return self.keys[0][1]

    @classmethod
    def parse(cls, text: str) -> MasterKeys:
        keys: list[tuple[str, bytes]] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            version, sep, encoded = item.partition(":")
            if not sep or not version:
                raise SettingsError(
                    "KEY_ENCRYPTION_KEYS must look like v2:<base64>,v1:<base64> (newest first)."
                )
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise SettingsError(
                    f"KEY_ENCRYPTION_KEYS: key {version} is not valid base64."
                ) from None
            if len(raw) != 32:
                raise SettingsError(
                    f"KEY_ENCRYPTION_KEYS: key {version} must be 32 bytes (AES-256), "
                    f"not {len(raw)}."
                )
            if any(v == version for v, _ in keys):
                raise SettingsError(f"KEY_ENCRYPTION_KEYS: version {version} appears twice.")
            keys.append((version, raw))
        if not keys:
            raise SettingsError("KEY_ENCRYPTION_KEYS holds no key.")
        return cls(tuple(keys))


def new_master_key_text(version: str = "v1") -> str:
    """A fresh master key in KEY_ENCRYPTION_KEYS form (for operators and tests)."""
    return f"{version}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def _local_keys(data_dir: Path) -> MasterKeys:
    path = data_dir / LOCAL_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_master_key_text("local1") + "\n")
    return MasterKeys.parse(path.read_text().strip())


def master_keys(settings: Settings | None = None) -> MasterKeys:
    settings = settings or get_settings()
    if settings.key_encryption_keys:
        return MasterKeys.parse(settings.key_encryption_keys)
    if settings.is_production:
        raise SettingsError("KEY_ENCRYPTION_KEYS is required when APP_ENV=production.")
    return _local_keys(settings.data_dir)


def _associated_data(user_id: uuid.UUID, provider: str) -> bytes:
    return f"promptgen-byok:{user_id}:{provider}".encode()


def seal(
    plaintext: str, *, user_id: uuid.UUID, provider: str, keys: MasterKeys | None = None
) -> Sealed:
    keys = keys or master_keys()
    version = keys.newest_version
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(keys.newest).encrypt(
        nonce, plaintext.encode(), _associated_data(user_id, provider)
    )
    return Sealed(version, nonce, ciphertext)


def open_sealed(
    sealed: Sealed, *, user_id: uuid.UUID, provider: str, keys: MasterKeys | None = None
) -> str:
    keys = keys or master_keys()
    master = keys.get(sealed.key_version)
    if master is None:
        raise VaultError(f"master key {sealed.key_version} is not configured")
    try:
        plaintext = AESGCM(master).decrypt(
            sealed.nonce, sealed.ciphertext, _associated_data(user_id, provider)
        )
    except InvalidTag:
        raise VaultError("stored key does not open for this user and provider") from None
    return plaintext.decode()
