"""Tokens are encrypted at rest with Fernet; several keys allow rotation (the first encrypts)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parsed = [Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()]
        if not parsed:
            raise ValueError("TOKEN_ENCRYPTION_KEYS holds no key")
        self._fernet = MultiFernet(parsed)

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The token; raises ``ValueError`` if no configured key decrypts it."""
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken as error:
            raise ValueError("stored token cannot be decrypted with the configured keys") from error
