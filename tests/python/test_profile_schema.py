"""The profile loader and the spec's JSON Schema agree: the same mutated profiles, the same verdicts.

The loader applies spec/schema/profile.schema.json with its own checker (m2mauth.schema_check), so
jsonschema is needed only here. Every shipped profile is mutated at every member and every level
(misspelt names, removed members, values of every JSON type, misspelt enum values, extra members),
and each mutation must be accepted by both or rejected by both; a rejection names the member.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mauth import ConfigError, Profile, load_profile
from m2mauth.credentials import CREDENTIAL_NAMES
from m2mauth.profiles import profile_from_dict
from m2mauth.schema_check import ANNOTATIONS, KEYWORDS, check, load_schema

SPEC = Path(__file__).resolve().parents[2] / "spec"
SCHEMA = json.loads((SPEC / "schema" / "profile.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
SHIPPED = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((SPEC / "profiles").glob("*.json"))}

#: One value of each JSON type, and the near misses people write (a number as text, 0, a fraction).
REPLACEMENTS: list[Any] = [None, True, False, 0, 1, -1, 2.0, 1.5, "", "x", "401", "true", [], ["x"], {}, {"x": 1}]

Path_ = tuple[str | int, ...]


def misspell(word: str) -> list[str]:
    """Typos of ``word``: a letter dropped, two swapped, a letter doubled, plural/singular, case, '-' for '_'."""
    out = {word[:i] + word[i + 1 :] for i in range(0, len(word), max(1, len(word) // 3))}
    if len(word) > 2:
        out.add(word[1] + word[0] + word[2:])
    out |= {
        word + "s",
        word[:-1] if word.endswith("s") else word + "x",
        word.upper(),
        word.replace("_", "-"),
        word + " ",
    }
    out.discard(word)
    return sorted(out)


def nodes(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*path, index))


def replaced(doc: Any, path: Path_, new: Any) -> Any:
    out = copy.deepcopy(doc)
    if not path:
        return new
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = new
    return out


def mutations(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for path, value in list(nodes(doc)):
        label = "/".join(map(str, path)) or "(root)"
        for new in REPLACEMENTS:
            if new != value or type(new) is not type(value):
                yield f"{label}={json.dumps(new)}", replaced(doc, path, new)
        if isinstance(value, str):
            for typo in misspell(value)[:4]:
                yield f"{label}={typo!r}", replaced(doc, path, typo)
        if isinstance(value, dict):
            yield f"{label}+extra", replaced(doc, path, {**value, "extra": 1})
            for key in value:
                yield f"{label}-{key}", replaced(doc, path, {k: v for k, v in value.items() if k != key})
                for typo in misspell(key):
                    renamed = {(typo if k == key else k): v for k, v in value.items()}
                    yield f"{label}: {key}->{typo}", replaced(doc, path, renamed)
        if isinstance(value, list):
            yield f"{label}+dup", replaced(doc, path, [*value, *value[:1]])
            yield f"{label}+x", replaced(doc, path, [*value, "x"])


def loader_verdict(doc: Any) -> bool:
    try:
        profile = profile_from_dict(doc)
    except ConfigError as err:
        assert err.code == "invalid_profile"
        return False
    assert isinstance(profile, Profile)
    return True


CASES = [(f"{name}: {label}", doc) for name, source in SHIPPED.items() for label, doc in mutations(source)]


def test_the_mutations_are_many_and_both_verdicts_occur() -> None:
    assert len(CASES) > 2000
    verdicts = [VALIDATOR.is_valid(doc) for _, doc in CASES]
    assert any(verdicts) and not all(verdicts)


def test_loader_and_schema_agree_on_every_mutation() -> None:
    disagreements = []
    for label, doc in CASES:
        schema_says = VALIDATOR.is_valid(doc)
        if loader_verdict(doc) != schema_says:
            disagreements.append(f"{label}: schema {'accepts' if schema_says else 'rejects'}")
    assert not disagreements, "\n".join(disagreements[:20])


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_profiles_pass_both(name: str) -> None:
    VALIDATOR.validate(SHIPPED[name])
    assert check(SHIPPED[name], load_schema("profile.schema.json")) == []
    assert load_profile(name).name == name


def test_every_keyword_of_the_schema_is_applied_by_the_checker() -> None:
    """A keyword added to the schema that the checker does not know would be silently ignored."""

    def keywords(schema: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(schema, dict):
            for key, value in schema.items():
                found.add(key)
                if key in ("properties", "$defs"):
                    for sub in value.values():
                        found |= keywords(sub)
                elif isinstance(value, dict) and key not in ("const",):
                    found |= keywords(value)
        return found

    assert keywords(SCHEMA) <= KEYWORDS | ANNOTATIONS


def test_requires_and_env_names_are_the_credential_keywords() -> None:
    assert SCHEMA["$defs"]["credential"]["enum"] == list(CREDENTIAL_NAMES)


def base() -> dict[str, Any]:
    return copy.deepcopy(SHIPPED["climate-engine"])


def rejection(doc: Any) -> str:
    assert not VALIDATOR.is_valid(doc)
    with pytest.raises(ConfigError) as info:
        load_profile(doc)
    assert info.value.code == "invalid_profile"
    assert info.value.hint and "Writing your own profile" in info.value.hint
    return info.value.message


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(tokn_url=d.pop("token_url")), "tokn_url: unknown member; did you mean token_url?"),
        (
            lambda d: d["flows"][1].update(auth_method=d["flows"][1].pop("auth_methods")),
            "flows[1].auth_method: unknown member; did you mean auth_methods?",
        ),
        (lambda d: d["flows"][0].update(refresh=1), "flows[0].refresh: unknown member"),
        (
            lambda d: d["flows"][1].update(requires=["client_id", "client_secet"]),
            "flows[1].requires[1]: 'client_secet' is not allowed; did you mean client_secret?",
        ),
        (
            lambda d: d["flows"][1].update(client_assertion_algorithms=["HS999"]),
            "flows[1].client_assertion_algorithms[0]: 'HS999' is not allowed; use one of: RS256",
        ),
        (
            lambda d: d["error_hints"][0].update(status="401"),
            "error_hints[0].status: must be an integer, not text (write 401 without quotes)",
        ),
        (
            lambda d: d.update(env={"client_secet": ["X"]}),
            "env.client_secet: 'client_secet' is not allowed; did you mean",
        ),
        (
            lambda d: d["flows"][0].update(grant="pasword"),
            "flows[0].grant: 'pasword' is not allowed; did you mean password?",
        ),
        (lambda d: d.pop("title"), "(top level): the member title is missing"),
        (lambda d: d.update(default_token_lifetime=0), "default_token_lifetime: must be at least 1, not 0"),
        (lambda d: d.update(name="Climate Engine"), "name: 'Climate Engine' does not follow the naming rule"),
        (
            lambda d: d["flows"][0].update(requires="username"),
            'flows[0].requires: must be a list, not text (write ["username"])',
        ),
    ],
)
def test_the_rejection_names_the_member_and_the_nearest_valid_name(mutate: Any, expected: str) -> None:
    doc = base()
    mutate(doc)
    assert expected in rejection(doc)


def test_a_rejection_from_a_file_names_the_file(tmp_path: Path) -> None:
    doc = base()
    doc["tokn_url"] = doc.pop("token_url")
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert str(path) in info.value.message and "did you mean token_url?" in info.value.message


def test_many_problems_are_listed_up_to_a_bound() -> None:
    doc = base()
    for index in range(8):
        doc[f"extra{index}"] = index
    message = rejection(doc)
    assert "extra0: unknown member" in message and "(and 3 more)" in message


def test_integral_numbers_written_with_a_fraction_are_integers() -> None:
    doc = base()
    doc["default_token_lifetime"] = 900.0  # JSON Schema counts it as an integer; so does the loader
    assert VALIDATOR.is_valid(doc)
    profile = load_profile(doc)
    assert profile.default_token_lifetime == 900 and isinstance(profile.default_token_lifetime, int)


# Random mutations beyond the systematic ones: any JSON value at any member of a shipped profile.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
member_names = st.sampled_from(
    sorted({k for d in SHIPPED.values() for p, _ in nodes(d) for k in p if isinstance(k, str)})
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SHIPPED)), st.data())
def test_loader_and_schema_agree_on_random_mutations(name: str, data: st.DataObject) -> None:
    doc = copy.deepcopy(SHIPPED[name])
    all_nodes = list(nodes(doc))
    path, value = data.draw(st.sampled_from(all_nodes))
    if isinstance(value, dict) and data.draw(st.booleans()):
        new = {**value, data.draw(member_names | st.text(max_size=8)): data.draw(json_values)}
    else:
        new = data.draw(json_values | st.sampled_from([*CREDENTIAL_NAMES, "HS256", "client_credentials"]))
    doc = replaced(doc, path, new)
    assert loader_verdict(doc) == VALIDATOR.is_valid(doc)
