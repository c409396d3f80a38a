"""The CLMS flow end to end against the local provider, then the two classic mistakes diagnosed.

Run it with ``python -m m2mauth.demo`` (``nox -s demo`` does). Nothing leaves 127.0.0.1, the keys
are generated on the spot, and no secret is printed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import tempfile
import time
from pathlib import Path

import requests

import m2mauth
from m2mauth import jws
from m2mauth.testing import LocalProvider

TIMEOUT = 10


def step(title: str) -> None:
    print(f"\n== {title}")


def show(label: str, value: object) -> None:
    print(f"   {label:<14} {value}")


def main() -> int:
    with LocalProvider(token_lifetime=900) as provider, tempfile.TemporaryDirectory() as folder:
        step("A local CLMS token endpoint and a freshly generated TEST service key")
        key_file = Path(folder) / "land-copernicus.json"
        key_file.write_text(json.dumps(provider.make_clms_service_key()), encoding="utf-8")
        show("endpoint", provider.token_url("clms"))
        show("service key", f"{key_file.name} (client_id, user_id, token_uri, private_key)")

        step("1. Key loaded, algorithm chosen from the key")
        service_key = m2mauth.load_service_key(key_file)
        show("key", service_key.key)
        show("algorithm", f"{service_key.key.default_algorithm} (an RSA key never signs HS256)")

        step("2. Grant built (RFC 7523 §2.1): claims shown, signature redacted")
        plan = m2mauth.build_request("clms", service_key=str(key_file))
        assert plan.assertion is not None
        show("header", plan.assertion.header_json)
        show("claims", plan.assertion.claims_json)
        show("grant", plan.assertion.redacted[:60] + "...<signature redacted>")
        show("request", f"{plan.request.method} {plan.request.url}")
        for name, value in plan.request.redacted()["headers"]:
            show("  header", f"{name}: {value}")
        show("  body fields", ", ".join(f"{n}={v}" for n, v in plan.request.redacted()["form"]))

        step("3. Token fetched")
        token = m2mauth.fetch_token("clms", service_key=str(key_file))
        show("token", token)

        step("4. Protected resource called with a cached, auto-renewed token")
        session = m2mauth.session("clms", service_key=str(key_file))
        answer = session.get(provider.resource_url, timeout=TIMEOUT)
        show("GET /api/resource", f"HTTP {answer.status_code} {answer.json()}")
        session.get(provider.resource_url, timeout=TIMEOUT)
        show("token requests", f"{provider.token_requests('clms')} (one for fetch_token, one for the session)")

        key = json.loads(key_file.read_text(encoding="utf-8"))
        now = int(time.time())
        claims = {
            "iss": key["client_id"],
            "sub": key["user_id"],
            "aud": key["token_uri"],
            "iat": now,
            "exp": now + 3600,
        }

        step("Mistake 1: the grant signed as httr2::jwt_encode_hmac(claim, secret = private_key) does")
        header = jws.json_segment({"typ": "JWT", "alg": "HS256", "alg.1": "RS256"})
        signing_input = jws.signing_input(header, jws.json_segment(claims))
        digest = hmac.new(key["private_key"].encode(), signing_input.encode(), hashlib.sha256).digest()
        bad_grant = signing_input + "." + jws.b64url_encode(digest)
        answer = requests.post(
            key["token_uri"],
            timeout=TIMEOUT,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": bad_grant},
        )
        show("server says", f"HTTP {answer.status_code} {answer.text}")
        print("   m2mauth.inspect(grant, 'clms', token_url=...):")
        for finding in m2mauth.inspect(bad_grant, "clms", token_url=key["token_uri"]).findings:
            print(f"     - {finding.code}: {finding.message}\n       fix: {finding.hint}")
        try:
            m2mauth.sign_jwt(claims, key["private_key"], alg="HS256")
        except m2mauth.ConfigError as error:
            show("and m2mauth", f"refuses it before sending: {error.code}")

        step("Mistake 2: the grant sent as JSON, as httr2::req_body_json() does")
        good_grant = m2mauth.sign_jwt(claims, key["private_key"])
        answer = requests.post(
            key["token_uri"],
            timeout=TIMEOUT,
            data=json.dumps({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": good_grant}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        show("server says", f"HTTP {answer.status_code} {answer.text}")
        explanation = m2mauth.explain(answer, "clms")
        print(f"   m2mauth.explain(response, 'clms'): {explanation.code}\n     fix: {explanation.hint}")

    print("\nDone: the right flow worked, and both mistakes were named with their fix.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
