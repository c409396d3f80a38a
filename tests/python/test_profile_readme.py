"""The README's "Writing your own profile" example is a working profile: loaded from README.md itself
(so the two cannot drift) and used against a real LocalProvider over loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import m2mauth
from m2mauth.testing import LocalProvider

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- profile-example:"


def readme_profile() -> dict[str, Any]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Writing your own profile", 1)[1].split("\n## ", 1)[0]
    found = re.search(re.escape(MARKER) + r".*?-->\n```json\n(.*?)\n```", section, re.DOTALL)
    assert found, "the README section has no marked JSON example"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "my-provider.json"
    path.write_text(json.dumps(readme_profile()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def provider() -> Any:
    with LocalProvider() as running:
        running.add_client("generic", "my-client", "s3cret:%+é")
        running.add_user("generic", "me@example.org", "pa55 word")
        yield running


def test_the_example_follows_the_schema() -> None:
    schema = json.loads((ROOT / "spec" / "schema" / "profile.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(readme_profile())


def test_the_example_gets_tokens_with_each_flow(profile_file: Path, provider: LocalProvider) -> None:
    url = provider.token_url("generic")
    profile = m2mauth.load_profile(profile_file)
    assert (profile.name, [f.name for f in profile.flows]) == ("my-provider", ["api_client", "account"])
    plan = m2mauth.build_request(profile_file, client_id="my-client", client_secret="s3cret:%+é", token_url=url)
    assert (plan.flow.name, plan.auth_method, plan.request.field("scope")) == (
        "api_client",
        "client_secret_basic",
        "read",
    )
    basic = m2mauth.fetch_token(profile_file, client_id="my-client", client_secret="s3cret:%+é", token_url=url)
    post = m2mauth.fetch_token(
        profile_file, client_id="my-client", client_secret="s3cret:%+é", token_url=url, auth_method="client_secret_post"
    )
    account = m2mauth.fetch_token(profile_file, username="me@example.org", password="pa55 word", token_url=url)
    assert basic.access_token and post.access_token and account.access_token
    assert len({basic.access_token, post.access_token, account.access_token}) == 3


def test_the_example_reads_its_environment_variables(
    profile_file: Path, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_PROVIDER_CLIENT_ID", "my-client")
    monkeypatch.setenv("MY_PROVIDER_CLIENT_SECRET", "s3cret:%+é")
    token = m2mauth.fetch_token(profile_file, token_url=provider.token_url("generic"))
    assert token.access_token


def test_the_example_error_hint_is_shown(profile_file: Path, provider: LocalProvider) -> None:
    with pytest.raises(m2mauth.TokenEndpointError) as info:
        m2mauth.fetch_token(
            profile_file, client_id="my-client", client_secret="wrong", token_url=provider.token_url("generic")
        )
    assert info.value.status == 401
    assert info.value.provider_code == "credentials_rejected"
    assert info.value.hint == readme_profile()["error_hints"][0]["hint"]
