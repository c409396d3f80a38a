"""doctor for the non-OAuth token services: the USGS application-token line, the Earthdata Login
two-token cap (counted on the emulation's User Tokens API) and the .netrc permission line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from m2mauth.doctor.run import run_doctor
from m2mauth.testing import LocalProvider

USER, PASSWORD = "edl-user", "edl-Pass-DO-NOT-PRINT"


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        running.add_earthdata_user(USER, PASSWORD)
        running.add_usgs_user("landsat-user", "app-token-DO-NOT-PRINT")
        yield running


def line(report: object, name: str) -> object:
    return next(c for c in report.checks if c.name == name)  # type: ignore[attr-defined]


def test_usgs_password_gets_the_application_token_hint(provider: LocalProvider) -> None:
    report = run_doctor(
        "usgs-m2m", username="landsat-user", password="old-pw", token_url=provider.token_url("usgs-m2m"), environ={}
    )
    check = line(report, "application_token")
    assert check.status == "fail" and "application token" in (check.fix or "")  # type: ignore[attr-defined]
    assert "old-pw" not in str(report.checks)


def test_usgs_without_application_token_is_explained(provider: LocalProvider) -> None:
    report = run_doctor("usgs-m2m", username="landsat-user", token_url=provider.token_url("usgs-m2m"), environ={})
    assert line(report, "application_token").status == "warn"  # type: ignore[attr-defined]


def test_earthdata_token_cap_is_counted(provider: LocalProvider, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    args = {"username": USER, "password": PASSWORD, "token_url": provider.token_url("earthdata"), "environ": env}
    first = line(run_doctor("earthdata", **args), "token_cap")
    assert first.status == "ok" and first.details["valid"] <= 1  # type: ignore[attr-defined]
    provider.mint_earthdata_token(USER)
    while provider.earthdata_counts(USER)["valid_tokens"] < 2:
        provider.mint_earthdata_token(USER)
    full = line(run_doctor("earthdata", **args), "token_cap")
    assert full.status == "warn" and "two" in (full.fix or "")  # type: ignore[attr-defined]
    assert PASSWORD not in str(full)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_earthdata_netrc_readable_by_others_is_a_failed_line(provider: LocalProvider, tmp_path: Path) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine urs.earthdata.nasa.gov login {USER} password {PASSWORD}\n", encoding="utf-8")
    netrc.chmod(0o640)
    report = run_doctor("earthdata", token_url=provider.token_url("earthdata"), environ={"NETRC": str(netrc)})
    check = line(report, "credential_file")
    assert check.status == "fail" and "chmod 600" in (check.fix or "")  # type: ignore[attr-defined]
    assert PASSWORD not in str(report.checks)
