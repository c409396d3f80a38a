"""The checklist's data: one :class:`Check` per line, collected in a :class:`Report`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
STATUSES = (OK, WARN, FAIL, SKIP)


TITLES = {
    "credentials": "credentials",
    "key_file": "key file",
    "key_permissions": "key permissions",
    "key": "key & algorithm",
    "discovery": "OIDC discovery",
    "request": "token request",
    "claims": "grant claims",
    "grant": "your grant",
    "clock": "clock",
    "proxy": "proxy",
    "endpoint": "endpoint",
    "exchange": "exchange",
}
SYMBOLS = {OK: "✓", WARN: "!", FAIL: "✗", SKIP: "·"}
ASCII_SYMBOLS = {OK: "+", WARN: "!", FAIL: "x", SKIP: "-"}


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    status: str
    message: str
    fix: str | None = None
    codes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # further lines shown under the message (one finding each)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name.replace("_", " "))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "codes": list(self.codes),
            "notes": list(self.notes),
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Report:
    """The checklist of one doctor run."""

    profile: str
    checks: tuple[Check, ...]
    flow: str | None = None
    token_url: str | None = None
    mode: str = "credentials"  # or "jwt": a grant given by the user is diagnosed

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def codes(self) -> list[str]:
        """Every diagnosis code of every check, in order."""
        return [code for c in self.checks for code in c.codes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "flow": self.flow,
            "token_url": self.token_url,
            "mode": self.mode,
            "ok": self.ok,
            "failed": [c.name for c in self.checks if c.status == FAIL],
            "warnings": [c.name for c in self.checks if c.status == WARN],
            "checks": [c.to_dict() for c in self.checks],
        }

    def render(self, *, ascii_only: bool = False) -> str:
        symbols = ASCII_SYMBOLS if ascii_only else SYMBOLS
        head = f"m2mauth doctor: {self.profile}"
        if self.flow:
            head += f", flow {self.flow}"
        if self.token_url:
            head += f", token URL {self.token_url}"
        lines = [head]
        width = max((len(c.title) for c in self.checks), default=10)
        for check in self.checks:
            lines.append(f" {symbols[check.status]} {check.title:<{width}}  {check.message}")
            lines += [f"     {note}" for note in check.notes]
            lines += [f"     fix: {fix}" for fix in (check.fix or "").split("\n") if fix]
        failed = [c.title for c in self.checks if c.status == FAIL]
        warned = [c.title for c in self.checks if c.status == WARN]
        if failed:
            lines.append(f"{len(failed)} check(s) failed: {', '.join(failed)}. Apply the fix under each ✗ line.")
        elif warned:
            lines.append(f"No check failed; {len(warned)} warning(s): {', '.join(warned)}.")
        else:
            lines.append("All checks passed.")
        text = "\n".join(lines)
        if ascii_only:
            text = text.replace("✗", "x").encode("ascii", "replace").decode("ascii")
        return text
