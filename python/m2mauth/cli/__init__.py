"""The ``m2mauth`` command line: get a token, inspect a JWT, and find out why a token request fails.

Commands (``m2mauth COMMAND --help`` shows each one's options and an example)::

    m2mauth token    PROFILE [credentials] [--header | --json [--show-secrets]] [--no-store | --store DIR]
    m2mauth inspect  [JWT | -] [--profile P] [--token-url URL] [--json]
    m2mauth doctor   PROFILE [credentials] [--jwt JWT|- [--send [--json-body]]] [--no-exchange] [--json]
    m2mauth login    PROFILE [credentials] [--store DIR]
    m2mauth logout   PROFILE [credentials] [--store DIR]
    m2mauth status   [PROFILE [credentials]] [--store DIR] [--json]
    m2mauth keygen   --kid KID [--out DIR] [--bits 2048] [--force]
    m2mauth profiles [list | show NAME] [--json]
    m2mauth vectors  verify [PATH]

Credential options use the library's keywords with dashes (``--service-key``, ``--client-id``,
``--client-secret``, ``--private-key``, ``--key-id``, ``--secret``, ``--email``, ``--username``,
``--password``, ``--refresh-token``, ``--scope``, ``--token-url``, ``--issuer``, ``--audience``,
``--key-password``) plus ``--auth-method`` and ``--flow``. Missing ones come from the provider's
environment variables (e.g. ``DT_SERVICE_ACCOUNT_SECRET``), then ``M2MAUTH_<NAME>``. A secret
value (client secret, secret, password, refresh token, key password) given as ``-`` is read from
stdin (one line; typed without echo on a terminal), which keeps it out of the shell history and
the process list.

Exit status (stable; scripts may rely on it):

    0  ok
    1  a check failed (doctor, inspect, vectors verify) or the token endpoint refused (TokenEndpointError)
    2  usage error (unknown command or option, missing argument)
    3  configuration error (ConfigError: bad input, key file, credentials, profile)
    4  transport error (TransportError: network, timeout, TLS, proxy)
    5  interrupted (Ctrl-C) or any other error

Every error prints ``error [code]: message`` and ``hint: ...`` on stderr, never a traceback (set
``M2MAUTH_DEBUG=1`` to get the traceback of an unexpected error).

Secrets are never echoed: the only secret ever written is the access token ``m2mauth token``
was asked for (and, with ``--json --show-secrets``, its refresh token). Everything else passes
through a filter that masks every secret value given as an option, on stdin or in the
provider's environment variables.

Why argparse rather than click: it is in the standard library, so the command line adds no
dependency to a package that R users install through reticulate, where every extra wheel is one
more thing to fail; it has what the CLI needs (subcommands, per-command ``--help`` with examples
through ``RawDescriptionHelpFormatter`` epilogs, exit status 2 for usage errors); and the CLI is

The command line is a package with one module per command (``token``, ``inspect``, ``doctor``,
``login`` for login/logout/status, ``keygen``, ``profiles``, ``vectors``), ``common`` for what they
share (exit codes, output, stdin, credential options), ``labels`` for the token store's labels and
``parser`` for the argparse parser; :func:`main` lives here so ``m2mauth.cli:main`` stays the
script entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from ..errors import ConfigError, M2MAuthError, TokenEndpointError, TransportError
from .common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_OTHER,
    EXIT_TRANSPORT,
    EXIT_USAGE,
    Console,
    UsageError,
)
from .feedback import shown
from .parser import build_parser

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_OTHER",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

_EXIT_FOR = ((TokenEndpointError, EXIT_FAILED), (ConfigError, EXIT_CONFIG), (TransportError, EXIT_TRANSPORT))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises, unless M2MAUTH_DEBUG is set)."""
    console = Console()
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        args = parser.parse_args(list(argv) if argv is not None else None)
        console.command = f"m2mauth {args.command}"
        handler: Callable[[argparse.Namespace, Console], int] = args.handler
        with shown(args, console):
            return handler(args, console)
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else EXIT_OK if done.code is None else EXIT_USAGE
    except UsageError as exc:
        console.error("usage", str(exc), f"`{exc.prog or console.command} --help` shows the options and an example.")
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.error("interrupted", "interrupted", None)
        return EXIT_OTHER
    except M2MAuthError as exc:
        status = next((code for cls, code in _EXIT_FOR if isinstance(exc, cls)), EXIT_OTHER)
        console.error(exc.code, exc.message, exc.hint)
        if (
            args is not None
            and args.command in ("token", "login")
            and isinstance(exc, (TokenEndpointError, TransportError))
        ):
            console.err(f"see: `m2mauth doctor {args.profile} ...` with the same options runs a checklist")
        return status
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head -1`)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OTHER
    except Exception as exc:
        if os.environ.get("M2MAUTH_DEBUG"):
            raise
        console.error(
            "internal_error",
            f"unexpected {type(exc).__name__} (set M2MAUTH_DEBUG=1 to see the traceback)",
            "This is a bug in m2mauth; please report it with the command you ran (without secrets).",
        )
        return EXIT_OTHER
