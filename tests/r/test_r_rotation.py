"""A rotated refresh token is never lost across R sessions (issue 8, part 1, the R side).

The same R script runs three times, each in a SEPARATE Rscript process, each with the ORIGINAL
OpenAIRE refresh token (as it comes from the user's configuration), against a strictly rotating
local provider in this process (a spent refresh token is refused at once). Before the core kept
the newest refresh token, the second run failed with invalid_grant.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from m2mauth.testing import LocalProvider

from .conftest import r_env, r_json

pytestmark = pytest.mark.usefixtures("installed_r_package")

RUNS = 3

SCRIPT = """
suppressPackageStartupMessages(library(m2mauth))
original <- Sys.getenv("OPENAIRE_REFRESH_TOKEN")
url <- Sys.getenv("OPENAIRE_REFRESH_URL")
req <- req_auth_m2m(httr2::req_timeout(httr2::request(Sys.getenv("RESOURCE_URL")), 10), "openaire",
                    refresh_token = original, token_url = url)
first <- httr2::resp_status(httr2::req_perform(req))
token <- m2m_token("openaire", refresh_token = original, token_url = url)
second <- httr2::resp_status(httr2::req_perform(httr2::req_auth_bearer_token(
  httr2::req_timeout(httr2::request(Sys.getenv("RESOURCE_URL")), 10), token$access_token)))
cat(jsonlite::toJSON(list(status = c(first, second)), auto_unbox = TRUE), "\\n")
"""


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=600) as server:  # refresh_reuse_interval 0: strict rotation
        yield server


def test_the_same_original_refresh_token_works_in_three_r_sessions(provider: LocalProvider, tmp_path: Path) -> None:
    original = provider.issue_refresh_token("openaire")
    home = tmp_path / "m2mauth-home"
    env = r_env(
        M2MAUTH_HOME=str(home),
        OPENAIRE_REFRESH_TOKEN=original,
        OPENAIRE_REFRESH_URL=provider.token_url("openaire", "refresh"),
        RESOURCE_URL=provider.resource_url,
    )
    env.pop("M2MAUTH_REFRESH_TOKEN", None)
    for run in range(RUNS):
        out = r_json(SCRIPT, env=env)
        assert out["status"] == [200, 200], f"run {run + 1}: {out}"
    # Two grants a run (req_auth_m2m, m2m_token), each spending the newest refresh token.
    assert provider.token_requests("openaire") == 2 * RUNS
    assert not provider.refresh_token_accepted("openaire", original)
    files = [path for path in home.rglob("*") if path.is_file()]
    assert files
    for path in home.rglob("*"):  # under M2MAUTH_HOME (the user's choice of folder): 0700 folders, 0600 files
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, (path, oct(mode))
        else:
            assert mode == 0o600, (path, oct(mode))
    kept = [json.loads(path.read_text(encoding="utf-8")) for path in files if path.parent.name == "tokens"]
    assert kept, [path.name for path in files]
