"""Token encryption at rest (RELIABILITY 17, 18).

TOKEN_ENCRYPTION_KEY holds one or more Fernet keys separated by commas, newest first.
MultiFernet encrypts with the first and decrypts with any, so a new key can be added in
front and `flask procore rotate-keys` re-encrypts every row before the old key is removed.
"""
from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class TokenCipherError(RuntimeError):
    """A stored token cannot be decrypted with any configured key."""


def _cipher(keys: str | None = None) -> MultiFernet:
    raw = keys if keys is not None else current_app.config["TOKEN_ENCRYPTION_KEY"]
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise TokenCipherError("TOKEN_ENCRYPTION_KEY is empty")
    try:
        return MultiFernet([Fernet(part.encode()) for part in parts])
    except ValueError as error:
        raise TokenCipherError("TOKEN_ENCRYPTION_KEY holds an invalid Fernet key") from error


def encrypt(value: str | None) -> str | None:
    if value is None:
        return None
    return _cipher().encrypt(value.encode()).decode()


def decrypt(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return _cipher().decrypt(value.encode()).decode()
    except InvalidToken as error:
        raise TokenCipherError("stored token cannot be decrypted with the configured keys") from error


def rotate(value: str | None) -> str | None:
    """Re-encrypt with the newest key."""
    if value is None:
        return None
    try:
        return _cipher().rotate(value.encode()).decode()
    except InvalidToken as error:
        raise TokenCipherError("stored token cannot be decrypted with the configured keys") from error


def encrypt_json(data: dict) -> str:
    return encrypt(json.dumps(data))


def decrypt_json(value: str) -> dict:
    return json.loads(decrypt(value))


def generate_key() -> str:
    return Fernet.generate_key().decode()
