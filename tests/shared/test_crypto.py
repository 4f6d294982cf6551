"""Tokens at rest: Fernet with key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared.crypto import TokenCipher

TOKEN = "gho_abcdefghijklmnopqrstuvwxyz0123456789"


def test_round_trip() -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    assert cipher.decrypt(cipher.encrypt(TOKEN)) == TOKEN


def test_ciphertext_does_not_contain_the_token() -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    stored = cipher.encrypt(TOKEN)
    assert stored != TOKEN
    assert TOKEN not in stored
    assert "abcdefghij" not in stored
    # Fernet is randomised: the same token encrypts differently each time.
    assert cipher.encrypt(TOKEN) != stored


def test_key_rotation_old_key_decrypts_new_key_encrypts() -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored_with_old = TokenCipher(old_key).encrypt(TOKEN)
    rotated = TokenCipher(f"{new_key}, {old_key}")
    assert rotated.decrypt(stored_with_old) == TOKEN
    stored_after_rotation = rotated.encrypt(TOKEN)
    # Encrypted with the new (first) key: the new key alone reads it, the old key alone cannot.
    assert TokenCipher(new_key).decrypt(stored_after_rotation) == TOKEN
    with pytest.raises(ValueError):
        TokenCipher(old_key).decrypt(stored_after_rotation)


def test_wrong_key_raises_value_error() -> None:
    stored = TokenCipher(Fernet.generate_key().decode()).encrypt(TOKEN)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        TokenCipher(Fernet.generate_key().decode()).decrypt(stored)


def test_garbage_raises_value_error() -> None:
    with pytest.raises(ValueError):
        TokenCipher(Fernet.generate_key().decode()).decrypt("not a fernet token")


@pytest.mark.parametrize("keys", ["", " , ", ","])
def test_no_key_is_refused(keys: str) -> None:
    with pytest.raises(ValueError, match="no key"):
        TokenCipher(keys)


def test_malformed_key_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenCipher("short-key")
