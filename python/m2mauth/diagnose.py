"""Say in plain words what is wrong with a JWT grant or a failed token exchange.

``inspect`` decodes a JWT without trusting it and checks it against a profile; ``explain``
turns a token endpoint's answer (an error, a response, a body) into the provider's fix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .arguments import check_options
from .errors import ConfigError, M2MAuthError, TokenEndpointError
from .jws import b64url_decode
from .keys import Key
from .profiles import AssertionTemplate, Profile, load_profile
from .tokens import error_from_response, redact_text

__all__ = ["Diagnosis", "Explanation", "Finding", "explain", "inspect"]

KNOWN_HEADER_MEMBERS = frozenset({"alg", "typ", "kid", "cty", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"})
CLOCK_LEEWAY = 60
_HMAC_SIZES = {"HS256": 32, "HS384": 48, "HS512": 64}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # "error", "warning" or "info"
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.code}: {self.message}"
        return text + (f"\n    fix: {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class Diagnosis:
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "claims": self.claims,
            "ok": self.ok,
            "findings": [
                {"code": f.code, "severity": f.severity, "message": f.message, "hint": f.hint} for f in self.findings
            ],
        }

    def __str__(self) -> str:
        lines = [
            "header: " + json.dumps(self.header, ensure_ascii=False),
            "claims: " + json.dumps(self.claims, ensure_ascii=False),
        ]
        lines += [str(f) for f in self.findings] or ["no problems found"]
        return "\n".join(lines)


def _template(profile: Profile | None) -> AssertionTemplate | None:
    if profile is None:
        return None
    for flow in profile.flows:
        if flow.assertion is not None:
            return flow.assertion
    # No grant template: a client assertion (RFC 7523 §3): iss = sub = client_id, aud = token URL, jti.
    if any("private_key_jwt" in f.auth_methods for f in profile.flows):
        return AssertionTemplate("{client_id}", "{token_url}", "{client_id}", ("RS256",), 300, None, None, True)
    if any("client_secret_jwt" in f.auth_methods for f in profile.flows):
        return AssertionTemplate("{client_id}", "{token_url}", "{client_id}", ("HS256",), 300, None, None, True)
    return None


def _decode_part(part: str, what: str) -> tuple[dict[str, Any] | None, Finding | None]:
    try:
        raw = b64url_decode(part)
    except M2MAuthError:
        return None, Finding("invalid_base64", "error", f"the {what} is not base64url")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, Finding("invalid_json", "error", f"the {what} is not JSON")
    if not isinstance(value, dict):
        return None, Finding("invalid_json", "error", f"the {what} is not a JSON object")
    return value, None


def _int(value: Any) -> int | None:
    # Times beyond ±1e12 s are nonsense (and overflow float arithmetic): treated as not an integer time.
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**12:
        return value
    return None


def inspect(
    jwt: str,
    profile: str | Profile | None = None,
    *,
    now: float | None = None,
    key: Key | None = None,
    token_url: str | None = None,
) -> Diagnosis:
    """Decode a JWT without trusting it and list what is wrong, each with the fix."""
    check_options(now=now, key=key, token_url=token_url)
    findings: list[Finding] = []
    prof = load_profile(profile) if profile is not None else None
    text = jwt.strip() if isinstance(jwt, str) else ""
    parts = text.split(".")
    if len(parts) != 3:
        return Diagnosis(
            findings=(
                Finding(
                    "not_a_jwt",
                    "error",
                    f"a compact JWT has 3 dot-separated parts; this has {len(parts)}",
                    "Pass the assertion string itself (header.claims.signature).",
                ),
            )
        )
    header, problem = _decode_part(parts[0], "header")
    if problem:
        findings.append(problem)
    claims, problem = _decode_part(parts[1], "claim set")
    if problem:
        findings.append(problem)
    header, claims = header or {}, claims or {}
    try:
        signature = b64url_decode(parts[2])
    except M2MAuthError:
        signature = b""
        findings.append(Finding("invalid_base64", "error", "the signature is not base64url"))
    alg = header.get("alg") if isinstance(header.get("alg"), str) else None
    template = _template(prof)
    wanted = template.algorithms if template else None

    odd = sorted(k for k in header if k not in KNOWN_HEADER_MEMBERS)
    for member in odd:
        if member.startswith("alg."):
            findings.append(
                Finding(
                    "duplicate_alg_header",
                    "error",
                    f"the header has {member!r} = {header[member]!r} beside alg = {alg!r}: two 'alg' values were given "
                    f"and one was renamed, so the token is really {alg}",
                    'This is what httr2::jwt_encode_hmac(..., header = list(alg = "RS256")) produces: the signature is '
                    "still HMAC. Sign with the RSA key instead "
                    "(m2m_sign_jwt() or m2m_token() pick RS256 from the key).",
                )
            )
        else:
            findings.append(Finding("unknown_header_member", "warning", f"the header has an unusual member {member!r}"))
    if alg is None:
        findings.append(Finding("missing_alg", "error", "the header has no 'alg'"))
    elif alg.lower() == "none":
        findings.append(Finding("unsigned", "error", "the JWT is unsigned (alg none)", "Sign it with the key."))
    elif wanted and alg not in wanted:
        if alg.startswith("HS") and any(a.startswith(("RS", "PS")) for a in wanted):
            findings.append(
                Finding(
                    "hmac_instead_of_rsa",
                    "error",
                    f"signed {alg} (HMAC) but {prof.name if prof else 'the provider'} only accepts {', '.join(wanted)}",
                    "Sign with the RSA private key using RS256. An HMAC over the PEM text is what "
                    "httr2::jwt_encode_hmac() makes; the server answers 'Only RS256 signature algorithm is supported'.",
                )
            )
        else:
            findings.append(
                Finding(
                    "algorithm_not_allowed",
                    "error",
                    f"signed {alg} but the provider accepts {', '.join(wanted)}",
                    f"Sign with {wanted[0]}.",
                )
            )
    if alg in _HMAC_SIZES and len(signature) != _HMAC_SIZES[alg] and signature:
        findings.append(
            Finding(
                "signature_size_mismatch",
                "error",
                f"alg says {alg} but the signature is {len(signature)} bytes, not {_HMAC_SIZES[alg]}",
            )
        )
    if alg and alg[:2] in ("RS", "PS") and signature and len(signature) in _HMAC_SIZES.values():
        findings.append(
            Finding(
                "signature_size_mismatch",
                "error",
                f"alg says {alg} but the signature is {len(signature)} bytes, the size of an HMAC: it was made with a "
                "shared secret, not an RSA key (an RSA-2048 signature is 256 bytes)",
                "Sign with the RSA private key; relabelling an HMAC token as RS256 does not make it one.",
            )
        )

    if claims:
        _check_claims(claims, prof, template, now, token_url, findings)
    if key is not None and alg and signature:
        if not key.verify(parts[0].encode() + b"." + parts[1].encode(), signature, alg):
            findings.append(
                Finding(
                    "bad_signature",
                    "error",
                    f"the signature does not verify with the given {key.describe()}",
                    "Sign with the private key that matches the registered public key.",
                )
            )
    return Diagnosis(header, claims, tuple(findings))


def _check_claims(
    claims: Mapping[str, Any],
    prof: Profile | None,
    template: AssertionTemplate | None,
    now: float | None,
    token_url: str | None,
    findings: list[Finding],
) -> None:
    now = time.time() if now is None else now
    required = ["iss", "aud", "iat", "exp"]
    if template is not None:
        if template.subject:
            required.insert(1, "sub")
        if template.jti:
            required.append("jti")
    missing = [c for c in required if c not in claims]
    if missing:
        findings.append(
            Finding(
                "missing_claim",
                "error",
                f"missing claim(s): {', '.join(missing)}",
                "An RFC 7523 grant needs iss, aud, exp (and iat for most providers"
                + (", sub" if "sub" in missing else "")
                + (", jti" if "jti" in missing else "")
                + ").",
            )
        )
    iat, exp, nbf = _int(claims.get("iat")), _int(claims.get("exp")), _int(claims.get("nbf"))
    for name in ("iat", "exp", "nbf"):
        if name in claims and _int(claims.get(name)) is None:
            findings.append(
                Finding(
                    "invalid_claim",
                    "error",
                    f"{name} must be an integer number of seconds since 1970",
                    "Use whole seconds (not milliseconds, not a date string).",
                )
            )
    if iat is not None and exp is not None:
        if exp <= iat:
            findings.append(Finding("exp_before_iat", "error", f"exp ({exp}) is not after iat ({iat})"))
        cap = template.max_lifetime if template else None
        if cap is not None and exp - iat > cap:
            findings.append(
                Finding(
                    "lifetime_exceeded",
                    "error",
                    f"exp - iat is {exp - iat} s; the cap is {cap} s",
                    f"Set exp at most {cap} s after iat.",
                )
            )
    if exp is not None and exp < now - CLOCK_LEEWAY:
        findings.append(
            Finding(
                "expired",
                "error",
                f"the JWT expired {int(now - exp)} s ago",
                "Make a fresh one for each request; check your clock if this is unexpected.",
            )
        )
    if iat is not None and iat > now + CLOCK_LEEWAY:
        findings.append(
            Finding(
                "issued_in_future",
                "error",
                f"iat is {int(iat - now)} s in the future",
                "Your clock is ahead of the real time: sync it (NTP).",
            )
        )
    if nbf is not None and nbf > now + CLOCK_LEEWAY:
        findings.append(Finding("not_yet_valid", "error", f"nbf is {int(nbf - now)} s in the future"))
    expected_aud = token_url or (prof.token_url if prof else None)
    aud = claims.get("aud")
    if expected_aud and aud is not None:
        audiences = aud if isinstance(aud, list) else [aud]
        if expected_aud not in audiences:
            findings.append(
                Finding(
                    "audience_mismatch",
                    "error",
                    f"aud is {aud!r}, not the token URL {expected_aud!r}",
                    f"Set aud to {expected_aud}.",
                )
            )
    if (
        template is not None
        and template.subject == "{client_id}"
        and "iss" in claims
        and claims.get("sub") != claims["iss"]
    ):
        findings.append(
            Finding("subject_mismatch", "error", "a client assertion needs sub equal to iss (the client id)")
        )


@dataclass(frozen=True)
class Explanation:
    code: str
    message: str
    hint: str | None = None
    status: int | None = None
    error: str | None = None
    error_description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "status": self.status,
            "error": self.error,
            "error_description": self.error_description,
        }

    def __str__(self) -> str:
        return self.message + (f"\nFix: {self.hint}" if self.hint else "")


def explain(error_or_response: Any, profile: str | Profile | None = None, *, status: int | None = None) -> Explanation:
    """Explain a failed exchange: an m2mauth error, a requests.Response, a parsed body or its text."""
    check_options(status=status)
    prof = load_profile(profile) if profile is not None else None
    err: M2MAuthError
    if isinstance(error_or_response, M2MAuthError):
        err = error_or_response
    elif hasattr(error_or_response, "status_code") and hasattr(error_or_response, "content"):
        response = error_or_response
        err = error_from_response(int(response.status_code), response.content, response.headers.get("Content-Type"))
    elif isinstance(error_or_response, Mapping):
        err = error_from_response(status or 400, json.dumps(dict(error_or_response), default=str), "application/json")
    elif isinstance(error_or_response, (str, bytes)):
        err = error_from_response(status or 400, error_or_response)
    else:
        raise ConfigError(
            f"cannot explain a {type(error_or_response).__name__}",
            code="invalid_argument",
            hint="Pass an m2mauth error, a requests.Response, a parsed error body (dict) or its text.",
        )
    if isinstance(err, TokenEndpointError):
        # A 405 is about the URL and the method, not the request body: a provider's hint for its
        # error code (often body encoding, for invalid_request) would send the user the wrong way.
        found = prof.hint_for(err.error, err.error_description, err.status) if prof and err.status != 405 else None
        code = found.code if found else (err.provider_code or err.code)
        return Explanation(
            code,
            redact_text(err.message),
            found.hint if found else err.hint,
            err.status,
            err.error,
            err.error_description,
        )
    return Explanation(err.code, redact_text(err.message), err.hint)
