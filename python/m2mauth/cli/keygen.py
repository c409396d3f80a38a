"""``m2mauth keygen``: an RSA key pair with the public JWK a provider's registration asks for."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from ..errors import ConfigError, M2MAuthError
from .common import EXIT_OK, Console, UsageError

_KID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")
PUBLIC_JWK_MEMBERS = ("kty", "e", "kid", "alg", "n")
KEYSTORE_JWK_MEMBERS = ("p", "kty", "q", "d", "e", "kid", "qi", "dp", "alg", "dq", "n")


def _write_file(path: Path, data: bytes, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise ConfigError(
            f"{path} exists already", code="file_exists", hint="Pass --force to replace it, or --out another folder."
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", code="file_unwritable") from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)  # also when --force replaced a file that had another mode
        os.write(fd, data)
    finally:
        os.close(fd)


def cmd_keygen(args: argparse.Namespace, console: Console) -> int:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from ..keys import load_key

    kid: str = args.kid
    if not _KID.match(kid):
        raise UsageError(
            "--kid must be 1-128 characters: letters, digits and . _ : @ + - (starting with a letter or digit)"
        )
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", kid)
    try:
        folder = Path(args.out).expanduser() if args.out else Path.cwd()
    except RuntimeError:  # "~user" with no such user
        raise ConfigError(f"cannot expand {args.out!r}", code="file_unwritable") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {folder}: {exc.strerror}", code="file_unwritable") from None
    paths = {
        "private_key": folder / f"{stem}.private.pem",
        "keystore_jwk": folder / f"{stem}.keystore.jwk.json",
    }
    # Without --out the public JWK goes to stdout only: `keygen --kid X > X.public.jwk.json` (as --help shows)
    # has the shell create that file before keygen runs, so writing it here as well would collide with it.
    if args.out:
        paths["public_jwk"] = folder / f"{stem}.public.jwk.json"
    if not args.force:
        for path in paths.values():
            if path.exists():
                raise ConfigError(
                    f"{path} exists already",
                    code="file_exists",
                    hint="Pass --force to replace it, or --out another folder.",
                )
    private = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = load_key(pem, kid=kid)
    public_jwk = key.public_jwk()
    keystore = key.private_jwk()  # the same JWK code as every other m2mauth export (PyJWT's to_jwk)
    if tuple(public_jwk) != PUBLIC_JWK_MEMBERS or public_jwk["alg"] != "RS256":
        raise M2MAuthError("the public JWK does not have the members OpenAIRE asks for", code="internal_error")
    if tuple(keystore) != KEYSTORE_JWK_MEMBERS or keystore["kid"] != kid:
        raise M2MAuthError("the keystore JWK does not have the expected members", code="internal_error")
    _write_file(paths["private_key"], pem, 0o600, args.force)
    _write_file(paths["keystore_jwk"], (json.dumps(keystore, indent=2) + "\n").encode("ascii"), 0o600, args.force)
    if "public_jwk" in paths:
        _write_file(paths["public_jwk"], (json.dumps(public_jwk, indent=2) + "\n").encode("ascii"), 0o644, args.force)
    console.out(json.dumps(public_jwk, indent=2))
    console.err(f"private key:  {paths['private_key']} (mode 0600; keep it secret, never register or share it)")
    console.err(f"keystore JWK: {paths['keystore_jwk']} (mode 0600; the private key as a JWK, keep it secret)")
    console.err(f"public JWK:   {paths.get('public_jwk', 'stdout only (no --out given)')} (the JSON above)")
    console.err(
        "Register the public JWK above with the provider (OpenAIRE: service registration, Advanced security), "
        f"then: m2mauth token openaire --client-id SERVICE_ID --private-key {paths['private_key']} --key-id {kid}"
    )
    return EXIT_OK
