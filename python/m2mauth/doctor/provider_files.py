"""doctor's lines about the provider tool's own credential file and a long-lived offline token.

``credential file``: whether eumdac's or maap_client's file was read, not needed, absent, or
refused (readable by others, malformed: the file and line, never a value). ``offline token``:
how long ESA MAAP's 90-day offline token has left, a warning in its last week.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from ..credentials import Credentials, resolve_credentials
from ..errors import ConfigError
from ..offline_tokens import WARN_BEFORE, refresh_token_end
from ..profiles import Profile
from ..provider_files import read_credential_file
from .report import FAIL, OK, SKIP, WARN, Check, Report

__all__ = ["credential_file_checks", "offline_token_check", "with_checks"]

_FILE_CODES = ("invalid_credential_file", "credential_file_permissions")


def credential_file_checks(
    prof: Profile, given: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[Credentials, list[Check]]:
    """The credentials as the library resolves them, and the credential file's line (if the
    profile names a file). A file that cannot be used is a failed line, not a failed command."""
    spec = prof.credential_file
    if spec is None:
        return resolve_credentials(prof, given, env), []
    try:
        creds = resolve_credentials(prof, given, env)
    except ConfigError as err:
        if err.code not in _FILE_CODES:
            raise
        without = resolve_credentials(dataclasses.replace(prof, credential_file=None), given, env)
        return without, [Check("credential_file", FAIL, err.message, err.hint, (err.code,))]
    path, variable = spec.location(env)
    moved = f" (from {variable})" if variable else ""
    if creds.from_file:
        found = read_credential_file(spec, env)
        names = ", ".join(sorted(found.values)) if found else ""
        message = f"{creds.from_file}{moved} gives {names} ({spec.format}'s file; private to you)"
        return creds, [Check("credential_file", OK, message, details={"path": creds.from_file})]
    if all(creds.get(name) not in (None, "") for name in spec.provides):
        message = f"{path} not read: keywords or the environment give {', '.join(spec.provides)}"
    elif not path.exists():
        message = f"no {spec.format} file at {path}{moved}"
    else:
        message = f"{path}{moved} not used: it holds another client id than the one given"
    return creds, [Check("credential_file", SKIP, message, details={"path": str(path)})]


def offline_token_check(prof: Profile, creds: Credentials, now: Callable[[], float] = time.time) -> list[Check]:
    """How long the offline token has left, for a flow whose refresh tokens live ``refresh_token_lifetime``."""
    flow = next((f for f in prof.flows if f.refresh_token_lifetime is not None), None)
    if flow is None or not creds.refresh_token:
        return []
    end = refresh_token_end(creds.refresh_token, flow.refresh_token_lifetime)
    where = prof.documentation or f"the {prof.name} portal"
    if end is None:
        return [Check("offline_token", SKIP, "the offline token carries no date (not a JWT): its end is unknown")]
    left = end - now()
    date = datetime.fromtimestamp(end, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if left <= 0:
        return [Check("offline_token", FAIL, f"the offline token expired on {date}", f"Get a new one at {where}.")]
    message = f"the offline token ends in {left / 86400:.1f} days ({date})"
    if left < WARN_BEFORE:
        fix = f"Get a new one at {where} before then."
        return [Check("offline_token", WARN, message, fix, ("offline_token_ending",))]
    return [Check("offline_token", OK, message)]


def with_checks(report: Report, extra: list[Check]) -> Report:
    """``report`` with ``extra`` lines right after its credentials line."""
    if not extra:
        return report
    checks = list(report.checks)
    at = next((i + 1 for i, c in enumerate(checks) if c.name == "credentials"), 0)
    return dataclasses.replace(report, checks=tuple(checks[:at] + extra + checks[at:]))
