"""The BYOK vault's sealing and master-key parsing, without a database."""

from __future__ import annotations

import uuid

import pytest

from promptgen import vault
from promptgen.settings import SettingsError

SECRET = "sk-test-secret-key-0123456789-WXYZ"


def test_sealed_keys_open_only_for_their_user_and_provider() -> None:
    master = vault.MasterKeys.parse(vault.new_master_key_text())
    user, other = uuid.uuid4(), uuid.uuid4()
    sealed = vault.seal(SECRET, user_id=user, provider="openai", keys=master)
    assert SECRET.encode() not in sealed.ciphertext
    assert vault.open_sealed(sealed, user_id=user, provider="openai", keys=master) == SECRET
    with pytest.raises(vault.VaultError):
        vault.open_sealed(sealed, user_id=other, provider="openai", keys=master)
    with pytest.raises(vault.VaultError):
        vault.open_sealed(sealed, user_id=user, provider="gemini", keys=master)
    again = vault.seal(SECRET, user_id=user, provider="openai", keys=master)
    assert again.nonce != sealed.nonce and again.ciphertext != sealed.ciphertext


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        ("v1", "must look like"),
        ("v1:not*base64", "not valid base64"),
        ("v1:AAAA", "must be 32 bytes"),
    ],
)
def test_bad_master_keys_are_named(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        vault.MasterKeys.parse(text)
