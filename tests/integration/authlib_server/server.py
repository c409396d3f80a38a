#!/usr/bin/env python3
"""A small, real OAuth 2.0 authorization server built from Authlib's server parts.

It exists so that m2mauth's integration tests can show that the requests m2mauth
sends are accepted by an implementation somebody else wrote. Everything that
decides whether a request is valid (client authentication, grant handling, JWT
assertion checks, bearer-token checks) is Authlib's; this folder only supplies the
storage (in memory), the configuration and a few strictness checks that RFC 6749
asks for and Authlib leaves to the application. This file is the entry point; the
parts beside it are imported as top-level modules (its folder is sys.path[0]):
protocol (names and paths), models, server_state, server_config, the Authlib
plug-ins (authorization_server, client_assertion, token_grants, bearer_validator)
and flask_app, which wires them into the endpoints.

Usage::

    python server.py --config CONFIG.json --port 0 --ready-file READY.json

The server binds 127.0.0.1 only. Once it accepts connections it writes
``{"port": N, "pid": P}`` to the ready file (atomically), then serves until
SIGTERM or SIGINT (``--exit-with-parent``: or until the process that started it
is gone; ``--max-seconds S``: or for at most S seconds).

Configuration (JSON)::

    {
      "expires_in": 3600,              # default access-token lifetime, seconds
      "leeway": 60,                    # clock-skew allowance for JWT assertions
      "token_delay": 0.0,              # optional sleep before each token request
      "assertion_algorithms": null,    # null = Authlib/joserfc default (HS256, RS256, ES256)
      "extra_audiences": [],           # accepted besides the token endpoint URL
      "clients": [
        {"client_id": "...", "client_secret": "...",
         "token_endpoint_auth_method": "client_secret_basic",
         "grant_types": ["client_credentials"], "scope": "read write",
         "jwks": {"keys": [...]},      # private_key_jwt only: public keys
         "expires_in": 1}              # optional per-client lifetime
      ],
      "users": [{"username": "...", "password": "..."}],
      "issuers": [                     # or a mapping {"<iss>": {...the rest...}}
        {"iss": "...", "jwk": {...} | "jwks": {"keys": [...]} | "secret": "...",
         "subject": "..." | "subjects": ["..."], "scope": "...", "expires_in": 60}
      ]
    }

Endpoints: ``POST /oauth/token``, ``GET /api/resource``, ``GET /_stats``,
``POST /_stats/reset``, ``GET /.well-known/oauth-authorization-server``.

Nothing secret (client secrets, passwords, assertions, tokens, Authorization
headers, request bodies) is ever logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask_app import create_app
from joserfc.errors import JoseError
from server_config import ConfigError, load_state
from werkzeug.serving import BaseWSGIServer, make_server

LOG = logging.getLogger("authlib-test-server")

BIND_HOST = "127.0.0.1"


def _write_ready_file(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"port": port, "pid": os.getpid()}), encoding="utf-8")
    os.replace(tmp, path)


def _watch_parent(server: BaseWSGIServer, parent: int, stop: threading.Event) -> None:
    """Shut down if the process that started us goes away (no orphans)."""
    while not stop.wait(0.5):
        if os.getppid() != parent:
            LOG.warning("parent process went away; shutting down")
            server.shutdown()
            return


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", required=True, type=Path, help="JSON configuration file")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = free)")
    parser.add_argument("--ready-file", required=True, type=Path, help='gets {"port", "pid"}')
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="also stop when the starting process goes away (used by the pytest fixture)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=0.0,
        help="stop by itself after this long (default 0 = never)",
    )
    return parser.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s authlib-test-server %(levelname)s %(message)s",
    )
    # werkzeug's access log would print query strings, Authlib's debug log tokens
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("authlib").setLevel(logging.WARNING)

    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ConfigError("the configuration must be a JSON object")
        state = load_state(config)
    except (OSError, ValueError, JoseError) as error:
        LOG.error("bad configuration: %s", error)
        return 2

    app = create_app(state)
    server = make_server(BIND_HOST, args.port, app, threaded=True)
    port = int(server.server_port)
    state.base_url = f"http://{BIND_HOST}:{port}"

    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        LOG.info("signal %s received; shutting down", signum)
        # shutdown() waits for serve_forever() to return: never call it from its thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.exit_with_parent:
        threading.Thread(target=_watch_parent, args=(server, os.getppid(), stop), daemon=True).start()
    if args.max_seconds > 0:
        timer = threading.Timer(args.max_seconds, server.shutdown)
        timer.daemon = True
        timer.start()

    LOG.info(
        "listening on %s with %d clients, %d issuers, %d users",
        state.base_url,
        len(state.clients),
        len(state.issuers),
        len(state.users),
    )
    _write_ready_file(args.ready_file, port)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        stop.set()
        server.server_close()
    LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
