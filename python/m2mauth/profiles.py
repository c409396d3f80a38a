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

from .errors import ConfigError
from .presentation import DEFAULT_PRESENTATION, ExpirySignal, Presentation
from .provider_files import CredentialFile
from .request_shapes import RequestShape
from .response_mapping import ResponseMapping

__all__ = [
    "GRANTS",
    "AssertionTemplate",
    "ErrorHint",
    "Flow",
    "Profile",
    "RefusedCredential",
    "list_profiles",
    "load_profile",
    "spec_path",
]

GRANTS = (
    "jwt_bearer",
    "client_credentials",
    "password",
    "refresh_token",
    "get_refresh",
    "device_code",
    "provider_login",  # a provider's own login endpoint (request_shapes.py): USGS M2M, NASA Earthdata Login
    "ready_token",  # a token given as is (access_token=, e.g. EARTHDATA_TOKEN): no request
    "token_exchange",
)


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
    client_id: str | None = None  # sent unless client_id= is given as a keyword (a public client: cdse-public)
    # Form fields sent under their own name when given: credentials (CDSE: totp) and option keywords
    # (EUMETSAT: validity_period), listed in the profile as "optional" and "options" (flows.optional_fields).
    optional: tuple[str, ...] = ()
    refresh_parameter: str = "refreshToken"
    client_assertion_algorithms: tuple[str, ...] = ()  # what the server accepts for client assertions
    request: RequestShape | None = None  # provider_login: JSON body or HTTP Basic (request_shapes.py)
    response: ResponseMapping | None = None  # None: RFC 6749 §5.1/§5.2 (response_mapping.py)
    presentation: Presentation = DEFAULT_PRESENTATION  # how APIs take the token (presentation.py)
    logout_url: str | None = None  # an endpoint that ends the token (USGS M2M logout)
    refresh_token_lifetime: int | None = None  # seconds a refresh token lasts from its issue (MAAP: 90 days)

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
class RefusedCredential:
    """A credential keyword this provider no longer takes, and what to give instead."""

    name: str
    code: str
    hint: str


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
    refused_credentials: tuple[RefusedCredential, ...] = ()
    credential_file: CredentialFile | None = None  # the provider tool's own file (provider_files.py)
    same_token_until_expiry: bool = False  # EUMETSAT: an early renewal gets the token already held
    notes: tuple[str, ...] = ()

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
        for refused in self.refused_credentials:
            if refused.name in available:
                raise ConfigError(f"{self.name} does not take {refused.name}=", code=refused.code, hint=refused.hint)
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
        if "access_token" in available and not any("access_token" in f.requires for f in self.flows):
            # A ready token given to a profile that always fetches its own: say that, not only what is missing.
            raise ConfigError(
                f"{self.name} does not use a ready token (access_token=): it gets its own from the provider",
                code="missing_credential",
                hint=f"Give the credentials of one flow instead ({wanted}). " + self._env_hint(),
            )
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
            hint = "They can also come from the environment: " + ", ".join(names) + ", or M2MAUTH_<NAME>."
        else:
            hint = "They can also come from the environment as M2MAUTH_<NAME> (e.g. M2MAUTH_CLIENT_ID)."
        return hint + self._file_hint()

    def _file_hint(self) -> str:
        spec = self.credential_file
        if spec is None:
            return ""
        moved = spec.path_variable or spec.folder_variable
        where = f" (or where {moved} says)" if moved else ""
        return f" Or from {spec.path}{where}, as {spec.format} keeps it."

    def hint_for(self, error: str | None, description: str | None, status: int | None = None) -> ErrorHint | None:
        for hint in self.error_hints:
            if hint.matches(error, description, status):
                return hint
        return None


PROFILE_SCHEMA = "profile.schema.json"
#: How many problems one error lists (the first ones found; fixing them shows the rest).
MAX_PROBLEMS = 5


def _int(value: Any) -> int | None:
    # The schema counts 900.0 as an integer; the Profile holds ints.
    return None if value is None else int(value)


def _label(data: Any, source: str | None) -> str:
    name = data.get("name") if isinstance(data, Mapping) else None
    label = f"profile {name!r}" if isinstance(name, str) and name else "the profile"
    return f"{label} ({source})" if source else label


def validate_profile(data: Any, source: str | None = None) -> None:
    """Raise ConfigError(invalid_profile) naming each member the spec's profile schema rejects."""
    from .schema_check import check, load_schema

    problems = check(data, load_schema(PROFILE_SCHEMA))
    if not problems:
        return
    shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS])
    more = len(problems) - MAX_PROBLEMS
    raise ConfigError(
        f"{_label(data, source)} is not valid: {shown}" + (f" (and {more} more)" if more > 0 else ""),
        code="invalid_profile",
        hint="Each member is described in spec/schema/profile.schema.json; "
        "the README section 'Writing your own profile' has a complete example.",
    )


def profile_from_dict(data: Any, source: str | None = None) -> Profile:
    """Validate against the spec's profile schema, then build a Profile (errors name the bad member)."""
    validate_profile(data, source)
    flows = []
    for raw in data["flows"]:
        template = None
        if "assertion" in raw:
            a = raw["assertion"]
            template = AssertionTemplate(
                issuer=a["issuer"],
                audience=a["audience"],
                subject=a.get("subject"),
                algorithms=tuple(a.get("algorithms", ("RS256",))),
                lifetime=_int(a.get("lifetime")) or 3600,
                max_lifetime=_int(a.get("max_lifetime")),
                kid=a.get("kid"),
                jti=a.get("jti", False),
                nbf=a.get("nbf", False),
            )
        flows.append(
            Flow(
                name=raw["name"],
                grant=raw["grant"],
                requires=tuple(raw["requires"]),
                description=raw.get("description", ""),
                token_url=raw.get("token_url"),
                auth_methods=tuple(raw.get("auth_methods", ())),
                assertion=template,
                scope=raw.get("scope"),
                client_id=raw.get("client_id"),
                # One list: the schema checks credentials ("optional") and option keywords ("options") apart.
                optional=tuple(raw.get("optional", ())) + tuple(raw.get("options", ())),
                refresh_parameter=raw.get("refresh_parameter", "refreshToken"),
                client_assertion_algorithms=tuple(raw.get("client_assertion_algorithms", ())),
                **_shape_members(raw),
                refresh_token_lifetime=_int(raw.get("refresh_token_lifetime")),
            )
        )
    hints = tuple(
        ErrorHint(match=h["match"], hint=h["hint"], code=h["code"], error=h.get("error"), status=_int(h.get("status")))
        for h in data.get("error_hints", ())
    )
    return Profile(
        name=data["name"],
        title=data["title"],
        token_url=data.get("token_url"),
        flows=tuple(flows),
        documentation=data.get("documentation"),
        issuer=data.get("issuer"),
        device_authorization_url=data.get("device_authorization_url"),
        default_token_lifetime=_int(data.get("default_token_lifetime")),
        basic_encoding=data.get("basic_encoding", "rfc"),
        env={name: tuple(values) for name, values in data.get("env", {}).items()},
        error_hints=hints,
        source=source,
        refused_credentials=tuple(
            RefusedCredential(r["name"], r["code"], r["hint"]) for r in data.get("refused_credentials", ())
        ),
        credential_file=_credential_file(data.get("credential_file")),
        same_token_until_expiry=bool(data.get("same_token_until_expiry", False)),
        notes=tuple(data.get("notes", ())),
    )


def _shape_members(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A flow's request shape, response mapping, presentation and logout URL (issue 12's model)."""
    members: dict[str, Any] = {}
    if "request" in raw:
        request = raw["request"]
        members["request"] = RequestShape(request["shape"], tuple(request.get("fields", {}).items()))
    if "response" in raw:
        r = raw["response"]
        members["response"] = ResponseMapping(
            token=r.get("token", "access_token"),
            token_type=r.get("token_type", "token_type"),
            expires=r.get("expires"),
            expires_format=r.get("expires_format"),
            lifetime=_int(r.get("lifetime")),
            error_code=r.get("error_code", "error"),
            error_message=r.get("error_message", "error_description"),
        )
    if "presentation" in raw:
        p = raw["presentation"]
        signal = p.get("expired_when")
        members["presentation"] = Presentation(
            header=p.get("header", "Authorization"),
            scheme=p.get("scheme"),
            expired=ExpirySignal(signal["path"], tuple(signal["values"])) if signal else None,
        )
    if "logout_url" in raw:
        members["logout_url"] = raw["logout_url"]
    return members


def _credential_file(raw: Mapping[str, Any] | None) -> CredentialFile | None:
    if raw is None:
        return None
    return CredentialFile(
        raw["format"], raw["path"], raw.get("path_variable"), raw.get("folder_variable"), raw.get("machine")
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
    if not isinstance(profile, (str, os.PathLike)) or not isinstance(text := os.fspath(profile), str):
        raise ConfigError(
            f"profile must be a name, a path or a mapping, not {type(profile).__name__}",
            code="invalid_profile",
            hint="Pass a shipped profile's name ("
            + ", ".join(list_profiles())
            + "), or the path of a profile JSON file.",
        )
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
