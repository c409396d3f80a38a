"""``m2mauth login``, ``logout`` and ``status``: the device login and the tokens kept in the store."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO, cast

from .. import progress
from ..errors import ConfigError
from .common import DEFAULT_TIMEOUT, EXIT_OK, Console, credentials_from, dumps, duration, timeout_from
from .feedback import DeviceOutput
from .labels import open_store, read_labels, remember_label


def _show_device_prompt(authorization: Any) -> None:
    """Tell the user where to approve the login (stderr, so stdout stays clean for scripts)."""
    from ..device import print_prompt

    progress.clear()
    print_prompt(authorization, sys.stderr)


def cmd_login(args: argparse.Namespace, console: Console) -> int:
    from ..credentials import resolve_credentials
    from ..device import login
    from ..profiles import load_profile
    from ..source import source_key

    credentials = credentials_from(args, console)
    store = open_store(args)
    token = login(
        args.profile,
        prompt=lambda authorization: _show_device_prompt(authorization),
        store=store,
        timeout=timeout_from(args, DEFAULT_TIMEOUT),
        progress=cast(TextIO, DeviceOutput(console, quiet=args.quiet)),  # a write() is all login() calls
        **credentials,
    )
    prof = load_profile(args.profile)
    device_flow = next((f for f in prof.flows if f.grant == "device_code"), None)
    if device_flow is not None:
        remember_label(
            store,
            source_key(prof, resolve_credentials(prof, credentials), device_flow, store),
            prof.name,
            "device login",
        )
    left = token.seconds_left(time.time())
    valid = f", access token valid for {duration(left)}" if left is not None else ""
    refresh = "refresh token stored" if token.refresh_token else "no refresh token was issued"
    console.out(f"logged in to {prof.name}{valid}; {refresh} in {store.path}")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace, console: Console) -> int:
    from ..device import logout
    from ..logout_endpoint import logout_flow
    from ..profiles import load_profile
    from ..source import TokenSource

    credentials = credentials_from(args, console)
    store = open_store(args)
    prof = load_profile(args.profile)
    removed = ended = False
    if logout_flow(prof) is not None:
        # USGS M2M asks to end a key at its logout endpoint after final use: forgetting it here is not enough.
        ended = logout(prof, store=store, **credentials)
    elif any(f.grant == "device_code" for f in prof.flows):
        removed = logout(prof, store=store, **credentials)
    try:
        source = TokenSource(prof, store=store, flow=args.flow, **credentials)
    except ConfigError:
        source = None
    if source is not None and store.get(source.key) is not None:
        store.delete(source.key)
        removed = True
    if ended:
        console.out(f"logged out of {prof.name}: the provider ended the token, and none is kept in {store.path}")
    elif removed:
        console.out(f"forgot the stored token(s) of {prof.name} in {store.path}")
    else:
        console.out(
            f"no stored token for {prof.name} with these credentials in {store.path} "
            "(give the same credentials as for `m2mauth token`/`login`; `m2mauth status` lists what is stored)"
        )
    return EXIT_OK


def _entries(store: Any, now: float) -> Iterator[dict[str, Any]]:
    from ..stores import token_from_record

    labels = read_labels(store)
    folder = Path(store.path) / "tokens"
    try:
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    except OSError:  # a name too long, no permission: nothing to list
        paths = []
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # RecursionError: deeply nested JSON
            continue
        token = token_from_record(record)
        if token is None:
            continue
        label = labels.get(path.stem, {})
        refresh_left = token.refresh_expires_at.timestamp() - now if token.refresh_expires_at else None
        yield {
            "id": path.stem,
            "profile": label.get("profile") or record.get("profile") or "?",
            "flow": label.get("flow") or "?",
            "expires_in": token.seconds_left(now),
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "refresh_token": bool(token.refresh_token),
            "refresh_expires_in": int(refresh_left) if refresh_left is not None else None,
            "scope": token.scope,
        }


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    from ..stores import _file_name

    store = open_store(args)
    now = time.time()
    entries = list(_entries(store, now))
    if args.profile:
        from ..profiles import load_profile
        from ..source import TokenSource

        credentials = credentials_from(args, console)
        prof = load_profile(args.profile)
        wanted: set[str] = set()
        try:
            wanted.add(_file_name(TokenSource(prof, store=store, flow=args.flow, **credentials).key))
        except ConfigError:
            if credentials:
                raise
        entries = [e for e in entries if e["id"] in wanted or e["profile"] == prof.name]
        for entry in entries:
            if entry["profile"] == "?":
                entry["profile"] = prof.name
    if args.json:
        console.out(dumps({"store": str(store.path), "tokens": entries}))
        return EXIT_OK
    if not entries:
        what = f" for {args.profile}" if args.profile else ""
        console.out(f"no stored tokens{what} in {store.path}")
        return EXIT_OK
    console.out(f"stored tokens in {store.path}:")
    console.out(f"  {'PROFILE':<24} {'FLOW':<20} {'ACCESS TOKEN':<22} REFRESH TOKEN")
    for entry in entries:
        left = entry["expires_in"]
        if left is None:
            access = "no expiry given"
        elif left > 0:
            access = f"valid {duration(left)}"
        else:
            access = f"expired {duration(left)} ago"
        refresh = "yes" if entry["refresh_token"] else "no"
        if entry["refresh_token"] and entry["refresh_expires_in"] is not None:
            refresh += f" (valid {duration(entry['refresh_expires_in'])})"
        console.out(f"  {entry['profile']:<24} {entry['flow']:<20} {access:<22} {refresh}")
    return EXIT_OK
