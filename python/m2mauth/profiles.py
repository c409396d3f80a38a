"""Provider profiles: endpoints, flows, claim templates, caps, environment variables, error hints.

The profiles are data (``spec/profiles/*.json``, shipped inside the wheel) so every language reads
the same facts; this module only loads and queries them. Users can load their own file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .client_auth import AUTH_METHODS
from .errors import ConfigError

__all__ = [
    "GRANTS",
    "AssertionTemplate",
    "ErrorHint",
    "Flow",
    "Profile",
    "list_profiles",
    "load_profile",
    "spec_path",
]

GRANTS = ("jwt_bearer", "client_credentials", "password", "refresh_token", "get_refresh", "device_code")


def spec_path(*parts: str) -> Path:
    """A file of the language-neutral spec: inside the installed wheel, else in the source tree."""
    packaged = resources.files("m2mauth") / "_spec"
    if packaged.is_dir():
        return Path(str(packaged.joinpath(*parts)))
    return Path(__file__).resolve().parents[2].joinpath("spec", *parts)


@dataclass(frozen=True)
class AssertionTemplate:
    """How a flow builds its JWT grant: claim templates ({client_id}, {token_url}...) and limits."""

    issuer: str
    audience: str
    subject: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    lifetime: int = 3600
    max_lifetime: int | None = None
    kid: str | None = None
    jti: bool = False
    nbf: bool = False


@dataclass(frozen=True)
class Flow:
    name: str
    grant: str
    requires: tuple[str, ...]
    description: str = ""
    token_url: str | None = None
    auth_methods: tuple[str, ...] = ()
    assertion: AssertionTemplate | None = None
    scope: str | None = None
    refresh_parameter: str = "refreshToken"
    client_assertion_algorithms: tuple[str, ...] = ()  # what the server accepts for client assertions

    @property
    def default_auth_method(self) -> str | None:
        return self.auth_methods[0] if self.auth_methods else None


@dataclass(frozen=True)
class ErrorHint:
    """A provider's own error text and what it means: matched against error and error_description."""

    match: str
    hint: str
    code: str
    error: str | None = None
    status: int | None = None

    def matches(self, error: str | None, description: str | None, status: int | None) -> bool:
        if self.error is not None and self.error != error:
            return False
        if self.status is not None and self.status != status:
            return False
        if not self.match:
            return True
        haystack = f"{error or ''} {description or ''}".lower()
        return self.match.lower() in haystack


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    token_url: str | None
    flows: tuple[Flow, ...]
    documentation: str | None = None
    issuer: str | None = None
    device_authorization_url: str | None = None
    default_token_lifetime: int | None = None
    basic_encoding: str = "rfc"
    env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    error_hints: tuple[ErrorHint, ...] = ()
    source: str | None = None

    def flow(self, name: str) -> Flow:
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise ConfigError(
            f"profile {self.name!r} has no flow {name!r}",
            code="unknown_flow",
            hint="Flows of this profile: " + ", ".join(f.name for f in self.flows) + ".",
        )

    def select_flow(self, available: set[str], flow: str | None = None) -> Flow:
        """The named flow, or the first whose required credentials are all available."""
        if flow is not None:
            chosen = self.flow(flow)
            missing = [name for name in chosen.requires if name not in available]
            if missing:
                raise ConfigError(
                    f"flow {chosen.name!r} of {self.name!r} needs {', '.join(missing)}",
                    code="missing_credential",
                    hint=self._credential_hint(chosen),
                )
            return chosen
        for candidate in self.flows:
            if all(name in available for name in candidate.requires):
                return candidate
        wanted = "; ".join(f"{f.name}: {' + '.join(f.requires)}" for f in self.flows)
        raise ConfigError(
            f"no flow of {self.name!r} fits the credentials given ({', '.join(sorted(available)) or 'none'})",
            code="missing_credential",
            hint=f"Give the credentials of one flow ({wanted}). " + self._env_hint(),
        )

    def _credential_hint(self, flow: Flow) -> str:
        return f"Pass {', '.join(n + '=' for n in flow.requires)}. " + self._env_hint()

    def _env_hint(self) -> str:
        names = [v for values in self.env.values() for v in values]
        if names:
            return "They can also come from the environment: " + ", ".join(names) + ", or M2MAUTH_<NAME>."
        return "They can also come from the environment as M2MAUTH_<NAME> (e.g. M2MAUTH_CLIENT_ID)."

    def hint_for(self, error: str | None, description: str | None, status: int | None = None) -> ErrorHint | None:
        for hint in self.error_hints:
            if hint.matches(error, description, status):
                return hint
        return None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where} must be a string or a list of strings", code="invalid_profile")


def _opt_str(data: Mapping[str, Any], name: str, where: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"{where}.{name} must be a string", code="invalid_profile")


def _opt_int(data: Mapping[str, Any], name: str, where: str) -> int | None:
    value = data.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise ConfigError(f"{where}.{name} must be a positive integer", code="invalid_profile")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be an object", code="invalid_profile")
    return value


def profile_from_dict(data: Any, source: str | None = None) -> Profile:
    """Validate and build a Profile from parsed JSON (errors name the bad member)."""
    data = _mapping(data, "profile")
    name = _opt_str(data, "name", "profile")
    if not name:
        raise ConfigError("the profile has no name", code="invalid_profile")
    flows = []
    raw_flows = data.get("flows")
    if not isinstance(raw_flows, list) or not raw_flows:
        raise ConfigError(f"profile {name!r} has no flows", code="invalid_profile")
    for index, raw in enumerate(raw_flows):
        where = f"{name}.flows[{index}]"
        raw = _mapping(raw, where)
        grant = raw.get("grant")
        if grant not in GRANTS:
            raise ConfigError(f"{where}.grant must be one of {', '.join(GRANTS)}", code="invalid_profile")
        methods = _strings(raw.get("auth_methods"), f"{where}.auth_methods")
        for method in methods:
            if method not in AUTH_METHODS:
                raise ConfigError(f"{where}: unknown auth method {method!r}", code="invalid_profile")
        template = None
        if raw.get("assertion") is not None:
            a = _mapping(raw["assertion"], f"{where}.assertion")
            issuer, audience = _opt_str(a, "issuer", where), _opt_str(a, "audience", where)
            if not issuer or not audience:
                raise ConfigError(f"{where}.assertion needs issuer and audience", code="invalid_profile")
            template = AssertionTemplate(
                issuer=issuer,
                audience=audience,
                subject=_opt_str(a, "subject", where),
                algorithms=_strings(a.get("algorithms"), f"{where}.algorithms") or ("RS256",),
                lifetime=_opt_int(a, "lifetime", where) or 3600,
                max_lifetime=_opt_int(a, "max_lifetime", where),
                kid=_opt_str(a, "kid", where),
                jti=bool(a.get("jti", False)),
                nbf=bool(a.get("nbf", False)),
            )
        if grant == "jwt_bearer" and template is None:
            raise ConfigError(f"{where}: a jwt_bearer flow needs an assertion template", code="invalid_profile")
        flow_name = _opt_str(raw, "name", where)
        if not flow_name:
            raise ConfigError(f"{where} has no name", code="invalid_profile")
        flows.append(
            Flow(
                name=flow_name,
                grant=str(grant),
                requires=_strings(raw.get("requires"), f"{where}.requires"),
                description=_opt_str(raw, "description", where) or "",
                token_url=_opt_str(raw, "token_url", where),
                auth_methods=methods,
                assertion=template,
                scope=_opt_str(raw, "scope", where),
                refresh_parameter=_opt_str(raw, "refresh_parameter", where) or "refreshToken",
                client_assertion_algorithms=_strings(
                    raw.get("client_assertion_algorithms"), f"{where}.client_assertion_algorithms"
                ),
            )
        )
    hints = []
    raw_hints = data.get("error_hints") or []
    if not isinstance(raw_hints, list):
        raise ConfigError(f"{name}.error_hints must be a list", code="invalid_profile")
    for index, raw in enumerate(raw_hints):
        where = f"{name}.error_hints[{index}]"
        raw = _mapping(raw, where)
        hint, code = _opt_str(raw, "hint", where), _opt_str(raw, "code", where)
        if not hint or not code:
            raise ConfigError(f"{where} needs hint and code", code="invalid_profile")
        status = raw.get("status")
        hints.append(
            ErrorHint(
                match=_opt_str(raw, "match", where) or "",
                hint=hint,
                code=code,
                error=_opt_str(raw, "error", where),
                status=status if isinstance(status, int) else None,
            )
        )
    env = {k: _strings(v, f"{name}.env.{k}") for k, v in _mapping(data.get("env") or {}, f"{name}.env").items()}
    basic = _opt_str(data, "basic_encoding", name) or "rfc"
    if basic not in ("rfc", "raw"):
        raise ConfigError(f"{name}.basic_encoding must be 'rfc' or 'raw'", code="invalid_profile")
    return Profile(
        name=name,
        title=_opt_str(data, "title", name) or name,
        token_url=_opt_str(data, "token_url", name),
        flows=tuple(flows),
        documentation=_opt_str(data, "documentation", name),
        issuer=_opt_str(data, "issuer", name),
        device_authorization_url=_opt_str(data, "device_authorization_url", name),
        default_token_lifetime=_opt_int(data, "default_token_lifetime", name),
        basic_encoding=basic,
        env=env,
        error_hints=tuple(hints),
        source=source,
    )


def list_profiles() -> list[str]:
    """Names of the profiles shipped with m2mauth."""
    return list(_shipped_names())


@cache
def _shipped_names() -> tuple[str, ...]:
    # The shipped files do not change while the process runs: list the folder once.
    return tuple(sorted(p.stem for p in spec_path("profiles").glob("*.json")))


@cache
def _builtin(name: str) -> Profile:
    path = spec_path("profiles", f"{name}.json")
    return profile_from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))


def load_profile(profile: str | os.PathLike[str] | Profile | Mapping[str, Any]) -> Profile:
    """A shipped profile by name, a profile JSON file by path, a mapping, or a Profile as is."""
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, Mapping):
        return profile_from_dict(profile)
    text = os.fspath(profile)
    if isinstance(profile, str) and text in _shipped_names():
        return _builtin(text)
    try:
        path = Path(text).expanduser()
        looks_like_file = path.suffix == ".json" or os.sep in text or path.exists()
    except (OSError, RuntimeError, ValueError):
        raise ConfigError(
            f"unknown profile {text[:80]!r}",
            code="unknown_profile",
            hint="Shipped profiles: " + ", ".join(list_profiles()) + ".",
        ) from None
    if looks_like_file:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"profile file not found: {path}", code="unknown_profile") from None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: deep nesting
            raise ConfigError(
                f"profile file {path} cannot be read as JSON ({type(exc).__name__})", code="invalid_profile"
            ) from None
        return profile_from_dict(data, source=str(path))
    raise ConfigError(
        f"unknown profile {text!r}",
        code="unknown_profile",
        hint="Shipped profiles: " + ", ".join(list_profiles()) + "; or give a path to a profile JSON file.",
    )
