"""LocalProvider's expiry and assertion checks follow an injected clock.

The tests build every request by hand, as local_provider_helpers.py explains."""

from __future__ import annotations

import email.utils
import time

import requests
from local_provider_helpers import (
    DT_EMAIL,
    DT_KID,
    DT_SECRET,
    JWT_BEARER,
    TIMEOUT,
    TIMING,
    FakeClock,
    assert_accepted,
    basic,
    dt_assertion,
    post_dt,
    resource,
)

from m2mauth.testing import LocalProvider

# -- expiry with an injected clock -----------------------------------------------------------


def test_expiry_follows_the_injected_clock() -> None:
    clock = FakeClock()
    with LocalProvider(clock=clock, token_lifetime=600) as provider:
        provider.add_client("generic", "c", "s")
        answer = requests.post(
            provider.token_url("generic"),
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic("c", "s")},
            timeout=TIMEOUT,
        )
        assert answer.json()["expires_in"] == 600
        token = answer.json()["access_token"]
        assert email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp() == clock.now
        assert_accepted(provider, token, "generic")
        clock.advance(599)
        assert_accepted(provider, token, "generic")
        clock.advance(2)
        expired = resource(provider, token)
        assert expired.status_code == 401
        assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        for bad in (resource(provider, None), resource(provider, "unknown-token")):
            assert bad.status_code == 401
            assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_assertions_are_judged_by_the_injected_clock() -> None:
    clock = FakeClock(time.time() + 3600)  # the server is an hour ahead of this machine
    with LocalProvider(clock=clock) as provider:
        provider.add_dt_service_account(DT_KID, DT_SECRET, DT_EMAIL)
        late = post_dt(provider, {"assertion": dt_assertion(provider, time.time()), "grant_type": JWT_BEARER})
        assert late.json() == {"error": "invalid_grant", "error_description": TIMING}
        synced = post_dt(provider, {"assertion": dt_assertion(provider, clock.now), "grant_type": JWT_BEARER})
        assert synced.status_code == 200
