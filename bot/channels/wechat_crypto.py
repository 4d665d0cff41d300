"""WeChat message signatures and the AES "safe mode" envelope.

WeChat signs every callback with SHA-1 over the sorted strings
[token, timestamp, nonce] (plus the encrypted body in safe mode), and in safe
mode wraps each message as AES-256-CBC over
16 random bytes + 4-byte big-endian length + message + app id,
PKCS#7-padded to a 32-byte block, with IV = the key's first 16 bytes.
This is Tencent's WXBizMsgCrypt scheme, written against `cryptography`.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    """A message that does not decrypt to something we sent or WeChat signed."""


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 hex of the parts sorted and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(claimed: str, *parts: str) -> bool:
    """Compare in constant time, so a forger learns nothing from timing."""
    return hmac.compare_digest(signature(*parts).encode(), (claimed or "").lower().encode())


def decode_key(encoding_aes_key: str) -> bytes:
    """The 43-character EncodingAESKey is base64 of the 32-byte AES key, minus its '='."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise CryptoError("EncodingAESKey is not base64") from error
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must be 43 characters (a 32-byte key)")
    return key


def _pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    amount = data[-1] if data else 0
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise CryptoError("bad padding")
    return data[:-amount]


class WeChatCipher:
    """Encrypts and decrypts message bodies for one official account."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        self.key = decode_key(encoding_aes_key)
        self.app_id = app_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str) -> str:
        """Base64 ciphertext of `message`, behind 16 fresh random bytes."""
        body = message.encode("utf-8")
        plain = _pad(os.urandom(16) + struct.pack(">I", len(body)) + body + self.app_id.encode("utf-8"))
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The message inside `encrypted`; raises CryptoError unless it is for our app id."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as error:
            raise CryptoError("ciphertext is not base64") from error
        if not data or len(data) % 16:
            raise CryptoError("ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(data) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        body, app_id = plain[20:20 + length], plain[20 + length:]
        if len(body) != length or not hmac.compare_digest(app_id, self.app_id.encode("utf-8")):
            raise CryptoError("message is not for this app id")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CryptoError("message is not UTF-8") from error
