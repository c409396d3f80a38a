"""``m2mauth inspect``: decode a JWT without trusting it and list what is wrong with it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from typing import Any

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    Console,
    can_encode,
    dumps,
    duration,
    read_stdin_all,
    register_environment_secrets,
)


def _when(value: Any, now: float) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        stamp = datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None
    delta = value - now
    return f"{stamp} ({'in ' + duration(delta) if delta >= 0 else duration(delta) + ' ago'})"


def cmd_inspect(args: argparse.Namespace, console: Console) -> int:
    from ..diagnose import inspect

    jwt = args.jwt if args.jwt not in (None, "-") else read_stdin_all("inspect JWT")
    register_environment_secrets(console, args.profile)
    diagnosis = inspect(jwt, args.profile, token_url=args.token_url)
    if args.json:
        console.out(dumps(diagnosis.to_dict()))
        return EXIT_OK if diagnosis.ok else EXIT_FAILED
    now = time.time()
    console.out("header: " + json.dumps(diagnosis.header, ensure_ascii=False))
    console.out("claims: " + json.dumps(diagnosis.claims, ensure_ascii=False))
    for name in ("iat", "nbf", "exp"):
        when = _when(diagnosis.claims.get(name), now)
        if when:
            console.out(f"  {name}: {when}")
    symbols = {"error": "✗", "warning": "!", "info": "·"}
    if not can_encode(sys.stdout, "✗·"):
        symbols = {"error": "x", "warning": "!", "info": "-"}
    for finding in diagnosis.findings:
        console.out(f"{symbols.get(finding.severity, '-')} {finding.code}: {finding.message}")
        if finding.hint:
            console.out(f"    fix: {finding.hint}")
    if not diagnosis.findings:
        console.out("no problems found" + ("" if args.profile else " (add --profile to check it against a provider)"))
    return EXIT_OK if diagnosis.ok else EXIT_FAILED
