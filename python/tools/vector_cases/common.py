"""What every vector case module shares: the fixed clock, test secrets, key files and the case records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOW = 1767225600  # 2026-01-01T00:00:00Z
SPECIAL_SECRET = "s3:cr%t+é 🔑"
CE_SECRET = "m2mauth-test-ce-secret"

KEY_FILES = {
    "rsa": "keys/test-rsa-2048.pkcs8.pem",
    "ec": "keys/test-ec-p256.pkcs8.pem",
    "hmac": "keys/test-hmac.secret",
    "service_key": "keys/test-clms-service-key.json",
    "rsa_jwk": "keys/test-rsa-2048.jwk.json",
}


#: The HMAC test key's text, as a client secret (client_secret_jwt cases whose group key is "hmac").
HMAC_SECRET = (Path(__file__).resolve().parents[3] / "spec" / KEY_FILES["hmac"]).read_text(encoding="utf-8")


def key_ref(name: str) -> dict[str, str]:
    return {"file": KEY_FILES[name]}


@dataclass
class Case:
    comment: str
    input: dict[str, Any]
    flags: list[str]
    key: str | None = None  # which KEY_FILES entry signs the JWS in this case
    expect_error: str | None = None
    inspect_error: str | None = None  # for JWS cases judged by inspect()
    claims_override: dict[str, Any] = field(default_factory=dict)


@dataclass
class VectorFile:
    name: str
    header: list[str]
    group_type: str
    key: str | None
    cases: list[Case]
    profile: str | None = None
