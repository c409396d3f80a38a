"""A fingerprint of secret material that does not reveal it: HMAC-SHA256 under a random key.

Cache keys must change when a client secret, password, HMAC secret, private key or refresh
token changes (else a wrong secret would get the token cached for the right one), yet store
file names and Redis keys must not let anyone test guesses of a secret offline. A bare hash
would (hash the guess, compare); a keyed hash does not without the key, which is random,
created once per store (a 0600 file in its folder, or a Redis key) or per data folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .credentials import Credentials

__all__ = ["FINGERPRINT_KEY_FILE", "fingerprint", "key_from_file", "secret_material"]

FINGERPRINT_KEY_FILE = "fingerprint.key"
KEY_BYTES = 32


def key_from_file(folder: Path) -> bytes:
    """The random key kept in ``folder/fingerprint.key`` (mode 0600, hex text), created on first use.

    Two processes creating it at once both end with the same key: the file is created with
    O_EXCL, and the loser reads the winner's.
    """
    from .folders import make_private_dir

    path = folder / FINGERPRINT_KEY_FILE
    for _ in range(3):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            raise _unusable(path, exc) from None
        key = _parse_key(data)
        if key is not None:
            return key
        if data:  # truncated or foreign content: never use a short key; replace it
            with contextlib.suppress(OSError):
                path.unlink()
        key = secrets.token_bytes(KEY_BYTES)
        try:
            make_private_dir(folder)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except FileExistsError:
            continue  # another process won the race: read its key
        except OSError as exc:
            raise _unusable(path, exc) from None
        try:
            os.write(fd, key.hex().encode("ascii") + b"\n")  # text, like every other file m2mauth keeps
            os.fsync(fd)
        finally:
            os.close(fd)
        return key
    raise ConfigError(f"cannot create the fingerprint key {path}", code="store_unwritable")


def _parse_key(data: bytes) -> bytes | None:
    text = data.strip()
    if len(text) != 2 * KEY_BYTES:
        return None
    try:
        return bytes.fromhex(text.decode("ascii"))
    except ValueError:  # not hex (UnicodeDecodeError is a ValueError too)
        return None


def _unusable(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot use the fingerprint key {path}: {exc.strerror or type(exc).__name__}",
        code="store_unwritable",
        hint="Use a folder you can write to (store=FileStore(path), --store DIR or M2MAUTH_HOME).",
    )


def _public_part(value: Any, password: str | None, kid: str | None) -> bytes:
    """A private key stands for its public part (the same key given as PEM, JWK or path matches)."""
    from .keys import load_key

    try:
        key = load_key(value, password=password, kid=kid)
    except ConfigError:
        # Unreadable here: the token request will say why. Stand for the input as given.
        return b"unparsed:" + (value if isinstance(value, bytes) else repr(value).encode("utf-8", "replace"))
    if key.kind == "oct":
        return b"oct:" + (key._secret or b"")
    jwk = {k: v for k, v in key.public_jwk().items() if k not in ("kid", "alg")}
    return json.dumps(jwk, sort_keys=True).encode("ascii")


def secret_material(creds: Credentials) -> list[tuple[str, bytes]]:
    """The secret parts of ``creds``, by name, as bytes (only those given)."""
    parts: list[tuple[str, bytes]] = []
    for name in (
        "client_secret",
        "password",
        "secret",
        "refresh_token",
        "application_token",
        "access_token",
        "subject_token",
    ):
        value = creds.get(name)
        if isinstance(value, str) and value:
            parts.append((name, value.encode("utf-8", "surrogatepass")))
    if creds.private_key is not None:
        parts.append(("private_key", _public_part(creds.private_key, creds.key_password, creds.key_id)))
    if creds.service_key is not None:
        from .keys import load_service_key

        try:
            service = load_service_key(creds.service_key, password=creds.key_password)
        except ConfigError:
            parts.append(("service_key", b"unparsed:" + repr(creds.service_key).encode("utf-8", "replace")))
        else:
            jwk = {k: v for k, v in service.key.public_jwk().items() if k not in ("kid", "alg")}
            parts.append(("service_key", json.dumps(jwk, sort_keys=True).encode("ascii")))
    return parts


def fingerprint(key: bytes, parts: list[tuple[str, bytes]]) -> str | None:
    """HMAC-SHA256 of the named parts (length-prefixed, so no two lists collide); None if empty."""
    if not parts:
        return None
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for name, value in parts:
        for piece in (name.encode("ascii"), value):
            mac.update(len(piece).to_bytes(8, "big"))
            mac.update(piece)
    return mac.hexdigest()[:32]
