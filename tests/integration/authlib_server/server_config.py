"""Reading the JSON configuration into a ServerState."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from joserfc.jwk import Key, KeySet, OctKey, import_key
from models import Client
from protocol import AUTH_METHODS, JWT_BEARER, KNOWN_GRANTS
from server_state import ServerState


class ConfigError(ValueError):
    """The configuration file is not usable."""


def _require_str(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{name}' must be a non-empty string")
    return value


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: expires_in must be a positive integer")
    return value


def _str_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def _import_public_keys(entry: Mapping[str, Any], where: str) -> Key | KeySet:
    """Import verification keys: a JWKS, a single JWK, or an HMAC secret."""
    if "jwks" in entry:
        jwks = entry["jwks"]
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ConfigError(f"{where}: 'jwks' must be an object with a 'keys' list")
        for key in jwks["keys"]:
            if isinstance(key, dict) and key.get("kty") != "oct" and "d" in key:
                raise ConfigError(f"{where}: 'jwks' must hold public keys only")
        key_set: KeySet = KeySet.import_key_set(cast(Any, jwks))
        return key_set
    if "jwk" in entry:
        jwk = entry["jwk"]
        if not isinstance(jwk, dict):
            raise ConfigError(f"{where}: 'jwk' must be an object")
        if jwk.get("kty") != "oct" and "d" in jwk:
            raise ConfigError(f"{where}: 'jwk' must be a public key")
        single: Key = import_key(cast(Any, jwk))
        return single
    if "secret" in entry:
        oct_key: OctKey = OctKey.import_key(_require_str(entry, "secret", where))
        return oct_key
    raise ConfigError(f"{where}: needs 'jwks', 'jwk' or 'secret'")


def load_state(config: Mapping[str, Any]) -> ServerState:
    """Build the in-memory state from the parsed configuration."""
    default_expires = _positive_int(config.get("expires_in", 3600), "config")
    clients: dict[str, Client] = {}
    for index, entry in enumerate(config.get("clients", [])):
        where = f"clients[{index}]"
        client_id = _require_str(entry, "client_id", where)
        method = entry.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in AUTH_METHODS:
            raise ConfigError(f"{where}: unknown token_endpoint_auth_method {method!r}")
        secret = entry.get("client_secret")
        if secret is not None and not isinstance(secret, str):
            raise ConfigError(f"{where}: client_secret must be a string")
        needs_secret = (
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
        )
        if method in needs_secret and not secret:
            raise ConfigError(f"{where}: {method} needs a client_secret")
        verify_key: Key | KeySet | None = None
        if method == "client_secret_jwt":
            verify_key = OctKey.import_key(cast(str, secret))
        elif method == "private_key_jwt":
            if "jwks" not in entry and "jwk" not in entry:
                raise ConfigError(f"{where}: private_key_jwt needs 'jwks'")
            verify_key = _import_public_keys({k: v for k, v in entry.items() if k in ("jwks", "jwk")}, where)
        grant_types = frozenset(_str_list(entry.get("grant_types", ["client_credentials"]), where))
        unknown = grant_types - KNOWN_GRANTS
        if unknown:
            raise ConfigError(f"{where}: unsupported grant types {sorted(unknown)}")
        if client_id in clients:
            raise ConfigError(f"{where}: duplicate client_id")
        clients[client_id] = Client(
            client_id=client_id,
            client_secret=secret,
            token_endpoint_auth_method=method,
            grant_types=grant_types,
            scope=" ".join(_str_list(entry.get("scope", ""), where)),
            expires_in=_positive_int(entry.get("expires_in", default_expires), where),
            verify_key=verify_key,
        )

    issuers: dict[str, Client] = {}
    issuer_entries = config.get("issuers", [])
    if isinstance(issuer_entries, dict):  # {"iss": {...}} is accepted as well
        issuer_entries = [{"iss": iss, **entry} for iss, entry in issuer_entries.items()]
    for index, entry in enumerate(issuer_entries):
        where = f"issuers[{index}]"
        iss = _require_str(entry, "iss", where)
        subjects = _str_list(entry.get("subjects", []), where)
        if "subject" in entry:
            subjects.append(_require_str(entry, "subject", where))
        issuers[iss] = Client(
            client_id=iss,
            client_secret=None,
            token_endpoint_auth_method="none",
            grant_types=frozenset({JWT_BEARER}),
            scope=" ".join(_str_list(entry.get("scope", ""), where)),
            expires_in=_positive_int(entry.get("expires_in", default_expires), where),
            verify_key=_import_public_keys(entry, where),
            subjects=frozenset(subjects),
            is_issuer=True,
        )

    users: dict[str, str] = {}
    for index, entry in enumerate(config.get("users", [])):
        where = f"users[{index}]"
        users[_require_str(entry, "username", where)] = _require_str(entry, "password", where)

    algorithms = config.get("assertion_algorithms")
    if algorithms is not None:
        algorithms = _str_list(algorithms, "assertion_algorithms")
        if "none" in algorithms:
            raise ConfigError("assertion_algorithms: 'none' is never allowed")
    leeway = config.get("leeway", 60)
    if isinstance(leeway, bool) or not isinstance(leeway, int) or leeway < 0:
        raise ConfigError("leeway must be a non-negative integer")
    delay = config.get("token_delay", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 30:
        raise ConfigError("token_delay must be a number of seconds between 0 and 30")
    return ServerState(
        clients=clients,
        issuers=issuers,
        users=users,
        default_expires_in=default_expires,
        leeway=leeway,
        token_delay=float(delay),
        assertion_algorithms=algorithms,
        extra_audiences=_str_list(config.get("extra_audiences", []), "extra_audiences"),
    )
