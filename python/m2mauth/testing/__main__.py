"""``python -m m2mauth.testing``: run the local provider until Ctrl-C or SIGTERM.

Prints one JSON line on stdout once it serves::

    {"base_url": "http://127.0.0.1:PORT", "service_key_file": "/tmp/...json",
     "credentials_file": "/tmp/...json", "resource_url": "...", "token_urls": {...},
     "openaire_service_token_url": "..."}

``service_key_file`` holds a freshly generated CLMS test service key; ``credentials_file``
holds random test credentials registered for every other profile (so R tests and demos can
exercise them). Both files are private (0600) and removed when the server stops.
``token_urls`` has one URL per profile, the one its credentials in the file go to: for
OpenAIRE the personal refresh token's GET endpoint (its registered services post to
``openaire_service_token_url``).

After that line come, for a person, one command per profile (command line and Python) that
gets a token from this server. No secret is printed: the commands read them from the file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from ._cdse_accounts import new_totp_secret
from ._first_steps import first_steps_text
from .provider import PROFILES, LocalProvider


def _write_private_json(prefix: str, payload: Any) -> str:
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")
    return path


def _register_demo_credentials(provider: LocalProvider) -> dict[str, Any]:
    """Random test credentials for every profile but CLMS, registered with ``provider``."""
    dt = {
        "key_id": "dt-" + secrets.token_hex(10),
        "secret": secrets.token_urlsafe(24),
        "email": "m2mauth-test@serviceaccount.example",
    }
    provider.add_dt_service_account(dt["key_id"], dt["secret"], dt["email"])
    creds: dict[str, Any] = {"disruptive-technologies": dt}
    for profile in ("openaire", "climate-engine", "cdse-openeo", "generic"):
        client = {"client_id": f"{profile}-" + secrets.token_hex(6), "client_secret": secrets.token_urlsafe(24)}
        provider.add_client(profile, client["client_id"], client["client_secret"])
        creds[profile] = dict(client)
    for profile in ("climate-engine", "generic"):
        username, password = "user@example.org", secrets.token_urlsafe(16)
        provider.add_user(profile, username, password)
        creds[profile].update({"username": username, "password": password})
    creds["openaire"]["refresh_token"] = provider.issue_refresh_token("openaire")
    creds["cdse-openeo"]["refresh_token"] = provider.issue_refresh_token("cdse-openeo")
    creds["cdse-openeo"]["public_client_id"] = "cdse-public"
    # EUMETSAT: an API key (consumer key and secret); ESA MAAP: the offline-token client and a 90-day offline token.
    eumetsat = {"client_id": "eumetsat-" + secrets.token_hex(6), "client_secret": secrets.token_urlsafe(24)}
    provider.add_client("eumetsat", eumetsat["client_id"], eumetsat["client_secret"])
    maap = {"client_id": "offline-token-" + secrets.token_hex(4), "client_secret": secrets.token_urlsafe(24)}
    provider.add_client("esa-maap", maap["client_id"], maap["client_secret"])
    maap["refresh_token"] = provider.issue_offline_token(maap["client_id"])
    creds.update({"eumetsat": eumetsat, "esa-maap": maap})
    # USGS M2M: a username and its application token; Earthdata Login: a username and password.
    usgs = {"username": "landsat-user", "application_token": secrets.token_urlsafe(24)}
    provider.add_usgs_user(usgs["username"], usgs["application_token"])
    earthdata = {"username": "edl-user", "password": secrets.token_urlsafe(16)}
    provider.add_earthdata_user(earthdata["username"], earthdata["password"])
    creds.update({"usgs-m2m": usgs, "earthdata": earthdata})
    creds.update(_cdse_demo_credentials(provider))
    creds["egi-checkin"] = _egi_exchange_credentials(provider)
    return creds


def _cdse_demo_credentials(provider: LocalProvider) -> dict[str, Any]:
    """A CDSE account (password grant), one with two-factor authentication (its TOTP seed, for
    m2mauth.testing.totp_code) and a Sentinel Hub dashboard client, registered with ``provider``."""
    cdse = {"username": "eo-user@example.org", "password": secrets.token_urlsafe(16)}
    provider.add_user("cdse", cdse["username"], cdse["password"])
    two_factor = {
        "username": "eo-2fa@example.org",
        "password": secrets.token_urlsafe(16),
        "totp_secret": new_totp_secret(),
    }
    provider.add_user("cdse", two_factor["username"], two_factor["password"], totp_secret=two_factor["totp_secret"])
    cdse.update({f"two_factor_{name}": value for name, value in two_factor.items()})
    hub = {"client_id": "sentinel-hub-" + secrets.token_hex(6), "client_secret": secrets.token_urlsafe(24)}
    provider.add_client("sentinel-hub", hub["client_id"], hub["client_secret"])
    return {"cdse": cdse, "sentinel-hub": hub}


def _egi_exchange_credentials(provider: LocalProvider) -> dict[str, str]:
    """An EGI Check-in client, and a subject token (an access token of another client, valid for
    the server's token lifetime) for the token exchange example."""
    from ..api import fetch_token

    source_id, source_secret = "egi-portal-" + secrets.token_hex(6), secrets.token_urlsafe(24)
    provider.add_client("egi-checkin", source_id, source_secret)
    client = {"client_id": "egi-checkin-" + secrets.token_hex(6), "client_secret": secrets.token_urlsafe(24)}
    provider.add_client("egi-checkin", client["client_id"], client["client_secret"])
    subject = fetch_token(
        "egi-checkin",
        token_url=provider.token_url("egi-checkin"),
        client_id=source_id,
        client_secret=source_secret,
        scope="openid profile",
    )
    return {**client, "audience": client["client_id"], "subject_token": subject.access_token}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m m2mauth.testing",
        description="Run m2mauth's local OAuth2 test token server on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--lifetime", type=int, default=3600, help="access token lifetime in seconds")
    parser.add_argument(
        "--basic-encoding",
        choices=("rfc", "raw"),
        default="rfc",
        help="how client_secret_basic credentials are decoded (default: rfc)",
    )
    parser.add_argument("--device-interval", type=int, default=5, help="device flow polling interval (s)")
    parser.add_argument(
        "--usgs-key-lifetime",
        type=int,
        default=None,
        help="how long the USGS M2M emulation keeps an API key valid, in seconds (default: 7200, as USGS); "
        "shorter than the profile's 2 h, it answers AUTH_EXPIRED to a key the client still holds fresh",
    )
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument("--quiet", action="store_true", help="print only the JSON line (no example commands)")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    files: list[str] = []
    with LocalProvider(
        token_lifetime=args.lifetime,
        port=args.port,
        basic_encoding=args.basic_encoding,
        device_interval=args.device_interval,
        **({} if args.usgs_key_lifetime is None else {"usgs_key_lifetime": args.usgs_key_lifetime}),
    ) as provider:
        try:
            service_key = provider.make_clms_service_key()
            files.append(_write_private_json("m2mauth-test-clms-key-", service_key))
            credentials = _register_demo_credentials(provider)
            files.append(_write_private_json("m2mauth-test-credentials-", credentials))
            token_urls = {profile: provider.token_url(profile) for profile in PROFILES}
            token_urls["openaire"] = provider.token_url("openaire", "refresh_token")  # where its refresh_token goes
            token_urls["cdse"] = provider.token_url("cdse")  # the realm cdse-openeo uses too
            line = {
                "base_url": provider.base_url,
                "service_key_file": files[0],
                "credentials_file": files[1],
                "resource_url": provider.resource_url,
                "token_urls": token_urls,
                "openaire_service_token_url": provider.token_url("openaire"),
                "usgs_api_url": provider.usgs_api_url,
            }
            sys.stdout.write(json.dumps(line) + "\n")
            if not args.quiet:
                sys.stdout.write(first_steps_text(line, credentials))
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            for path in files:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
