"""``m2mauth token``: print an access token, from the store while it is valid."""

from __future__ import annotations

import argparse

from .common import DEFAULT_TIMEOUT, EXIT_OK, Console, UsageError, credentials_from, dumps, timeout_from
from .labels import open_store, remember_label


def cmd_token(args: argparse.Namespace, console: Console) -> int:
    from ..source import TokenSource

    if args.show_secrets and not args.json:
        raise UsageError("--show-secrets only applies to --json (the token itself is printed anyway)")
    credentials = credentials_from(args, console)
    store = open_store(args)
    source = TokenSource(
        args.profile,
        store=store,
        flow=args.flow,
        auth_method=args.auth_method,
        timeout=timeout_from(args, DEFAULT_TIMEOUT),
        **credentials,
    )
    token = source.token()
    remember_label(store, source.key, source.profile.name, source._flow.name)
    if args.json:
        record = token.to_dict(show_secrets=args.show_secrets)
        record["profile"] = source.profile.name
        if args.show_secrets:
            console.secret_out(dumps(record))
        else:
            console.out(dumps(record))
    elif args.header:
        console.secret_out(f"Authorization: {token.authorization}")
    else:
        console.secret_out(token.access_token)
    return EXIT_OK
