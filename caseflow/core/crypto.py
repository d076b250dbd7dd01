"""Field encryption with SM4-GCM and a blind index with HMAC-SM3.

A protected value is stored as ``sm4gcm$<key id>$<base64 nonce|ciphertext|tag>``. The key
id is the first 8 hex digits of SM3 over the key, so a value names the key that sealed
it: after a rotation old and new values can be read side by side while both keys are
configured, which is what makes ``caseflow keys rotate`` safe to interrupt.

The blind index is HMAC-SM3 under a key derived from the data key, over the normalised
value; equal inputs give equal indexes, nothing can be read back from it.
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PREFIX = "sm4gcm"
NONCE_BYTES = 12
TAG_BYTES = 16


class KeyError_(ValueError):
    """A key is malformed or a value was sealed with a key we do not hold."""


def parse_key(text: str) -> bytes:
    cleaned = text.strip()
    try:
        raw = binascii.unhexlify(cleaned)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise KeyError_("a data key is 32 hex digits (16 bytes, SM4's key size)")
    return raw


def generate_key() -> str:
    return os.urandom(16).hex()


def key_id(key: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(key)
    return digest.finalize().hex()[:8]


@dataclass(frozen=True)
class FieldCipher:
    current: bytes
    previous: tuple[bytes, ...] = ()

    @classmethod
    def from_config(cls, current: str, previous: str = "") -> FieldCipher:
        old = tuple(parse_key(k) for k in previous.split(",") if k.strip())
        return cls(parse_key(current), old)

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def _keys(self) -> dict[str, bytes]:
        keys = {key_id(k): k for k in self.previous}
        keys[self.current_id] = self.current
        return keys

    def encrypt(self, plaintext: str | None, *, context: str) -> str | None:
        """Seal ``plaintext``; ``context`` (the column) is bound in as associated data so
        a value copied into another column does not decrypt."""
        if plaintext is None or plaintext == "":
            return None
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(algorithms.SM4(self.current), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(context.encode())
        body = encryptor.update(plaintext.encode()) + encryptor.finalize()
        token = base64.b64encode(nonce + body + encryptor.tag).decode()
        return f"{PREFIX}${self.current_id}${token}"

    def decrypt(self, sealed: str | None, *, context: str) -> str | None:
        if sealed is None:
            return None
        try:
            prefix, kid, token = sealed.split("$", 2)
        except ValueError as exc:
            raise KeyError_("not a sealed value") from exc
        if prefix != PREFIX:
            raise KeyError_("not a sealed value")
        key = self._keys().get(kid)
        if key is None:
            raise KeyError_(
                f"the value was sealed with key {kid}, which is not configured "
                "(CASEFLOW_DATA_KEY or CASEFLOW_DATA_KEY_PREVIOUS)"
            )
        raw = base64.b64decode(token)
        nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(context.encode())
        try:
            return (decryptor.update(body) + decryptor.finalize()).decode()
        except InvalidTag as exc:
            raise KeyError_("the value does not authenticate: wrong key or altered data") from exc

    def sealed_with_current(self, sealed: str | None) -> bool:
        return sealed is None or sealed.split("$", 2)[1] == self.current_id

    def blind_index(self, value: str | None, *, context: str) -> str | None:
        if not value:
            return None
        derive = hmac.HMAC(self.current, hashes.SM3())
        derive.update(b"caseflow blind index key")
        index_key = derive.finalize()
        mac = hmac.HMAC(index_key, hashes.SM3())
        mac.update(context.encode() + b"\x00" + value.encode())
        return mac.finalize().hex()


def cipher_for_app(app=None) -> FieldCipher:
    from flask import current_app

    app = app or current_app
    cached = app.extensions.get("caseflow_cipher")
    if cached is None:
        cached = FieldCipher.from_config(
            app.config["CASEFLOW_DATA_KEY"], app.config.get("CASEFLOW_DATA_KEY_PREVIOUS", "")
        )
        app.extensions["caseflow_cipher"] = cached
    return cached
