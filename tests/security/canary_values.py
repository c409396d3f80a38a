"""The canaries of the security run (issue 5, part 4) and the forms they take on the way out.

The canary run (test_canary_*.py) goes through every flow, error path and CLI command.

Recognisable canaries stand in for every kind of secret a user hands to m2mauth: a client secret, an
HMAC secret, a password, a refresh token, a key passphrase and a freshly generated RSA private key
(each line of its PEM body, and its ``d``, ``p`` and ``q`` as base64url, are canaries). The access,
refresh and ID tokens and the device codes the local provider issues are canaries too: they are read
from the provider's side (its state) and from the returned Tokens.

Every flow of every profile runs through ``fetch_token``, ``TokenSource`` (with a FileStore), ``Auth``,
``session`` (and ``HttpxAuth``), ``login``/``logout``; every error path is provoked; every CLI command
runs in-process and once in a subprocess. Logs are captured at DEBUG for all loggers (urllib3 too),
stdout and stderr at the file-descriptor level (capfd) for the library and through capsys for the CLI,
plus the repr and str of every object returned and the str, repr and full formatted traceback of every
error. A canary may appear nowhere, in any of the forms it can take on the way out (as is, percent- or
JSON-escaped, inside base64 such as a Basic header). The only exceptions are the tokens a user asked
for: the access token ``m2mauth token`` prints (and its refresh token with ``--json --show-secrets``)
and the token records in the token store, whose files must hold tokens only, with mode 0600 in 0700
folders.

The canaries are built from short runs between punctuation, so ``redact_text`` (which masks long
base64url runs) cannot hide a leak that the code's structure lets through.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# -- canaries and the forms they take on the way out ----------------------------------------------


def canary(kind: str) -> str:
    """A recognisable secret; its runs of [A-Za-z0-9_-] stay short (see the module docstring)."""
    return f"CANARY~{kind}~{secrets.token_hex(4)}!{secrets.token_hex(3)}"


def b64_cores(data: bytes) -> set[str]:
    """The base64 text of ``data`` that does not depend on its neighbours, for each of the 3 alignments."""
    out: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(data)) // 6]
        out |= {core, core.translate(str.maketrans("+/", "-_"))}
    return out


def text_needles(value: str) -> set[str]:
    """A text secret as it could show up: as is, escaped for URLs, JSON or repr, and inside base64."""
    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        value.encode("unicode_escape").decode("ascii"),
    }
    out = set(forms)
    for form in forms:
        out |= b64_cores(form.encode("utf-8"))
    return {needle for needle in out if len(needle) >= 12}


def b64url_int(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def pem_lines(pem: str | bytes) -> set[str]:
    text = pem.decode("ascii") if isinstance(pem, bytes) else pem
    return {line.strip() for line in text.splitlines() if "-----" not in line and len(line.strip()) >= 16}


def private_pem_lines(key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat) -> set[str]:
    """The PEM body lines that encode a byte of a private number (lines holding only n and e are public:
    they may appear, e.g. as the n of a public JWK)."""
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode("ascii")
    lines = [line for line in pem.splitlines() if "-----" not in line]
    der = base64.b64decode("".join(lines))
    numbers = key.private_numbers()
    spans: list[tuple[int, int]] = []
    for number in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp):
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        at = der.find(raw)
        assert at >= 0
        spans.append((at, at + len(raw)))
    per_line = 48  # 64 base64 characters
    return {
        line
        for index, line in enumerate(lines)
        if len(line) >= 16 and any(start < (index + 1) * per_line and index * per_line < end for start, end in spans)
    }


def key_needles(key: rsa.RSAPrivateKey) -> set[str]:
    """Private key material: the PEM body lines (PKCS#8 and PKCS#1) and the private numbers."""
    out: set[str] = set()
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        out |= private_pem_lines(key, fmt)
    numbers = key.private_numbers()
    for number in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp):
        out |= {b64url_int(number), str(number), format(number, "x")}
    return out


def new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs8(key: rsa.RSAPrivateKey, passphrase: str | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if passphrase is not None:
        encryption = serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


@dataclass(frozen=True)
class Canaries:
    client_secret: str
    hmac_secret: str
    password: str
    refresh_token: str
    key_passphrase: str
    wrong_secret: str  # what a user mistypes: a secret too, never to be shown
    key: rsa.RSAPrivateKey  # registered with the provider (OpenAIRE advanced, generic private_key_jwt)
    other_key: rsa.RSAPrivateKey  # a key nobody registered (wrong-key paths)
    pem: str
    encrypted_pem: str
    other_pem: str

    @classmethod
    def make(cls) -> Canaries:
        key, other = new_rsa(), new_rsa()
        passphrase = canary("key passphrase")
        return cls(
            client_secret=canary("client.secret"),
            hmac_secret=canary("hmac.secret"),
            password=canary("pass word"),  # a space: form-encoded as '+'
            refresh_token=canary("refresh.token"),
            key_passphrase=passphrase,
            wrong_secret=canary("wrong.secret"),
            key=key,
            other_key=other,
            pem=pkcs8(key),
            encrypted_pem=pkcs8(key, passphrase),
            other_pem=pkcs8(other),
        )

    def needles(self) -> dict[str, set[str]]:
        texts = {
            "client secret": self.client_secret,
            "HMAC secret": self.hmac_secret,
            "password": self.password,
            "refresh token": self.refresh_token,
            "key passphrase": self.key_passphrase,
            "wrong secret": self.wrong_secret,
        }
        out = {label: text_needles(value) for label, value in texts.items()}
        out["private key"] = key_needles(self.key) | pem_lines(self.encrypted_pem)
        out["other private key"] = key_needles(self.other_key)
        return out
