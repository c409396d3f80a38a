"""``m2mauth profiles``: list the provider profiles, or show one."""

from __future__ import annotations

import argparse
from typing import Any

from ..credentials import CREDENTIAL_NAMES
from .common import EXIT_OK, Console, dumps


def _example(prof: Any) -> str:
    first = prof.flows[0]
    metavars = {"service_key": "FILE", "private_key": "FILE", "client_secret": "-", "secret": "-", "password": "-"}
    options = " ".join(f"--{n.replace('_', '-')} {metavars.get(n, n.upper())}" for n in first.requires)
    if not prof.token_url and not first.token_url:
        options += " --token-url URL"
    command = "login" if first.grant == "device_code" else "token"
    return f"m2mauth {command} {prof.name} {options}".rstrip()


def _profile_dict(prof: Any) -> dict[str, Any]:
    return {
        "name": prof.name,
        "title": prof.title,
        "documentation": prof.documentation,
        "token_url": prof.token_url,
        "issuer": prof.issuer,
        "device_authorization_url": prof.device_authorization_url,
        "default_token_lifetime": prof.default_token_lifetime,
        "flows": [
            {
                "name": f.name,
                "grant": f.grant,
                "requires": list(f.requires),
                "auth_methods": list(f.auth_methods),
                "token_url": f.token_url,
                "description": f.description,
                "assertion": None
                if f.assertion is None
                else {
                    "issuer": f.assertion.issuer,
                    "subject": f.assertion.subject,
                    "audience": f.assertion.audience,
                    "algorithms": list(f.assertion.algorithms),
                    "lifetime": f.assertion.lifetime,
                    "max_lifetime": f.assertion.max_lifetime,
                    "kid": f.assertion.kid,
                },
            }
            for f in prof.flows
        ],
        "environment": {name: [*prof.env.get(name, ()), f"M2MAUTH_{name.upper()}"] for name in CREDENTIAL_NAMES},
        "errors": [{"code": h.code, "match": h.match, "error": h.error, "status": h.status} for h in prof.error_hints],
        "example": _example(prof),
    }


def cmd_profiles(args: argparse.Namespace, console: Console) -> int:
    from ..profiles import list_profiles, load_profile

    if getattr(args, "profiles_command", None) == "show":
        prof = load_profile(args.name)
        data = _profile_dict(prof)
        if args.json:
            console.out(dumps(data))
            return EXIT_OK
        console.out(f"{prof.name}: {prof.title}")
        for label, value in (
            ("documentation", prof.documentation),
            ("token URL", prof.token_url or "(none: give --token-url or --issuer)"),
            ("issuer", prof.issuer),
            ("device authorization URL", prof.device_authorization_url),
            ("default token lifetime", f"{prof.default_token_lifetime} s" if prof.default_token_lifetime else None),
        ):
            if value:
                console.out(f"  {label}: {value}")
        console.out("flows (the first whose credentials are all given is used; --flow names one):")
        for flow in prof.flows:
            console.out(f"  {flow.name} ({flow.grant}): {flow.description}")
            console.out(f"      needs: {', '.join(flow.requires) or 'nothing'}")
            if flow.auth_methods:
                console.out(f"      client authentication: {', '.join(flow.auth_methods)}")
            if flow.token_url:
                console.out(f"      token URL: {flow.token_url}")
            if flow.assertion is not None:
                a = flow.assertion
                cap = f", at most {a.max_lifetime} s" if a.max_lifetime else ""
                kid = f", kid={a.kid}" if a.kid else ""
                sub = f", sub={a.subject}" if a.subject else ""
                console.out(
                    f"      grant: {'/'.join(a.algorithms)}; iss={a.issuer}{sub}, aud={a.audience}{kid}; "
                    f"lifetime {a.lifetime} s{cap}"
                )
        console.out("environment variables (used when the option is not given):")
        for name in CREDENTIAL_NAMES:
            own = prof.env.get(name, ())
            if own:
                console.out(f"  --{name.replace('_', '-')}: {', '.join(own)}, then M2MAUTH_{name.upper()}")
        console.out("  any other: M2MAUTH_<NAME> (e.g. M2MAUTH_CLIENT_ID)")
        if prof.error_hints:
            console.out("errors explained: " + ", ".join(dict.fromkeys(h.code for h in prof.error_hints)))
        console.out(f"example: {data['example']}")
        return EXIT_OK
    profiles = [load_profile(name) for name in list_profiles()]
    if args.json:
        console.out(dumps([{"name": p.name, "title": p.title, "flows": [f.name for f in p.flows]} for p in profiles]))
        return EXIT_OK
    width = max(len(p.name) for p in profiles)
    for prof in profiles:
        console.out(f"{prof.name:<{width}}  {prof.title}  [flows: {', '.join(f.name for f in prof.flows)}]")
    console.out("`m2mauth profiles show NAME` gives the flows, credentials, environment variables and endpoints.")
    return EXIT_OK
