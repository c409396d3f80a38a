"""The watch of the canary run: everything that was shown, and the check that no canary is in it."""

from __future__ import annotations

import json
import logging
import stat
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from canary_world import TIMEOUT, World, issued_by

import m2mauth

LOGGERS = ("", "m2mauth", "m2mauth.testing", "urllib3", "requests", "httpx", "httpcore")
#: What a token store file may hold: the record of one token, never a credential.
TOKEN_RECORD_KEYS = frozenset(
    {
        "key",
        "access_token",
        "token_type",
        "expires_at",
        "issued_at",
        "refresh_token",
        "refresh_expires_at",
        "scope",
        "id_token",  # stores keep the ID token (issue 8 part 8); the watch still scans it
    }
)


# -- the watch: everything that was shown, and the check that no canary is in it ------------------


@dataclass
class Shown:
    where: str
    text: str
    allowed: frozenset[str] = frozenset()  # tokens the user asked for, which may appear here
    tokens_ok: bool = False  # a token store file: any issued token may appear, nothing else


class Watch:
    """Collects every text a user or a log could see, then looks for the canaries in it."""

    def __init__(self, world: World, capture: Any, caplog: pytest.LogCaptureFixture) -> None:
        self.world, self.capture, self.caplog = world, capture, caplog
        self.shown: list[Shown] = []
        self.tokens: set[str] = set()
        self.extra: dict[str, set[str]] = {}
        for name in LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name or None)

    # what was shown
    def text(self, where: str, text: str, *, allowed: Iterable[str] = (), tokens_ok: bool = False) -> None:
        self.shown.append(Shown(where, text, frozenset(a for a in allowed if a), tokens_ok))

    def show(self, where: str, *objects: Any) -> None:
        for obj in objects:
            if obj is not None:
                self.text(f"{where}: repr({type(obj).__name__})", repr(obj))
                self.text(f"{where}: str({type(obj).__name__})", str(obj))

    def token(self, where: str, token: m2mauth.Token) -> m2mauth.Token:
        assert isinstance(token, m2mauth.Token), token
        self.tokens |= {t for t in (token.access_token, token.refresh_token, token.id_token) if t}
        self.show(where, token)
        self.text(f"{where}: to_dict()", json.dumps(token.to_dict()))
        self.text(f"{where}: raw", json.dumps(dict(token.raw), default=str))
        return token

    def error(self, where: str, exc: BaseException) -> None:
        self.show(where, exc)
        self.text(f"{where}: traceback", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.text(f"{where}: vars", repr(vars(exc)))
        if isinstance(exc, m2mauth.M2MAuthError):
            self.show(f"{where}: explain", m2mauth.explain(exc))
            self.text(f"{where}: explain().to_dict()", json.dumps(m2mauth.explain(exc).to_dict()))

    def forbid(self, label: str, needles: Iterable[str]) -> None:
        self.extra.setdefault(label, set()).update(n for n in needles if len(n) >= 12)

    # the check
    def _captured(self) -> None:
        out, err = self.capture.readouterr()
        self.text("stdout", out)
        self.text("stderr", err)
        self.text("log", self.caplog.text)
        for record in self.caplog.records:
            self.text(f"log record {record.name}", record.getMessage() + (record.exc_text or ""))

    def check(self) -> None:
        self._captured()
        secret_needles = {**self.world.needles(), **self.extra}
        secret_needles["device code"] = set(self.world.device_codes)
        token_needles = {t for t in self.tokens | issued_by(self.world.provider) if len(t) >= 12}
        leaks: list[str] = []
        for shown in self.shown:
            text = shown.text
            for allowed in sorted(shown.allowed, key=len, reverse=True):
                text = text.replace(allowed, "<allowed>")
            groups = dict(secret_needles)
            if not shown.tokens_ok:
                groups["issued token"] = token_needles
            for label, needles in groups.items():
                for needle in needles:
                    if needle and needle in text:
                        at = text.index(needle)
                        leaks.append(f"{label} in {shown.where}: ...{text[max(0, at - 60) : at + 20]!r}...")
                        break
        assert not leaks, "secrets leaked:\n" + "\n".join(sorted(set(leaks)))


def use(world: World, token: m2mauth.Token) -> None:
    answer = requests.get(world.provider.resource_url, headers={"Authorization": token.authorization}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text


def check_store(folder: Path, watch: Watch, *, where: str = "token store") -> int:
    """Folders 0700, files 0600; token files hold a token record only; other files nothing secret.

    Returns the number of token records found."""
    assert folder.is_dir()
    records = 0
    for path in [folder, *sorted(folder.rglob("*"))]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path} has mode {mode:04o}"
            continue
        assert mode == 0o600, f"{path} has mode {mode:04o}"
        text = path.read_text(encoding="utf-8")
        if path.parent.name == "tokens" and path.suffix == ".json" and not path.name.startswith(".tmp-"):
            record = json.loads(text)
            assert set(record) <= TOKEN_RECORD_KEYS, sorted(set(record) - TOKEN_RECORD_KEYS)
            assert isinstance(record["access_token"], str)
            watch.text(f"{where} file {path.name}", text, tokens_ok=True)
            records += 1
        else:
            watch.text(f"{where} file {path.relative_to(folder)}", text)
    return records
