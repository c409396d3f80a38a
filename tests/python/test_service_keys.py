"""Service keys (CLMS-style JSON with a private key): loading, repr and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from key_checks import DATA, same_public

from m2mauth import ConfigError, ServiceKey, load_key, load_service_key

# --- service keys --------------------------------------------------------------------------------


def test_service_key_from_path_text_and_mapping(keys_dir: Path, rsa_private) -> None:
    path = keys_dir / "test-clms-service-key.json"
    text = path.read_text(encoding="utf-8")
    for value in (path, str(path), text, text.encode("utf-8"), json.loads(text)):
        service = load_service_key(value)
        assert isinstance(service, ServiceKey)
        assert service.client_id == "m2mauth-test-client-0f3a"
        assert service.user_id == "m2mauth-test-user"
        assert service.token_uri == "https://land.copernicus.eu/@@oauth2-token"
        assert service.key_id == "m2mauth-test-key-1"
        assert service.title == "m2mauth TEST service key (not a real credential)"
        assert service.key.kind == "RSA"
        assert service.key.sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())


def test_service_key_repr_hides_private_key(keys_dir: Path) -> None:
    service = load_service_key(keys_dir / "test-clms-service-key.json")
    text = repr(service)
    assert "PRIVATE" not in text
    assert "MIIE" not in text
    assert "m2mauth-test-client-0f3a" in text


def test_service_key_json_via_load_key(keys_dir: Path, rsa_public) -> None:
    key = load_key(keys_dir / "test-clms-service-key.json")
    assert same_public(rsa_public, key)
    assert load_key(keys_dir / "test-clms-service-key.json", kid="x").kid == "x"


def test_service_key_missing_fields_are_named(keys_dir: Path) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    del data["user_id"]
    data["private_key"] = ""
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code == "missing_field"
    assert "user_id" in info.value.message
    assert "private_key" in info.value.message
    assert "client_id" not in info.value.message
    with pytest.raises(ConfigError) as info:
        load_service_key({})
    for name in ("client_id", "user_id", "token_uri", "private_key"):
        assert name in info.value.message


def test_service_key_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_service_key(tmp_path / "land-copernicus.json")
    assert info.value.code == "key_file_not_found"
    with pytest.raises(ConfigError) as info:
        load_service_key(str(tmp_path / "land-copernicus.json"))
    assert info.value.code == "key_file_not_found"


@pytest.mark.parametrize("value", ["{not json", b"[1, 2]", b"\xff\xfe", '"text"'])
def test_service_key_bad_json(value: str | bytes, tmp_path: Path) -> None:
    if isinstance(value, str) and not value.startswith("{"):
        path = tmp_path / "key.json"
        path.write_text(value, encoding="utf-8")
        value = str(path)
    with pytest.raises(ConfigError) as info:
        load_service_key(value)
    assert info.value.code == "invalid_service_key"


def test_service_key_with_an_encrypted_private_key(keys_dir: Path, passphrase: str, rsa_private) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    data["private_key"] = (keys_dir / "test-rsa-2048.encrypted.pem").read_text(encoding="ascii")
    service = load_service_key(data, password=passphrase)
    assert service.key.sign(DATA, "RS256") == rsa_private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code == "key_password_required"
    with pytest.raises(ConfigError) as info:
        load_service_key(data, password=passphrase + "x")
    assert info.value.code == "invalid_key"


def test_service_key_with_ec_key_is_refused(keys_dir: Path) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    data["private_key"] = (keys_dir / "test-ec-p256.pkcs8.pem").read_text(encoding="ascii")
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code == "key_algorithm_mismatch"


def test_service_key_private_key_is_never_a_path(keys_dir: Path) -> None:
    data = json.loads((keys_dir / "test-clms-service-key.json").read_text(encoding="utf-8"))
    data["private_key"] = "not-a-key"
    with pytest.raises(ConfigError) as info:
        load_service_key(data)
    assert info.value.code in ("invalid_key", "invalid_service_key")


@pytest.mark.parametrize("path", ["key\x00.json", "\ud800"])
def test_service_key_nul_path(path: str) -> None:
    with pytest.raises(ConfigError):
        load_service_key(path)


def test_service_key_deep_json() -> None:
    with pytest.raises(ConfigError):
        load_service_key('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")


def test_unknown_user_home_in_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_key("~m2mauth-no-such-user/key.pem")
    assert info.value.code in ("key_file_not_found", "key_file_unreadable")


def test_unknown_user_home_in_service_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_service_key("~m2mauth-no-such-user/land-copernicus.json")
    assert info.value.code in ("key_file_not_found", "key_file_unreadable")
