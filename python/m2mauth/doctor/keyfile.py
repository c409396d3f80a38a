"""Checks of the key material: key files (found, permissions), the key, its size and algorithm."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..credentials import Credentials
from ..diagnose import inspect
from ..flows import Plan
from ..keys import KEY_MATERIAL_HINT, Key, ServiceKey, load_key, looks_like_key_material, secret_key
from ..keys import shown_path as _shown
from ..profiles import Profile
from .report import FAIL, OK, SKIP, WARN, Check


def permission_check(path: str, mode: int, *, platform: str = sys.platform) -> Check:
    """Warn when a key file can be read (or changed) by anyone but its owner."""
    if platform == "win32":
        return Check("key_permissions", SKIP, "file modes are not checked on Windows (use the file's ACL)")
    perms = stat.S_IMODE(mode)
    details = {"path": path, "mode": f"{perms:04o}"}
    if not perms & 0o077:
        return Check("key_permissions", OK, f"mode {perms:04o}: only you can read it", details=details)
    who = [name for bit, name in ((0o040, "group"), (0o004, "others")) if perms & bit]
    problems = []
    if who:
        problems.append("readable by " + " and ".join(who))
    if perms & 0o022:
        problems.append("writable by " + " and ".join(n for b, n in ((0o020, "group"), (0o002, "others")) if perms & b))
    if not problems:
        problems.append("group or others have access")
    return Check(
        "key_permissions",
        WARN,
        f"mode {perms:04o}: {'; '.join(problems)} — anyone who can read the key can get tokens as you",
        f"chmod 600 {_shell_quote(path)}",
        ("key_file_permissions",),
        details=details,
    )


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _is_path(value: Any) -> bool:
    if isinstance(value, os.PathLike):
        return True
    return (
        isinstance(value, str)
        and "-----BEGIN" not in value
        and not value.lstrip().startswith("{")
        and "\n" not in value
        and len(value) < 4096
    )


_LABELS = {"service_key": "service key", "private_key": "private key"}
_FILE_HINTS = {
    "service_key": "Check the path of the service key JSON (download it again from your CLMS profile page if lost).",
    "private_key": "Check the path of the private key file ('~' is expanded; relative paths start in the "
    "current folder).",
}


def _source(name: str, creds: Credentials, given: Mapping[str, Any], profile: Profile) -> str:
    for variable in (*profile.env.get(name, ()), f"M2MAUTH_{name.upper()}"):
        if given.get(name) is None and variable in creds.from_env:
            return f"from {variable}"
    return f"passed as {name.replace('_', '-')}"


def key_file_checks(
    creds: Credentials, given: Mapping[str, Any], profile: Profile, platform: str
) -> tuple[list[Check], bool]:
    """key_file and key_permissions checks; the flag says every named key file exists."""
    checks: list[Check] = []
    found = True
    for name in ("service_key", "private_key"):
        value = creds.get(name)
        if value is None:
            continue
        label = _LABELS[name]
        if not _is_path(value):
            where = _source(name, creds, given, profile)
            checks.append(Check("key_file", OK, f"{label} given inline ({where}), not as a file"))
            continue
        hint = KEY_MATERIAL_HINT if looks_like_key_material(value) else _FILE_HINTS[name]
        try:
            path = Path(os.fspath(value)).expanduser()
        except RuntimeError:  # "~user" with no such user
            found = False
            message = f"{label} path cannot be expanded: {_shown(value)}"
            checks.append(Check("key_file", FAIL, message, hint, ("key_file_not_found",)))
            continue
        try:
            info = path.stat()
        except FileNotFoundError:
            found = False
            checks.append(
                Check("key_file", FAIL, f"{label} file not found: {_shown(path)}", hint, ("key_file_not_found",))
            )
            continue
        except (OSError, ValueError) as exc:  # ValueError: NUL bytes in the name
            found = False
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            checks.append(
                Check(
                    "key_file",
                    FAIL,
                    f"{label} file cannot be read: {_shown(path)} ({reason})",
                    hint if looks_like_key_material(value) else None,
                    ("key_file_unreadable",),
                )
            )
            continue
        if not stat.S_ISREG(info.st_mode):
            found = False
            checks.append(
                Check("key_file", FAIL, f"{label} path is not a file: {_shown(path)}", hint, ("key_file_not_found",))
            )
            continue
        checks.append(
            Check("key_file", OK, f"{label} file found: {path} ({info.st_size} bytes)", details={"path": str(path)})
        )
        checks.append(permission_check(str(path), info.st_mode, platform=platform))
    if not checks:
        if creds.secret:
            where = _source("secret", creds, given, profile)
            checks.append(Check("key_file", SKIP, f"no key file: the HMAC secret is {where}"))
        elif creds.client_secret:
            checks.append(Check("key_file", SKIP, "no key file: this flow authenticates with a client secret"))
    return checks, found


def assertion_alg(plan: Plan) -> str | None:
    if plan.assertion is not None:
        alg = plan.assertion.header.get("alg")
        return str(alg) if alg else None
    client_assertion = plan.request.field("client_assertion")
    if client_assertion:
        diagnosis = inspect(client_assertion)
        alg = diagnosis.header.get("alg")
        return str(alg) if alg else None
    return None


def key_check(key: Key, alg: str | None, service_key: ServiceKey | None, plan: Plan | None = None) -> Check:
    kid = f", kid {key.kid}" if key.kid else ""
    owner = f" (CLMS service key of client_id {service_key.client_id})" if service_key else ""
    signs = f"; m2mauth signs {alg}" if alg else f"; m2mauth would sign {key.default_algorithm}"
    details = {"kind": key.kind, "size": key.size if key.kind != "oct" else None, "alg": alg or key.default_algorithm}
    if key.kind == "RSA" and key.size < 2048:
        return Check(
            "key",
            WARN,
            f"{key.describe()}{kid}{owner}{signs}: under 2048 bits, which many servers refuse",
            "Make a new 2048-bit (or larger) key: `m2mauth keygen --kid NAME`, and register its public JWK.",
            ("weak_key",),
            details=details,
        )
    if plan is not None and plan.auth_method == "private_key_jwt" and not _assertion_kid(plan):
        # Said before anything is sent: the server's own answer ("kid does not match") does not say what to do.
        return Check(
            "key",
            WARN,
            f"{key.describe()}{signs}, but no kid: the client assertion's header will carry none (a PEM file has "
            "no key id); OpenAIRE, and most servers with registered JWKs, match it against the registered "
            "key's kid and answer 'kid does not match'",
            "Pass key_id= with the kid of the public JWK you registered (`m2mauth keygen` prints it), or give "
            "the private key as a JWK file that holds its kid.",
            ("missing_kid",),
            details=details,
        )
    return Check("key", OK, f"{key.describe()}{kid}{owner}{signs}", details=details)


def _assertion_kid(plan: Plan) -> str | None:
    client_assertion = plan.request.field("client_assertion")
    kid = inspect(client_assertion).header.get("kid") if client_assertion else None
    return kid if isinstance(kid, str) and kid else None


#: A service key file larger than this is not a service key (CLMS keys are a few kilobytes).
MAX_SERVICE_KEY_BYTES = 1 << 20


def service_key_token_uri(value: Any) -> str | None:
    """The ``token_uri`` of a service key that cannot be loaded in full (an EC key, a missing field, an
    encrypted key without its passphrase), when its JSON can be read at all: the server it belongs to."""
    if isinstance(value, ServiceKey):
        return value.token_uri
    data: Any = value
    if not isinstance(value, Mapping):
        try:
            if isinstance(value, bytes) or (isinstance(value, str) and value.lstrip().startswith("{")):
                text: str | bytes = value
            else:
                path = Path(os.fspath(value)).expanduser()
                if path.stat().st_size > MAX_SERVICE_KEY_BYTES:
                    return None
                text = path.read_bytes()
            data = json.loads(text)
        except (OSError, ValueError, TypeError, RuntimeError, RecursionError):  # unreadable: no server is known
            return None
    uri = data.get("token_uri") if isinstance(data, Mapping) else None
    return uri.strip() if isinstance(uri, str) and uri.strip() else None


def load_signing_key(creds: Credentials, service_key: ServiceKey | None) -> Key | None:
    if service_key is not None:
        return service_key.key
    if creds.private_key is not None:
        return load_key(creds.private_key, password=creds.key_password, kid=creds.key_id)
    if creds.secret:
        return secret_key(creds.secret, kid=creds.key_id)
    return None
