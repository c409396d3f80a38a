"""What ``python -m m2mauth.testing`` prints for a person: one command per profile that gets a
token from the running server, on the command line and in Python.

No secret appears in a command: each one reads its secret from the private credentials file
(the CLI through ``--option -``, i.e. stdin), so the printed text can be shared or logged.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Example", "examples", "first_steps_text"]


@dataclass(frozen=True)
class Example:
    """One way of getting a token for ``profile``: ``cli`` and ``python`` are shell commands."""

    profile: str
    cli: str
    python: str


@dataclass(frozen=True)
class _Recipe:
    profile: str
    token_url: str | None  # None: the credentials carry it (the CLMS service key's token_uri)
    plain: tuple[str, ...]  # credential names shown as they are (ids, e-mail, user names)
    secret: str | None  # the credential read from the credentials file (stdin for the CLI)
    more_secrets: tuple[str, ...] = ()  # further ones, read into M2MAUTH_<NAME> for the CLI


def _recipes(token_urls: Mapping[str, str]) -> tuple[_Recipe, ...]:
    return (
        _Recipe("clms", None, (), None),
        _Recipe("disruptive-technologies", token_urls["disruptive-technologies"], ("key_id", "email"), "secret"),
        # OpenAIRE's personal refresh token goes to its GET refresh endpoint, not to /oidc/token.
        _Recipe("openaire", token_urls["openaire"], (), "refresh_token"),
        _Recipe("climate-engine", token_urls["climate-engine"], ("username",), "password"),
        _Recipe("cdse-openeo", token_urls["cdse-openeo"], ("client_id",), "client_secret"),
        _Recipe("cdse", token_urls["cdse"], ("username",), "password"),  # a CDSE account, password grant
        _Recipe("sentinel-hub", token_urls["sentinel-hub"], ("client_id",), "client_secret"),
        _Recipe("eumetsat", token_urls["eumetsat"], ("client_id",), "client_secret"),
        _Recipe("esa-maap", token_urls["esa-maap"], ("client_id",), "refresh_token", ("client_secret",)),
        _Recipe("usgs-m2m", token_urls["usgs-m2m"], ("username",), "application_token"),
        _Recipe("earthdata", token_urls["earthdata"], ("username",), "password"),
        # RFC 8693 token exchange: the subject token on stdin, the client secret in M2MAUTH_CLIENT_SECRET.
        _Recipe(
            "egi-checkin", token_urls["egi-checkin"], ("client_id", "audience"), "subject_token", ("client_secret",)
        ),
        _Recipe("generic", token_urls["generic"], ("client_id",), "client_secret"),  # last: readers wait for it
    )


def _lit(text: str) -> str:
    """A Python string literal in double quotes, which shell single quotes leave alone."""
    return json.dumps(text)


def _read_secret(python: str, credentials_file: str, profile: str, name: str) -> str:
    code = f"import json, sys; print(json.load(open(sys.argv[1]))[{_lit(profile)}][{_lit(name)}])"
    return f"{python} -c {shlex.quote(code)} {shlex.quote(credentials_file)}"


def examples(
    info: Mapping[str, Any], credentials: Mapping[str, Mapping[str, str]], python: str | None = None
) -> list[Example]:
    """The commands for a server described by ``info`` (the JSON line) whose credentials file
    holds ``credentials``. ``python`` is the interpreter to name (default: this one)."""
    py = shlex.quote(python or sys.executable)
    key_file: str = info["service_key_file"]
    creds_file: str = info["credentials_file"]
    out: list[Example] = []
    for recipe in _recipes(info["token_urls"]):
        given = credentials.get(recipe.profile, {})
        options: list[str] = []
        keywords: list[str] = []
        if recipe.token_url is None:
            options += ["--service-key", shlex.quote(key_file)]
            keywords.append(f"service_key={_lit(key_file)}")
        else:
            options += ["--token-url", shlex.quote(recipe.token_url)]
            keywords.append(f"token_url={_lit(recipe.token_url)}")
        for name in recipe.plain:
            options += ["--" + name.replace("_", "-"), shlex.quote(given[name])]
            keywords.append(f"{name}={_lit(given[name])}")
        cli = f"{py} -m m2mauth token {recipe.profile} {' '.join(options)}"
        for name in recipe.more_secrets:  # the variable is set for the m2mauth command, not for the pipe's reader
            cli = f'M2MAUTH_{name.upper()}="$({_read_secret(py, creds_file, recipe.profile, name)})" {cli}'
        load = "import m2mauth; "
        if recipe.secret is not None:
            option = "--" + recipe.secret.replace("_", "-")
            cli = f"{_read_secret(py, creds_file, recipe.profile, recipe.secret)} | {cli} {option} -"
            load = f"import json, m2mauth; c = json.load(open({_lit(creds_file)}))[{_lit(recipe.profile)}]; "
            keywords.append(f"{recipe.secret}=c[{_lit(recipe.secret)}]")
        keywords += [f"{name}=c[{_lit(name)}]" for name in recipe.more_secrets]
        code = f"{load}print(m2mauth.fetch_token({_lit(recipe.profile)}, {', '.join(keywords)}).access_token)"
        out.append(Example(recipe.profile, cli, f"{py} -c {shlex.quote(code)}"))
    return out


def first_steps_text(info: Mapping[str, Any], credentials: Mapping[str, Mapping[str, str]]) -> str:
    """The human part of the server's output (after its JSON line)."""
    lines = [
        "",
        f"m2mauth local TEST provider on {info['base_url']} (nothing leaves 127.0.0.1; Ctrl-C stops it)",
        f"  CLMS test service key:    {info['service_key_file']}",
        f"  other test credentials:   {info['credentials_file']} (per profile; secrets are never printed)",
        f"  protected resource:       {info['resource_url']} (GET with Authorization: Bearer <token>)",
        "",
        "Get a token from it (paste into another shell; each command prints an access token):",
    ]
    for example in examples(info, credentials):
        lines += ["", f"# {example.profile}", f"$ {example.cli}", f"$ {example.python}"]
    return "\n".join(lines) + "\n"
