"""``m2mauth token``: print an access token, from the store while it is valid."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError
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
        basic_encoding=args.basic_encoding,
        keep_refresh_token=not args.no_keep_refresh_token,
        validity_period=args.validity_period,
        timeout=timeout_from(args, DEFAULT_TIMEOUT),
        **credentials,
    )
    _warn_without_kid(source, credentials, console)
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
        console.secret_out(f"{token.header_name}: {token.authorization}")  # the profile's header (USGS: X-Auth-Token)
    else:
        console.secret_out(token.access_token)
    return EXIT_OK


def _warn_without_kid(source: Any, credentials: dict[str, Any], console: Console) -> None:
    """Say before sending what the server's "kid does not match" will not: a private_key_jwt client assertion
    signed with a PEM (which carries no key id) and no --key-id has no kid, and OpenAIRE, like most servers
    holding registered JWKs, picks the key by its kid."""
    from ..credentials import resolve_credentials
    from ..keys import load_key

    flow = source._flow
    if "private_key_jwt" not in flow.auth_methods or source.auth_method not in (None, "private_key_jwt"):
        return
    try:
        creds = resolve_credentials(source.profile, credentials)
        if creds.private_key is None or creds.key_id:
            return
        kid = load_key(creds.private_key, password=creds.key_password).kid
    except ConfigError:
        return  # the exchange reports a bad key with its own hint
    if not kid:
        console.err(
            "warning: the private key has no key id (a PEM file carries none), so the client assertion has no "
            "'kid'; servers that hold registered JWKs (OpenAIRE among them) then answer 'kid does not match'. "
            "Pass --key-id with the kid you registered (`m2mauth keygen` prints it)."
        )
