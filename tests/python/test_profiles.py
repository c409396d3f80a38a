"""Provider profiles: the shipped ones, flow selection, user files, validation, error hints."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from m2mauth import ConfigError, Profile, list_profiles, load_profile

SHIPPED = [
    "cdse-openeo",
    "climate-engine",
    "clms",
    "disruptive-technologies",
    "earthdata",
    "egi-checkin",
    "esa-maap",
    "eumetsat",
    "generic",
    "openaire",
    "usgs-m2m",
]

SHIPPED = sorted([*SHIPPED, "cdse", "sentinel-hub"])  # issue 11

def minimal() -> dict[str, Any]:
    return {
        "name": "mine",
        "title": "My provider",
        "token_url": "https://auth.example.org/token",
        "flows": [
            {
                "name": "cc",
                "grant": "client_credentials",
                "requires": ["client_id", "client_secret"],
                "auth_methods": ["client_secret_post"],
            }
        ],
    }


def test_list_profiles() -> None:
    assert list_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_profile_loads(name: str, profiles_dir: Path) -> None:
    profile = load_profile(name)
    assert isinstance(profile, Profile)
    assert profile.name == name
    assert profile.flows
    assert load_profile(name) is profile  # cached
    source = json.loads((profiles_dir / f"{name}.json").read_text(encoding="utf-8"))
    assert [f.name for f in profile.flows] == [f["name"] for f in source["flows"]]
    assert profile.token_url == source.get("token_url")
    assert load_profile(profile) is profile


def test_shipped_profile_facts() -> None:
    clms = load_profile("clms")
    assert clms.token_url == "https://land.copernicus.eu/@@oauth2-token"
    template = clms.flow("service_key").assertion
    assert template is not None
    assert (template.issuer, template.subject, template.audience) == ("{client_id}", "{user_id}", "{token_url}")
    assert template.algorithms == ("RS256",)
    assert template.max_lifetime == 3600
    dt = load_profile("disruptive-technologies")
    assert dt.token_url == "https://identity.disruptive-technologies.com/oauth2/token"
    assert dt.env["key_id"] == ("DT_SERVICE_ACCOUNT_KEY_ID",)
    assert dt.env["secret"] == ("DT_SERVICE_ACCOUNT_SECRET",)
    assert dt.env["email"] == ("DT_SERVICE_ACCOUNT_EMAIL",)
    dt_template = dt.flows[0].assertion
    assert dt_template is not None and dt_template.algorithms == ("HS256",) and dt_template.kid == "{key_id}"
    openaire = load_profile("openaire")
    assert openaire.flow("personal_refresh").grant == "get_refresh"
    assert openaire.flow("personal_refresh").token_url == (
        "https://services.openaire.eu/uoa-user-management/api/users/getAccessToken"
    )
    assert openaire.flow("service_advanced").auth_methods == ("private_key_jwt",)
    assert openaire.flow("service_basic").default_auth_method == "client_secret_basic"
    cdse = load_profile("cdse-openeo")
    assert cdse.env["client_id"] == ("OPENEO_AUTH_CLIENT_ID",)
    assert cdse.default_token_lifetime == 600
    assert load_profile("generic").token_url is None


@pytest.mark.parametrize(
    ("profile", "available", "flow", "grant"),
    [
        ("openaire", {"refresh_token"}, "personal_refresh", "get_refresh"),
        ("openaire", {"client_id", "client_secret"}, "service_basic", "client_credentials"),
        ("openaire", {"client_id", "private_key"}, "service_advanced", "client_credentials"),
        ("openaire", {"client_id", "private_key", "client_secret"}, "service_advanced", "client_credentials"),
        ("climate-engine", {"username", "password"}, "password", "password"),
        ("climate-engine", {"client_id", "client_secret"}, "client_credentials", "client_credentials"),
        ("cdse-openeo", {"client_id", "client_secret"}, "client_credentials", "client_credentials"),
        ("cdse-openeo", {"client_id", "refresh_token"}, "refresh_token", "refresh_token"),
        ("cdse-openeo", {"client_id"}, "device_code", "device_code"),
        ("clms", {"service_key"}, "service_key", "jwt_bearer"),
        ("disruptive-technologies", {"key_id", "secret", "email"}, "service_account", "jwt_bearer"),
        ("generic", {"client_id", "client_secret"}, "client_credentials", "client_credentials"),
        ("generic", {"client_id", "private_key"}, "private_key_jwt", "client_credentials"),
    ],
)
def test_flow_selection_by_credentials(profile: str, available: set[str], flow: str, grant: str) -> None:
    chosen = load_profile(profile).select_flow(available)
    assert (chosen.name, chosen.grant) == (flow, grant)


def test_explicit_flow() -> None:
    openaire = load_profile("openaire")
    chosen = openaire.select_flow({"client_id", "client_secret", "refresh_token"}, "service_basic")
    assert chosen.name == "service_basic"


def test_explicit_flow_with_missing_credential() -> None:
    with pytest.raises(ConfigError) as info:
        load_profile("openaire").select_flow({"client_id"}, "service_advanced")
    assert info.value.code == "missing_credential"
    assert "private_key" in info.value.message
    assert "private_key=" in (info.value.hint or "")


def test_unknown_flow() -> None:
    with pytest.raises(ConfigError) as info:
        load_profile("openaire").select_flow({"client_id"}, "nope")
    assert info.value.code == "unknown_flow"
    assert "personal_refresh" in (info.value.hint or "")


def test_no_flow_fits() -> None:
    with pytest.raises(ConfigError) as info:
        load_profile("disruptive-technologies").select_flow({"key_id"})
    assert info.value.code == "missing_credential"
    hint = info.value.hint or ""
    for variable in ("DT_SERVICE_ACCOUNT_KEY_ID", "DT_SERVICE_ACCOUNT_SECRET", "DT_SERVICE_ACCOUNT_EMAIL"):
        assert variable in hint
    with pytest.raises(ConfigError) as info:
        load_profile("clms").select_flow(set())
    assert "M2MAUTH_" in (info.value.hint or "")
    assert "none" in info.value.message


@pytest.mark.parametrize("name", ["nope", "CLMS", "clms ", "open-aire"])
def test_unknown_profile(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_profile(name)
    assert info.value.code == "unknown_profile"
    for shipped in SHIPPED:
        assert shipped in (info.value.hint or "")


def test_user_profile_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(minimal()), encoding="utf-8")
    for value in (path, str(path)):
        profile = load_profile(value)
        assert profile.name == "mine"
        assert profile.source == str(path)
        assert profile.flows[0].auth_methods == ("client_secret_post",)
    # A relative name of an existing file without .json is read too.
    other = tmp_path / "provider-profile"
    other.write_text(json.dumps(minimal()), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_profile("provider-profile").name == "mine"


def test_profile_from_mapping() -> None:
    profile = load_profile(minimal())
    assert profile.name == "mine"
    assert profile.title == "My provider"
    assert profile.basic_encoding == "rfc"
    assert profile.source is None


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_profile(tmp_path / "absent.json")
    assert info.value.code == "unknown_profile"


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"a string"', b"null"])
def test_unreadable_profile_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert info.value.code == "invalid_profile"


def broken(change) -> dict[str, Any]:
    data = copy.deepcopy(minimal())
    change(data)
    return data


@pytest.mark.parametrize(
    "data",
    [
        broken(lambda d: d.pop("name")),
        broken(lambda d: d.update(name="")),
        broken(lambda d: d.update(name=5)),
        broken(lambda d: d.pop("flows")),
        broken(lambda d: d.update(flows=[])),
        broken(lambda d: d.update(flows={"a": 1})),
        broken(lambda d: d.update(flows=[5])),
        broken(lambda d: d["flows"][0].update(grant="jwt-bearer")),
        broken(lambda d: d["flows"][0].pop("grant")),
        broken(lambda d: d["flows"][0].pop("name")),
        broken(lambda d: d["flows"][0].update(auth_methods=["client_secret"])),
        broken(lambda d: d["flows"][0].update(auth_methods=[1])),
        broken(lambda d: d["flows"][0].update(requires=5)),
        broken(lambda d: d["flows"][0].update(grant="jwt_bearer")),
        broken(lambda d: d["flows"][0].update(grant="jwt_bearer", assertion={"issuer": "{client_id}"})),
        broken(lambda d: d["flows"][0].update(grant="jwt_bearer", assertion="yes")),
        broken(
            lambda d: d["flows"][0].update(
                grant="jwt_bearer", assertion={"issuer": "i", "audience": "a", "lifetime": -1}
            )
        ),
        broken(
            lambda d: d["flows"][0].update(
                grant="jwt_bearer", assertion={"issuer": "i", "audience": "a", "max_lifetime": "3600"}
            )
        ),
        broken(lambda d: d.update(error_hints=[{"match": "x", "hint": "h"}])),
        broken(lambda d: d.update(error_hints=[{"match": "x", "code": "c"}])),
        broken(lambda d: d.update(error_hints=["x"])),
        broken(lambda d: d.update(basic_encoding="latin1")),
        broken(lambda d: d.update(env={"client_id": 5})),
        broken(lambda d: d.update(env=["x"])),
        broken(lambda d: d.update(token_url=5)),
        broken(lambda d: d.update(default_token_lifetime=0)),
        broken(lambda d: d.update(default_token_lifetime=True)),
        [],
        "not a mapping",
    ],
)
def test_invalid_profiles(data: Any) -> None:
    with pytest.raises(ConfigError) as info:
        if isinstance(data, dict):
            load_profile(data)
        else:
            from m2mauth.profiles import profile_from_dict

            profile_from_dict(data)
    assert info.value.code == "invalid_profile"


def test_non_list_error_hints() -> None:
    with pytest.raises(ConfigError) as info:
        load_profile(broken(lambda d: d.update(error_hints=5)))
    assert info.value.code == "invalid_profile"


@pytest.mark.parametrize(
    ("profile", "error", "description", "status", "code"),
    [
        ("clms", "invalid_request", "Missing 'grant_type'", 400, "body_not_form_encoded"),
        ("clms", "invalid_request", "Only RS256 signature algorithm is supported", 400, "wrong_signature_algorithm"),
        ("clms", "invalid_grant", "anything", 400, "grant_refused"),
        (
            "disruptive-technologies",
            "invalid_grant",
            "Timing-related error. Check the 'exp' and 'iat' claims.",
            400,
            "assertion_timing",
        ),
        (
            "disruptive-technologies",
            "invalid_grant",
            "Untrusted entity. Check the 'aud' and 'iss' claims.",
            400,
            "untrusted_entity",
        ),
        ("disruptive-technologies", "invalid_grant", "Invalid signature", 400, "invalid_signature"),
        ("disruptive-technologies", "unsupported_grant_type", None, 400, "body_not_form_encoded"),
        ("disruptive-technologies", "invalid_grant", None, 400, "grant_refused"),
        ("openaire", "invalid_grant", None, 400, "refresh_token_rejected"),
        ("openaire", "invalid_client", "Bad client credentials", 401, "client_rejected"),
        ("cdse-openeo", "invalid_client", None, 401, "client_rejected"),
        ("cdse-openeo", "invalid_grant", "Token is not active", 400, "refresh_token_rejected"),
        ("climate-engine", None, None, 401, "credentials_rejected"),
    ],
)
def test_error_hints_for_provider_strings(
    profile: str, error: str | None, description: str | None, status: int, code: str
) -> None:
    found = load_profile(profile).hint_for(error, description, status)
    assert found is not None
    assert found.code == code
    assert found.hint


def test_error_hints_do_not_match_other_text() -> None:
    assert load_profile("clms").hint_for("invalid_request", "Something else", 400) is None
    assert load_profile("climate-engine").hint_for("invalid_request", None, 400) is None
    assert load_profile("generic").hint_for("invalid_grant", "x", 400) is None
    # Matching is case-insensitive on the provider's text.
    found = load_profile("clms").hint_for("invalid_request", "missing 'GRANT_TYPE'", 400)
    assert found is not None and found.code == "body_not_form_encoded"


def test_unknown_user_home_in_profile_path() -> None:
    with pytest.raises(ConfigError):
        load_profile("~m2mauth-no-such-user/profile.json")


def test_overlong_profile_name() -> None:
    with pytest.raises(ConfigError) as info:
        load_profile("x" * 300)
    assert info.value.code == "unknown_profile"
