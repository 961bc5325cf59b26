"""The public API is a promise, derived from the package rather than copied here: every public name the
package defines is in ``__all__``, every name in ``__all__`` exists, and each is documented in the SDK's
README, so that changing the API means changing its documentation too."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import flagstaff

README = Path(__file__).resolve().parents[1] / "README.md"


def _defined_public_names() -> set[str]:
    # Submodules become attributes of the package when imported; they are not names it exports.
    return {
        name
        for name, value in vars(flagstaff).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }


def _api_rows() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## The public API", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def _documented_names() -> set[str]:
    return {name for row in _api_rows() for name in re.findall(r"`(\w+)`", row.split(" | ", 1)[0])}


def test_every_public_name_the_package_defines_is_exported() -> None:
    assert _defined_public_names() == set(flagstaff.__all__)


def test_every_exported_name_exists_once() -> None:
    assert len(flagstaff.__all__) == len(set(flagstaff.__all__))
    for name in flagstaff.__all__:
        assert hasattr(flagstaff, name), name


def test_every_exported_name_is_documented_and_nothing_else_is() -> None:
    assert _documented_names() == set(flagstaff.__all__)


def test_every_public_method_of_the_client_is_named_in_its_row() -> None:
    row = next(row for row in _api_rows() if row.startswith("| `Client` |"))
    public = {name for name in vars(flagstaff.Client) if not name.startswith("_")}
    assert public >= {"track", "metrics"}
    assert set(re.findall(r"`(\w+)`", row.split(" | ", 1)[1])) == public


def test_reason_and_error_code_names_follow_openfeature() -> None:
    assert {r.value for r in flagstaff.Reason} >= {
        "DISABLED",
        "TARGETING_MATCH",
        "SPLIT",
        "STATIC",
        "DEFAULT",
        "ERROR",
    }
    assert {c.value for c in flagstaff.ErrorCode} >= {
        "FLAG_NOT_FOUND",
        "TYPE_MISMATCH",
        "PARSE_ERROR",
        "GENERAL",
    }


def test_the_package_is_typed() -> None:
    from importlib import resources

    assert resources.files("flagstaff").joinpath("py.typed").is_file()
