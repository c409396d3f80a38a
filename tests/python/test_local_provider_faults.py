"""LocalProvider's injected faults: 429, 503, slow, HTML, truncated JSON, reset.

The tests build every request by hand, as local_provider_helpers.py explains."""

from __future__ import annotations

import json
import time

import pytest
import requests
from local_provider_helpers import (
    TIMEOUT,
    resource,
)

from m2mauth.testing import LocalProvider

# -- faults ----------------------------------------------------------------------------------


def cc_request(provider: LocalProvider) -> requests.Response:
    return requests.post(
        provider.token_url("generic"),
        data={"grant_type": "client_credentials", "client_id": "fault-client", "client_secret": "fault-secret"},
        timeout=TIMEOUT,
    )


@pytest.fixture
def faulty(provider: LocalProvider) -> LocalProvider:
    provider.add_client("generic", "fault-client", "fault-secret")
    return provider


def test_fault_429_with_retry_after(faulty: LocalProvider) -> None:
    faulty.set_fault("429", retry_after="7")
    faulty.set_fault("429")
    first = cc_request(faulty)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    second = cc_request(faulty)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert cc_request(faulty).status_code == 200
    assert faulty.token_requests("generic") == 3
    assert faulty.token_requests() == 3
    assert faulty.token_requests("clms") == 0
    assert [r.fault for r in faulty.requests_log] == ["429", "429", None]


def test_fault_503_times_and_status(faulty: LocalProvider) -> None:
    faulty.set_fault("503", times=2, retry_after="0")
    assert [cc_request(faulty).status_code for _ in range(3)] == [503, 503, 200]
    faulty.set_fault("503", status=500)
    answer = cc_request(faulty)
    assert answer.status_code == 500
    assert "Retry-After" not in answer.headers


def test_fault_slow(faulty: LocalProvider) -> None:
    faulty.set_fault("slow", delay=0.6)
    started = time.monotonic()
    answer = cc_request(faulty)
    assert time.monotonic() - started >= 0.55
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        faulty.set_fault("slow", delay=0)
    with pytest.raises(ValueError):
        faulty.set_fault("slow", delay=3600)
    faulty.set_fault("slow", delay=2.0)
    with pytest.raises(requests.Timeout):
        requests.post(faulty.token_url("generic"), data={"grant_type": "client_credentials"}, timeout=0.3)


def test_fault_html_page(faulty: LocalProvider) -> None:
    faulty.set_fault("html")
    answer = cc_request(faulty)
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "<html>" in answer.text and "502 Bad Gateway" in answer.text
    with pytest.raises(ValueError):
        answer.json()


def test_fault_truncated_json(faulty: LocalProvider) -> None:
    faulty.set_fault("truncated_json")
    answer = cc_request(faulty)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(answer.text)


def test_fault_reset(faulty: LocalProvider) -> None:
    faulty.set_fault("reset")
    with pytest.raises(requests.ConnectionError):
        cc_request(faulty)
    assert cc_request(faulty).status_code == 200
    assert faulty.requests_log[0].status is None
    assert faulty.requests_log[0].fault == "reset"


def test_faults_hit_token_endpoints_only_and_change_no_state(faulty: LocalProvider) -> None:
    with pytest.raises(ValueError):
        faulty.set_fault("teapot")
    refresh = faulty.issue_refresh_token("openaire")
    faulty.set_fault("503")
    assert requests.get(faulty.discovery_url(), timeout=TIMEOUT).status_code == 200
    assert resource(faulty, "nothing").status_code == 401
    url = faulty.token_url("openaire", "refresh_token")
    assert requests.get(url, params={"refreshToken": refresh}, timeout=TIMEOUT).status_code == 503
    assert requests.get(url, params={"refreshToken": refresh}, timeout=TIMEOUT).status_code == 200
    faulty.set_fault("429")
    faulty.clear_faults()
    assert cc_request(faulty).status_code == 200
