"""Credentials and environments of the canary world shared by the flow, error and CLI runs."""

from __future__ import annotations

from typing import Any

from canary_world import World


def no_env(world: World) -> dict[str, str]:
    return {}


def dt_env(w: World) -> dict[str, str]:
    return {
        "DT_SERVICE_ACCOUNT_KEY_ID": "dt-canary-kid",
        "DT_SERVICE_ACCOUNT_SECRET": w.c.hmac_secret,
        "DT_SERVICE_ACCOUNT_EMAIL": "svc@canary.serviceaccount.example",
    }


def generic_secret(w: World) -> dict[str, Any]:
    return {"token_url": w.url("generic"), "client_id": "gen-secret", "client_secret": w.c.client_secret}


def ce_client(w: World) -> dict[str, Any]:
    return {"token_url": w.url("climate-engine"), "client_id": "ce-client", "client_secret": w.c.client_secret}


def one_line_key_body(pem: str) -> str:
    """What a CI secret often holds: the PEM body on one line, without its BEGIN/END lines."""
    return "".join(line for line in pem.splitlines() if "-----" not in line)


CLOSED = "http://127.0.0.1:{port}/uoa-user-management/api/users/getAccessToken"
