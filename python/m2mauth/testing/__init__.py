"""A local OAuth2 token server for offline tests: ``m2mauth.testing``.

:class:`LocalProvider` is a real HTTP server on 127.0.0.1 that emulates the token endpoints
of the providers m2mauth knows, on the same paths and with the same quirks and error
strings as the real services:

=====================  =========================================================
profile                endpoint(s)
=====================  =========================================================
``clms``               ``POST /@@oauth2-token`` (JWT bearer grant, RS256 only)
``disruptive-          ``POST /oauth2/token`` (JWT bearer grant, HS256 + ``kid``)
technologies``
``openaire``           ``POST /oidc/token`` (client_credentials: Basic or
                       private_key_jwt) and ``GET /uoa-user-management/api/users/
                       getAccessToken?refreshToken=...`` (rotating personal token)
``climate-engine``     ``POST /api/v1/auth/jwt/token`` (password; client_credentials
                       with Basic, post or client_secret_jwt)
``cdse-openeo``,       Keycloak-like realm ``/auth/realms/CDSE``: discovery,
``cdse``               password (``totp`` for two-factor accounts, sessions
                       capped per user: 429), client_credentials, refresh_token
                       (``refresh_expires_in``), device flow (RFC 8628)
``sentinel-hub``       ``POST /auth/realms/main/protocol/openid-connect/token``
                       (client_credentials: secret in the body or Basic)
``generic``            ``POST /oauth/token``: a plain RFC 6749 server, with RFC 8414
                       metadata (``/.well-known/oauth-authorization-server``) and
                       a device flow (``POST /oauth/device-authorization``)
(any)                  ``GET /api/resource``: accepts any unexpired token issued here
=====================  =========================================================

It never talks to the network beyond 127.0.0.1, never logs a secret (its log lines go to
the ``m2mauth.testing`` logger, redacted), and can inject faults: rate limiting (429 with
``Retry-After``), 503, slow answers, a proxy's HTML error page, truncated JSON and
connection resets. Every "now" comes from an injectable clock, so expiry is tested by
advancing a fake clock rather than sleeping.

Example, a pytest test of your own pipeline without network access::

    import jwt, requests, time
    from m2mauth.testing import LocalProvider

    def test_pipeline_gets_data():
        with LocalProvider(token_lifetime=600) as provider:
            key = provider.make_clms_service_key()      # a CLMS service key mapping
            now = int(time.time())
            grant = jwt.encode(
                {"iss": key["client_id"], "sub": key["user_id"], "aud": key["token_uri"],
                 "iat": now, "exp": now + 3600},
                key["private_key"], algorithm="RS256",
            )
            token = requests.post(
                key["token_uri"],
                data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                      "assertion": grant},
                timeout=10,
            ).json()["access_token"]
            answer = requests.get(provider.resource_url, timeout=10,
                                  headers={"Authorization": f"Bearer {token}"})
            assert answer.json()["ok"] is True

Other credentials are registered with :meth:`LocalProvider.add_dt_service_account`,
:meth:`~LocalProvider.add_client`, :meth:`~LocalProvider.add_user` and
:meth:`~LocalProvider.issue_refresh_token`; faults with :meth:`~LocalProvider.set_fault`.

From a shell (for R tests, demos and first steps), ``python -m m2mauth.testing [--port N]
[--lifetime S]`` serves until Ctrl-C or SIGTERM and prints one JSON line with ``base_url``,
``service_key_file`` (a freshly generated CLMS test service key), ``credentials_file`` (test
credentials for the other profiles) and ``token_urls``, then one command per profile (command
line and Python) that gets a token from it.
"""

from __future__ import annotations

from ._cdse_accounts import new_totp_secret, totp_code
from .provider import FAULT_KINDS, PROFILES, LocalProvider, RecordedRequest

__all__ = ["FAULT_KINDS", "PROFILES", "LocalProvider", "RecordedRequest", "new_totp_secret", "totp_code"]
