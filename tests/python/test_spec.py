"""Every spec file validates against its schema, and the profiles the core loads are the spec's."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

import m2mauth
from m2mauth.profiles import spec_path

SPEC = Path(__file__).resolve().parents[2] / "spec"


def schema(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SPEC / "schema" / name).read_text(encoding="utf-8"))
    return loaded


def validator(name: str) -> jsonschema.protocols.Validator:
    """A validator that resolves $refs between the spec's schemas offline (by their $id)."""
    registry: Registry[object] = Registry().with_resources(
        (data["$id"], Resource.from_contents(data))
        for data in (schema(p.name) for p in (SPEC / "schema").glob("*.json"))
    )
    cls = jsonschema.validators.validator_for(schema(name))
    cls.check_schema(schema(name))
    return cls(schema(name), registry=registry)


@pytest.mark.parametrize("path", sorted((SPEC / "schema").glob("*.json")), ids=lambda p: p.name)
def test_schemas_are_valid_schemas(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(data).check_schema(data)


@pytest.mark.parametrize("path", sorted((SPEC / "profiles").glob("*.json")), ids=lambda p: p.name)
def test_profiles_validate(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    validator("profile.schema.json").validate(data)
    assert data["name"] == path.stem
    assert m2mauth.load_profile(path.stem).name == path.stem


@pytest.mark.parametrize("path", sorted((SPEC / "vectors").rglob("*.json")), ids=lambda p: p.name)
def test_vectors_validate(path: Path) -> None:
    validator("vectors.schema.json").validate(json.loads(path.read_text(encoding="utf-8")))


def test_service_key_validates() -> None:
    key = json.loads((SPEC / "keys" / "test-clms-service-key.json").read_text(encoding="utf-8"))
    validator("service-key.schema.json").validate(key)


def test_a_broken_profile_is_rejected_by_the_schema() -> None:
    data = json.loads((SPEC / "profiles" / "clms.json").read_text(encoding="utf-8"))
    data["flows"][0]["grant"] = "jwt-bearer"  # the URN-ish spelling is not a grant name here
    with pytest.raises(jsonschema.ValidationError):
        validator("profile.schema.json").validate(data)


def test_core_reads_the_spec_folder_in_a_source_checkout() -> None:
    assert spec_path("profiles", "clms.json").resolve() == (SPEC / "profiles" / "clms.json").resolve()
    assert set(m2mauth.list_profiles()) == {p.stem for p in (SPEC / "profiles").glob("*.json")}
