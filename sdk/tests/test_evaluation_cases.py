"""Golden evaluation cases: each JSON file in evaluation_cases/ states a snapshot, a context and the result.

Cases are data so that SDKs in other languages can run the same files. Add cases; do not edit old ones away.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import flagstaff
from flagstaff.operators import OPERATORS

CASES = sorted((Path(__file__).parent / "evaluation_cases").glob("*.json"))


def _clause_ops(case: dict[str, Any]) -> set[str]:
    ops: set[str] = set()
    for flag in case["snapshot"]["flags"].values():
        for rule in flag.get("rules", []):
            ops.update(clause["op"] for clause in rule["clauses"])
    return ops


def test_there_is_a_case_for_every_operator() -> None:
    covered: set[str] = set()
    for path in CASES:
        covered |= _clause_ops(json.loads(path.read_text(encoding="utf-8")))
    assert covered >= set(OPERATORS)


@pytest.mark.parametrize("read", ["bytes", "parsed"])
@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_evaluation_case(path: Path, read: str) -> None:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    document = json.dumps(case["snapshot"]).encode() if read == "bytes" else case["snapshot"]
    snapshot = flagstaff.load_snapshot(document)

    result = snapshot.evaluate(case["flag"], case["context"], now=case.get("now"))

    actual = result.to_dict()
    expected = case["expect"]
    assert {name: actual[name] for name in expected} == expected, case["description"]
