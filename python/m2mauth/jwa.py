"""JWS algorithms (RFC 7518 §3) as PyJWT implements them: m2mauth signs and verifies nothing itself.

m2mauth decides *which* algorithm a key may use (``Key.check_algorithm``) and *which bytes* are
signed (``jws``); the signature is computed by PyJWT's algorithm objects, a widely used and
audited implementation, on exactly the signing input given. PyJWT is imported on the first
signature, not with ``import m2mauth`` (its import costs tens of milliseconds).

The algorithm objects come from ``jwt.algorithms.get_default_algorithms()``, a fresh table of
PyJWT's own implementations: a program that calls ``jwt.unregister_algorithm`` or registers its
own ``RS256`` for its own tokens does not change what m2mauth signs with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from jwt.algorithms import Algorithm

__all__ = ["SUPPORTED", "algorithm", "sign", "verify"]

#: Every algorithm m2mauth signs with; PyJWT knows more (EdDSA, ES512, none) that m2mauth never uses.
SUPPORTED = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "HS256", "HS384", "HS512",
)  # fmt: skip

_table: dict[str, Algorithm] = {}


def algorithm(alg: str) -> Algorithm:
    """PyJWT's algorithm object for ``alg`` (one of SUPPORTED)."""
    found = _table.get(alg)
    if found is not None:
        return found
    if alg not in SUPPORTED:
        raise ConfigError(
            f"unsupported JWS algorithm {alg!r}",
            code="unsupported_algorithm",
            hint=f"Use one of {', '.join(SUPPORTED)}.",
        )
    from jwt.algorithms import get_default_algorithms

    table = get_default_algorithms()
    missing = [name for name in SUPPORTED if name not in table]
    if missing:  # PyJWT without cryptography has only HS*; m2mauth depends on both
        raise ConfigError(
            f"PyJWT offers no {', '.join(missing)}",
            code="unsupported_algorithm",
            hint="Install m2mauth's dependencies: pip install 'pyjwt[crypto]' cryptography.",
        )
    _table.update({name: table[name] for name in SUPPORTED})
    return _table[alg]


def sign(alg: str, data: bytes, material: Any) -> bytes:
    """Sign ``data`` with a cryptography private key (RS*, PS*, ES*: raw r||s) or secret bytes (HS*).

    The caller has checked that the key fits ``alg``; PyJWT's text never reaches the user.
    """
    implementation = algorithm(alg)
    try:
        signature: bytes = implementation.sign(data, material)
        return signature
    except Exception as exc:  # noqa: BLE001 - PyJWT's and cryptography's texts are replaced by m2mauth's below
        failed = type(exc).__name__
    # Raised after the except block, so no library exception stays attached as its context.
    raise ConfigError(
        f"signing with {alg} failed ({failed})",
        code="signing_failed",
        hint="Check that the key is a whole private key of the kind the algorithm needs.",
    )


def verify(alg: str, data: bytes, signature: bytes, material: Any) -> bool:
    """True when ``signature`` over ``data`` is valid for ``alg``; any failure is False, never a library error."""
    implementation = algorithm(alg)
    try:
        return bool(implementation.verify(data, material, signature))
    except Exception:  # noqa: BLE001 - a signature that cannot be checked is not valid
        return False
