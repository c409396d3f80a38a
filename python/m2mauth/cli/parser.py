"""The argparse parser of ``m2mauth``: every command, its options, its --help text and example."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from typing import Any

from .. import __version__
from ..client_auth import AUTH_METHODS
from . import doctor as doctor_command
from . import inspect as inspect_command
from . import keygen as keygen_command
from . import login as login_command
from . import profiles as profiles_command
from . import token as token_command
from . import vectors as vectors_command
from .common import EXIT_CODES_TEXT, Console, Parser


def _help(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def _credential_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group(
        "credentials",
        "The library's keywords with dashes. A missing one is read from the provider's environment variables "
        "(`m2mauth profiles show NAME` lists them), then M2MAUTH_<NAME>. Secret values may be '-': one line "
        "from stdin.",
    )
    group.add_argument("--service-key", metavar="FILE", help="CLMS service key JSON, as downloaded")
    group.add_argument("--client-id", metavar="ID", help="OAuth client id (OpenAIRE: the Service Id)")
    group.add_argument("--client-secret", metavar="SECRET", help="client secret, or '-' for stdin")
    group.add_argument("--private-key", metavar="FILE", help="private key: PEM (PKCS#1/PKCS#8) or JWK file")
    group.add_argument("--key-id", metavar="KID", help="the key id (JWS 'kid'; DT: the service account key id)")
    group.add_argument("--secret", metavar="SECRET", help="an HMAC secret (DT service account), or '-' for stdin")
    group.add_argument("--email", metavar="EMAIL", help="service account e-mail (DT)")
    group.add_argument("--username", metavar="NAME", help="user name (password grant)")
    group.add_argument("--password", metavar="PASSWORD", help="password (password grant), or '-' for stdin")
    group.add_argument(
        "--totp",
        metavar="CODE",
        help="the current one-time code of a two-factor account (CDSE), or '-' for stdin; works once",
    )
    group.add_argument("--refresh-token", metavar="TOKEN", help="a refresh token, or '-' for stdin")
    group.add_argument("--scope", metavar="SCOPE", help="space-separated scopes to ask for")
    group.add_argument("--token-url", metavar="URL", help="the token endpoint (overrides the profile's)")
    group.add_argument("--issuer", metavar="URL", help="an OIDC issuer: discovery finds the endpoints")
    group.add_argument(
        "--device-authorization-url",
        metavar="URL",
        help="the device authorization endpoint, for a server whose metadata names none (device login)",
    )
    group.add_argument(
        "--audience",
        metavar="AUD",
        help="who the token is for: the grant's aud where the profile lets you set it; token exchange: audience",
    )
    group.add_argument("--key-password", metavar="PASSPHRASE", help="passphrase of an encrypted key, or '-'")
    group.add_argument(
        "--application-token", metavar="TOKEN", help="USGS M2M application token (with --username), or '-' for stdin"
    )
    group.add_argument(
        "--access-token", metavar="TOKEN", help="a ready token used as is (EARTHDATA_TOKEN), or '-' for stdin"
    )
    group.add_argument(
        "--subject-token", metavar="TOKEN", help="token exchange (RFC 8693): the token to exchange, or '-' for stdin"
    )
    group.add_argument(
        "--subject-token-type",
        metavar="URI",
        help="its RFC 8693 token type (default urn:ietf:params:oauth:token-type:access_token)",
    )
    group.add_argument("--resource", metavar="URI", help="token exchange: the resource the new token is for")
    group.add_argument(
        "--requested-token-type", metavar="URI", help="token exchange: the RFC 8693 token type to ask for"
    )
    group.add_argument("--auth-method", choices=AUTH_METHODS, help="client authentication, where a flow offers several")
    group.add_argument(
        "--flow", metavar="NAME", help="the profile's flow to use (default: chosen from the credentials)"
    )
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="seconds to wait for each answer")
    return parent


def _progress_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False, allow_abbrev=False)
    parent.add_argument(
        "--quiet",
        action="store_true",
        help="no progress while waiting (a slow answer, a retry, a lock, a device login); by default a wait over "
        "about 2 s is shown on stderr: one updating line on a terminal, an INFO log line otherwise",
    )
    return parent


def _request_options() -> argparse.ArgumentParser:
    parent = Parser(add_help=False, allow_abbrev=False)
    parent.add_argument(
        "--basic-encoding",
        choices=("rfc", "raw"),
        help="client_secret_basic: form-encode id and secret before base64 as RFC 6749 §2.3.1 says ('rfc', "
        "the default unless the profile says otherwise) or not ('raw', for servers that do not decode them)",
    )
    return parent


def _store_options(no_store: bool = False) -> argparse.ArgumentParser:
    parent = Parser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group("token store")
    where = group.add_mutually_exclusive_group() if no_store else group
    where.add_argument(
        "--store", metavar="DIR", help="the token store folder (default: M2MAUTH_HOME or the user cache folder)"
    )
    if no_store:
        where.add_argument("--no-store", action="store_true", help="a one-off fetch: neither read nor fill the store")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``m2mauth`` (every command with --help and an example)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="m2mauth",
        description="OAuth2 machine-to-machine tokens for research and Earth-observation data APIs: "
        "get them, keep them, and find out why a request fails.",
        epilog=_help(
            """
            examples:
              m2mauth token clms --service-key ~/land-copernicus.json
              m2mauth doctor disruptive-technologies        # credentials from DT_SERVICE_ACCOUNT_* variables
              m2mauth inspect "$GRANT" --profile clms
              m2mauth profiles show openaire
            """
        )
        + "\n"
        + EXIT_CODES_TEXT,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"m2mauth {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    creds = _credential_options()
    waits = _progress_options()

    def command(
        name: str, summary: str, epilog: str, handler: Callable[[argparse.Namespace, Console], int], *parents: Any
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=_help(epilog) + "\n" + EXIT_CODES_TEXT,
            formatter_class=formatter,
            parents=list(parents),
            allow_abbrev=False,
        )
        sub.set_defaults(handler=handler)
        return sub

    token = command(
        "token",
        "Print an access token (from the token store while it is valid; fetched and stored otherwise).",
        """
        examples:
          m2mauth token clms --service-key ~/land-copernicus.json
          curl -H "$(m2mauth token clms --service-key key.json --header)" https://land.copernicus.eu/api/...
          echo "$SECRET" | m2mauth token cdse-openeo --client-id sh-1234 --client-secret -
          m2mauth token cdse --username me@example.org --totp - --store ~/.cache/cdse   # password from the environment
          m2mauth token openaire --refresh-token - --json < refresh-token.txt
          m2mauth token eumetsat --validity-period 86400      # key and secret from ~/.eumdac/credentials
        """,
        token_command.cmd_token,
        creds,
        waits,
        _request_options(),
        _store_options(no_store=True),
    )
    token.add_argument("profile", metavar="PROFILE", help="a profile name (`m2mauth profiles`) or a profile JSON file")
    shape = token.add_mutually_exclusive_group()
    shape.add_argument(
        "--header",
        action="store_true",
        help="print the header line: 'Authorization: Bearer ...' or the profile's own ('X-Auth-Token: ...')",
    )
    shape.add_argument("--json", action="store_true", help="print the token record as JSON (secrets redacted)")
    token.add_argument("--show-secrets", action="store_true", help="with --json: show the access and refresh tokens")
    token.add_argument(
        "--no-keep-refresh-token",
        action="store_true",
        help="do not keep a rotated refresh token in the m2mauth data folder for later runs (for when you "
        "keep the newest one yourself); a --store folder still keeps it",
    )
    token.add_argument(
        "--validity-period",
        type=int,
        metavar="SECONDS",
        help="the token lifetime to ask for, where the profile takes it (eumetsat: eumdac asks for 86400)",
    )

    inspect_cmd = command(
        "inspect",
        "Decode a JWT without trusting it and list what is wrong with it, each with the fix.",
        """
        examples:
          m2mauth inspect eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImFsZy4xIjoiUlMyNTYifQ.eyJ... --profile clms
          pbpaste | m2mauth inspect - --profile disruptive-technologies --json
        """,
        inspect_command.cmd_inspect,
    )
    inspect_cmd.add_argument("jwt", nargs="?", metavar="JWT", help="the JWT; '-' or nothing reads it from stdin")
    inspect_cmd.add_argument("--profile", metavar="PROFILE", help="check it against this provider's rules")
    inspect_cmd.add_argument("--token-url", metavar="URL", help="the token URL its aud must name")
    inspect_cmd.add_argument("--json", action="store_true", help="the diagnosis as JSON")

    doctor = command(
        "doctor",
        "A checklist that says why a token request fails: key file, permissions, key and algorithm, claims, "
        "clock offset, proxy, endpoint, and the exchange with the provider's own hint.",
        """
        Each line is ✓ (ok), ! (warning), ✗ (failed, with the fix under it) or · (not checked).
        The exchange is tried once, without retries, and nothing is stored. With --jwt, a grant you
        made yourself (e.g. with httr2) is inspected, and with --send posted to the token URL.

        examples:
          m2mauth doctor clms --service-key ~/land-copernicus.json
          m2mauth doctor disruptive-technologies --key-id KID --email svc@example.com --secret -
          m2mauth doctor clms --service-key key.json --jwt "$GRANT" --send
          m2mauth doctor clms --service-key key.json --jwt "$GRANT" --send --json-body   # reproduce a JSON body
          m2mauth doctor cdse-openeo --client-id ID --client-secret - --json
        """,
        doctor_command.cmd_doctor,
        creds,
        waits,
        _request_options(),
    )
    doctor.add_argument("profile", metavar="PROFILE", help="a profile name (`m2mauth profiles`) or a profile JSON file")
    doctor.add_argument("--jwt", metavar="JWT", help="diagnose this grant instead of m2mauth's own ('-': stdin)")
    doctor.add_argument("--send", action="store_true", help="with --jwt: POST it to the token URL, form-encoded")
    doctor.add_argument(
        "--json-body", action="store_true", help="with --send: send it as a JSON body instead (the classic mistake)"
    )
    doctor.add_argument("--no-exchange", action="store_true", help="do not try the token exchange")
    doctor.add_argument("--json", action="store_true", help="the report as JSON, for scripts")

    login_cmd = command(
        "login",
        "Log in once with the device flow (visit a URL, enter a code); the refresh token is stored so later "
        "`m2mauth token` runs are not interactive.",
        """
        examples:
          m2mauth login cdse-openeo --client-id cdse-public
          OPENEO_AUTH_CLIENT_ID=cdse-public m2mauth login cdse-openeo --store ~/.m2mauth
        """,
        login_command.cmd_login,
        creds,
        waits,
        _store_options(),
    )
    login_cmd.add_argument("profile", metavar="PROFILE", help="a profile with a device flow (e.g. cdse-openeo)")

    logout_cmd = command(
        "logout",
        "Forget the stored tokens of a profile and credentials (the device login's refresh token included); "
        "where the provider has a logout endpoint (usgs-m2m), end the token there too.",
        """
        examples:
          m2mauth logout cdse-openeo --client-id cdse-public
          m2mauth logout clms --service-key ~/land-copernicus.json
          m2mauth logout usgs-m2m --username me --application-token - < app-token.txt
        """,
        login_command.cmd_logout,
        creds,
        waits,
        _store_options(),
    )
    logout_cmd.add_argument("profile", metavar="PROFILE", help="the profile")

    status_cmd = command(
        "status",
        "List the stored tokens: profile, time left, whether a refresh token is kept (never the tokens).",
        """
        examples:
          m2mauth status
          m2mauth status cdse-openeo --client-id cdse-public --json
        """,
        login_command.cmd_status,
        creds,
        _store_options(),
    )
    status_cmd.add_argument("profile", nargs="?", metavar="PROFILE", help="only this profile's tokens")
    status_cmd.add_argument("--json", action="store_true", help="as JSON")

    keygen = command(
        "keygen",
        "Make an RSA key pair: the private key (PEM, mode 0600), the public JWK exactly as OpenAIRE's advanced "
        "service registration asks (kty, e, kid, alg, n) and the full keystore JWK (mode 0600).",
        """
        Prints the public JWK (to register with the provider) on stdout and the paths on stderr; never
        the private key. Without --out, the private key files go to the current folder and the public
        JWK to stdout only (redirect it to a file, as below).

        examples:
          m2mauth keygen --kid my-service-2025 --out ~/.config/m2mauth/keys
          m2mauth keygen --kid my-service --bits 3072 > my-service.public.jwk.json
        """,
        keygen_command.cmd_keygen,
    )
    keygen.add_argument("--kid", required=True, metavar="KID", help="the key id (registered with the public key)")
    keygen.add_argument(
        "--out",
        metavar="DIR",
        help="folder for all three files (default: the private key files in the current folder, the public JWK "
        "on stdout only)",
    )
    keygen.add_argument("--bits", type=int, default=2048, choices=(2048, 3072, 4096), help="RSA key size")
    keygen.add_argument("--force", action="store_true", help="replace files that exist")

    profiles = command(
        "profiles",
        "List the provider profiles, or show one: flows, credentials, environment variables, endpoints.",
        """
        examples:
          m2mauth profiles
          m2mauth profiles show disruptive-technologies
          m2mauth profiles show clms --json
        """,
        profiles_command.cmd_profiles,
    )
    profiles.add_argument("--json", action="store_true", help="as JSON")
    which = profiles.add_subparsers(dest="profiles_command", metavar="{list,show}", parser_class=Parser)
    listing = which.add_parser(
        "list",
        help="list the profiles (the default)",
        description="List the provider profiles.",
        epilog="example:\n  m2mauth profiles list --json\n",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    listing.add_argument("--json", action="store_true", help="as JSON")
    show = which.add_parser(
        "show",
        help="show one profile",
        description="Show one profile: flows, required credentials, environment variables, endpoints.",
        epilog="example:\n  m2mauth profiles show openaire\n",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    show.add_argument("name", metavar="NAME", help="the profile name (or a profile JSON file)")
    show.add_argument("--json", action="store_true", help="as JSON")

    vectors = command(
        "vectors",
        "Replay the spec's test vectors through the m2mauth core.",
        """
        examples:
          m2mauth vectors verify
          m2mauth vectors verify spec/vectors/clms-jwt-bearer.json
        The independent check, which never imports m2mauth: python spec/verify/verify_vectors.py
        """,
        vectors_command.cmd_vectors,
    )
    vector_commands = vectors.add_subparsers(
        dest="vectors_command", metavar="{verify}", required=True, parser_class=Parser
    )
    verify = vector_commands.add_parser(
        "verify",
        help="replay the vectors (shipped with the package) through the core",
        description="Replay every vector file (or PATH) through the core: each test's token request, JWS and "
        "diagnosis must come out as the file says.",
        epilog="examples:\n  m2mauth vectors verify\n  m2mauth vectors verify path/to/vectors/\n",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    verify.add_argument("path", nargs="?", metavar="PATH", help="a vector file or folder (default: the shipped ones)")
    return parser
