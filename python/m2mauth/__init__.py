"""m2mauth: OAuth2 machine-to-machine access tokens for research and Earth-observation data APIs.

Get, keep and explain tokens for CLMS, Disruptive Technologies, OpenAIRE, Climate Engine,
CDSE openEO and any RFC 6749 server. ``__all__`` is the public contract: the R package's
wrappers are generated from it. Submodules load on first use so ``import m2mauth`` stays cheap.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "fetch_token": "api",
    "build_request": "api",
    "sign_jwt": "api",
    "exchange": "transport",
    "discover": "transport",
    "inspect": "diagnose",
    "explain": "diagnose",
    "Diagnosis": "diagnose",
    "Finding": "diagnose",
    "Explanation": "diagnose",
    "Token": "tokens",
    "parse_token_response": "tokens",
    "TokenRequest": "token_request",
    "Plan": "flows",
    "plan_request": "flows",
    "Profile": "profiles",
    "load_profile": "profiles",
    "list_profiles": "profiles",
    "Key": "keys",
    "ServiceKey": "keys",
    "load_key": "keys",
    "load_service_key": "keys",
    "secret_key": "keys",
    "Assertion": "assertions",
    "make_assertion": "assertions",
    "ClientAuth": "client_auth",
    "M2MAuthError": "errors",
    "ConfigError": "errors",
    "TokenEndpointError": "errors",
    "TransportError": "errors",
    "TokenSource": "source",
    "RetryPolicy": "retry",
    "MemoryStore": "stores",
    "FileStore": "stores",
    "RedisStore": "stores",
    "Auth": "integrations.requests_auth",
    "session": "integrations.requests_auth",
    "login": "device",
    "logout": "device",
}

__all__ = [
    "Assertion",
    "Auth",
    "ClientAuth",
    "ConfigError",
    "Diagnosis",
    "Explanation",
    "FileStore",
    "Finding",
    "Key",
    "M2MAuthError",
    "MemoryStore",
    "Plan",
    "Profile",
    "RedisStore",
    "RetryPolicy",
    "ServiceKey",
    "Token",
    "TokenEndpointError",
    "TokenRequest",
    "TokenSource",
    "TransportError",
    "__version__",
    "build_request",
    "discover",
    "exchange",
    "explain",
    "fetch_token",
    "inspect",
    "list_profiles",
    "load_key",
    "load_profile",
    "load_service_key",
    "login",
    "logout",
    "make_assertion",
    "parse_token_response",
    "plan_request",
    "secret_key",
    "session",
    "sign_jwt",
]

if _TYPE_CHECKING:
    from .api import build_request, fetch_token, sign_jwt
    from .assertions import Assertion, make_assertion
    from .client_auth import ClientAuth
    from .device import login, logout
    from .diagnose import Diagnosis, Explanation, Finding, explain, inspect
    from .errors import ConfigError, M2MAuthError, TokenEndpointError, TransportError
    from .flows import Plan, plan_request
    from .integrations.requests_auth import Auth, session
    from .keys import Key, ServiceKey, load_key, load_service_key, secret_key
    from .profiles import Profile, list_profiles, load_profile
    from .retry import RetryPolicy
    from .source import TokenSource
    from .stores import FileStore, MemoryStore, RedisStore
    from .token_request import TokenRequest
    from .tokens import Token, parse_token_response
    from .transport import discover, exchange


# Importable by name but not in __all__: it needs the optional extra m2mauth[httpx], and
# ``from m2mauth import *`` must work without it.
_OPTIONAL = {"HttpxAuth": "integrations.httpx_auth"}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name) or _OPTIONAL.get(name)
    if module is None:
        raise AttributeError(f"module 'm2mauth' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
