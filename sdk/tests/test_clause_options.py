"""``parse_numbers``: a string attribute is compared as the number it spells in JSON's number grammar."""

from __future__ import annotations

from typing import Any

import pytest

import flagstaff


def _matches(clause: dict[str, Any], value: Any) -> bool:
    flag = {
        "key": "f",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "rules": [{"id": "r", "clauses": [clause], "serve": {"variation": 0}}],
        "fallthrough": {"variation": 1},
    }
    snapshot = flagstaff.load_snapshot({"format": 1, "revision": 1, "flags": {"f": flag}, "segments": {}})
    result = snapshot.evaluate("f", {"key": "u", "n": value})
    assert result.error_code is None
    return result.value is True


def _equals(number: int | float, text: str) -> bool:
    return _matches({"attribute": "n", "op": "in", "values": [number], "parse_numbers": True}, text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12),
        ("12.0", 12),
        ("-12", -12),
        ("-0", 0),
        ("0", 0),
        ("0.5", 0.5),
        ("1e3", 1000),
        ("1E3", 1000),
        ("1.5e+2", 150),
        ("25e-1", 2.5),
    ],
)
def test_a_json_number_in_a_string_is_compared_as_that_number(text: str, number: int | float) -> None:
    assert _equals(number, text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1_000", 1000),  # Python's float() reads digit separators
        ("\u0661\u0662", 12),  # Arabic-Indic digits, which float() reads as 12
        (" 12", 12),  # float() strips surrounding whitespace
        ("12\n", 12),
        ("+12", 12),
        ("012", 12),  # a leading zero: an identifier more often than a number
        (".5", 0.5),
        ("5.", 5),
        ("0x10", 16),
        ("12abc", 12),
        ("-012", -12),
        ("1.e2", 100),
        ("1e", 1),
        ("-", 0),
        ("", 0),
    ],
)
def test_only_json_number_syntax_is_a_number(text: str, number: int | float) -> None:
    assert not _equals(number, text)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "infinity", "1e400"])
def test_no_spelling_of_an_infinity_or_nan_is_a_number(text: str) -> None:
    for op in ("lt", "gt"):
        assert not _matches({"attribute": "n", "op": op, "values": [0], "parse_numbers": True}, text)


def test_an_integer_is_compared_exactly_not_rounded_to_a_float() -> None:
    # 2**53 + 1 has no float: read as one, it would equal 2**53.
    assert _equals(2**53 + 1, str(2**53 + 1))
    assert not _equals(2**53, str(2**53 + 1))
    assert _matches({"attribute": "n", "op": "gt", "values": [2**53], "parse_numbers": True}, str(2**53 + 1))


def test_a_number_longer_than_the_cap_is_not_read() -> None:
    assert _equals(10**63, "1" + "0" * 63)
    assert not _equals(10**64, "1" + "0" * 64)
