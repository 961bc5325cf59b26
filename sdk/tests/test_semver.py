"""Semantic versions: SemVer 2.0 exactly, plus a leading ``v`` and the short forms ``2`` and ``2.3``."""

from __future__ import annotations

import pytest

import flagstaff
from flagstaff.semver import parse_semver


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("2", "2.0.0"),
        ("2.3", "2.3.0"),
        ("v2.3", "2.3.0"),
        ("1.2.3-alpha.1", "1.2.3-alpha.1"),
        ("1.2.3+build.7", "1.2.3"),
        ("1.2.3-rc.1+build-7", "1.2.3-rc.1"),
        ("1.2.3-0a.-x", "1.2.3-0a.-x"),
    ],
)
def test_versions_and_their_documented_short_forms(text: str, same_as: str) -> None:
    key = parse_semver(text)
    assert key is not None
    assert key == parse_semver(same_as)


@pytest.mark.parametrize(
    "text",
    [
        "1-2-3",  # was read as 1.0.0 with pre-release "2-3"
        "2-beta",  # a pre-release needs all three numbers
        "2.3-beta",
        "2+build",
        " 1.2.3",  # surrounding whitespace
        "1.2.3 ",
        "1.2.3\n",
        "\u0661.\u0662.\u0663",  # Arabic-Indic digits
        "1.\u0662.3",
        "1.2.3-\u0661",
        "1\u0662.0.0",  # a digit after the first may be any Unicode digit to Python's \d
        "1.0.0-1\u0661",
        "V1.2.3",
        "=1.2.3",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3-01",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-a..b",
        "1.2.3.4",
        "1.2.",
        "",
        "v",
    ],
)
def test_anything_else_is_not_a_version(text: str) -> None:
    assert parse_semver(text) is None


def test_a_version_clause_value_outside_the_grammar_is_a_problem() -> None:
    flag = {
        "key": "f",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "rules": [
            {
                "id": "r",
                "clauses": [{"attribute": "v", "op": "semver_gte", "values": ["1-2-3"]}],
                "serve": {"variation": 0},
            }
        ],
        "fallthrough": {"variation": 1},
    }
    assert [p.path for p in flagstaff.validate_flag(flag)] == ["rules[0].clauses[0].values"]


def test_precedence_follows_semver_2() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "2.0.0",
        "2.1.0",
        "2.10.0",
    ]
    keys = [parse_semver(v) for v in ordered]
    assert all(k is not None for k in keys)
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert len(set(keys)) == len(keys)
