"""Request authentication as Encord does it: v2 HTTP message signatures, legacy body signatures and
bearer tokens, all checked against the registered ed25519 public keys and issued tokens.

Keys are identified the way the SDK names them: the raw 32-byte public key as lowercase hex.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_SIG_INPUT = re.compile(r"^encord-sig=\((?P<components>[^)]*)\)(?P<params>.*)$")
_SIG_VALUE = re.compile(r"^encord-sig=:(?P<b64>[A-Za-z0-9+/=]*):$")
_PARAM = re.compile(r';([a-z]+)=("?[^;"]*"?)')
MAX_CLOCK_SKEW_SECONDS = 300


class AuthFailure(Exception):
    """The request is not authenticated; the message says why (never echoes secrets)."""


def public_key_hex(public_key_text: str) -> str:
    """`ssh-ed25519 AAAA...` (or 64 hex chars) -> the SDK's key id."""
    text = public_key_text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return text.lower()
    key = serialization.load_ssh_public_key(text.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("only ssh-ed25519 public keys are supported (Encord signs with ed25519)")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def generate_key_pair() -> tuple[str, str]:
    """(OpenSSH private key text, `ssh-ed25519 ...` public key line), made fresh at runtime."""
    private = Ed25519PrivateKey.generate()
    private_text = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public_text = (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private_text, public_text


@dataclass
class KeyRing:
    """Registered public keys and bearer tokens, each mapped to a user email."""

    keys: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict, repr=False)  # secrets

    def add_key(self, public_key_text: str, user: str = "user@example.com") -> str:
        key_id = public_key_hex(public_key_text)
        self.keys[key_id] = user
        return key_id

    def add_token(self, token: str | None = None, user: str = "user@example.com") -> str:
        token = token or secrets.token_urlsafe(32)
        self.tokens[token] = user
        return token

    def bearer(self, authorization: str | None) -> str | None:
        """The user of a `Bearer` header, None when the header is not a bearer token."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        user = self.tokens.get(authorization[len("Bearer ") :].strip())
        if user is None:
            raise AuthFailure("unknown or expired bearer token")
        return user

    def verify_v2(
        self, method: str, raw_target: str, headers: Mapping[str, str], body: bytes
    ) -> str:
        """Check an RFC 9421-style `encord-sig` signature; returns the user."""
        user = self.bearer(headers.get("authorization"))
        if user is not None:
            return user
        signature_input = headers.get("signature-input")
        signature = headers.get("signature")
        digest = headers.get("content-digest")
        if not (signature_input and signature and digest):
            raise AuthFailure(
                "request is not signed: Signature, Signature-Input or Content-Digest missing"
            )
        expected_digest = (
            "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        )
        if digest != expected_digest:
            raise AuthFailure("Content-Digest does not match the request body")
        match = _SIG_INPUT.match(signature_input)
        signature_match = _SIG_VALUE.match(signature)
        if match is None or signature_match is None:
            raise AuthFailure("malformed Signature or Signature-Input header")
        params = {k: v.strip('"') for k, v in _PARAM.findall(match.group("params"))}
        if params.get("alg") != "ed25519":
            raise AuthFailure("signature algorithm must be ed25519")
        try:
            created = int(params.get("created", ""))
        except ValueError:
            raise AuthFailure("signature has no valid 'created' time") from None
        if abs(time.time() - created) > MAX_CLOCK_SKEW_SECONDS:
            raise AuthFailure("signature is stale (created more than 5 minutes from now)")
        key_id = params.get("keyid", "")
        user = self.keys.get(key_id)
        if user is None:
            raise AuthFailure("the signing key is not registered with this organisation")
        values = {
            '"@method"': method.upper(),
            '"@request-target"': raw_target,
            '"content-digest"': digest,
        }
        lines = []
        for component in match.group("components").split(" "):
            if component not in values:
                raise AuthFailure(f"unsupported signature component {component}")
            lines.append(f"{component}: {values[component]}")
        lines.append('"@signature-params": ' + signature_input[len("encord-sig=") :])
        self._verify(
            key_id, base64.b64decode(signature_match.group("b64")), "\n".join(lines).encode()
        )
        return user

    def verify_legacy(self, authorization: str | None, body: bytes) -> str:
        """Check `Authorization: <pubhex>:<sighex>` over sha256(body); returns the user."""
        user = self.bearer(authorization)
        if user is not None:
            return user
        if not authorization or ":" not in authorization:
            raise AuthFailure("request is not signed: Authorization header missing")
        key_id, _, signature_hex = authorization.partition(":")
        user = self.keys.get(key_id.lower())
        if user is None:
            raise AuthFailure("the signing key is not registered with this organisation")
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            raise AuthFailure("signature is not hex") from None
        self._verify(key_id.lower(), signature, hashlib.sha256(body).digest())
        return user

    @staticmethod
    def _verify(key_id: str, signature: bytes, message: bytes) -> None:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_id)).verify(signature, message)
        except (InvalidSignature, ValueError):
            raise AuthFailure("signature does not verify") from None
