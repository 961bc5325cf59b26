"""The Unleash client specification, file by file, as an external oracle for the importer and the engine.

Reads the specification's JSON cases vendored in ``sdk/tests/data/unleash-client-specification`` (Apache-2.0,
upstream version in its SOURCE.md), so a clone needs nothing beside it. One test per expectation;
the pass count per file is printed after the module. Run as a script
(``python sdk/tests/test_unleash_conformance.py [SPECIFICATIONS_DIR]``), it prints the pass count per file.

Each file's ``state`` is imported (delta files go through ``UnleashDelta``); each expectation is evaluated on
the context converted by ``to_flagstaff_context``, the mapping the migration guide documents.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from flagstaff.snapshot import Snapshot
from flagstaff.store import FlagStore
from flagstaff.unleash.context import to_flagstaff_context
from flagstaff.unleash.delta import UnleashDelta
from flagstaff.unleash.importer import import_unleash
from flagstaff.unleash.results import feature_enabled, variant_result

SPECIFICATIONS = Path(__file__).resolve().parent / "data" / "unleash-client-specification" / "specifications"

# The spec's contexts carry no time; its date constraints lie in 2022, so evaluate at a fixed later moment.
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class Case:
    file: str
    kind: str
    """``isEnabled`` or ``getVariant``."""
    index: int
    description: str
    toggle: str
    context: Mapping[str, Any]
    expected: Any

    @property
    def id(self) -> str:
        return f"{Path(self.file).stem}:{self.kind}:{self.index}"


@dataclass(frozen=True, slots=True)
class Loaded:
    snapshot: Snapshot
    keys: Mapping[str, str]


def spec_files(directory: Path) -> list[Path]:
    """The files ``index.json`` lists, in its order."""
    names: list[str] = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    return [directory / name for name in names]


def cases(path: Path) -> list[Case]:
    spec = json.loads(path.read_text(encoding="utf-8"))
    found = [
        Case(path.name, "isEnabled", i, t["description"], t["toggleName"], t["context"], t["expectedResult"])
        for i, t in enumerate(spec.get("tests") or [])
    ]
    found += [
        Case(path.name, "getVariant", i, t["description"], t["toggleName"], t["context"], t["expectedResult"])
        for i, t in enumerate(spec.get("variantTests") or [])
    ]
    return found


def load(path: Path) -> Loaded:
    """The file's state in a ``FlagStore``, through the full import or, for delta files, event by event."""
    state = json.loads(path.read_text(encoding="utf-8"))["state"]
    store = FlagStore()
    if "events" in state:
        delta = UnleashDelta(store)
        for event in state["events"]:
            delta.apply(event)
        return Loaded(store.snapshot, delta.keys)
    result = import_unleash(state)
    store.replace(result.snapshot)
    return Loaded(store.snapshot, result.keys)


def actual(case: Case, loaded: Loaded) -> Any:
    """What Flagstaff answers for the case, in the shape of Unleash's expectation."""
    key = loaded.keys.get(case.toggle, case.toggle)
    evaluation = loaded.snapshot.evaluate(key, to_flagstaff_context(case.context), now=NOW)
    if case.kind == "isEnabled":
        return feature_enabled(evaluation)
    return variant_result(evaluation)


def passes(case: Case, loaded: Loaded) -> bool:
    return bool(actual(case, loaded) == case.expected)


# Cases Flagstaff cannot pass, each with its reason; docs/unleash-compatibility.md lists the same ones.
EXPECTED_FAILURES: dict[str, str] = {}


def _all_cases() -> list[Case]:
    if not (SPECIFICATIONS / "index.json").is_file():
        raise FileNotFoundError(
            f"the Unleash client specification is missing: expected {SPECIFICATIONS}/index.json "
            "(it is part of the repository: is the checkout complete?)"
        )
    return [case for path in spec_files(SPECIFICATIONS) for case in cases(path)]


CASES = _all_cases()
RESULTS: Counter[tuple[str, bool]] = Counter()


@cache
def _loaded(file: str) -> Loaded:
    return load(SPECIFICATIONS / file)


def _param(case: Case) -> object:
    reason = EXPECTED_FAILURES.get(case.id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(scope="module", autouse=True)
def _pass_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    lines = ["", "Unleash client specification, passed per file:"]
    for path in spec_files(SPECIFICATIONS):
        passed, failed = RESULTS[(path.name, True)], RESULTS[(path.name, False)]
        if passed or failed:
            lines.append(f"  {path.name}: {passed}/{passed + failed}")
    with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
        for line in lines:
            reporter.write_line(line)


def test_every_listed_file_has_expectations() -> None:
    for path in spec_files(SPECIFICATIONS):
        assert cases(path), path.name


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_flagstaff_answers_as_the_unleash_specification_expects(case: Case) -> None:
    got = actual(case, _loaded(case.file))
    RESULTS[(case.file, got == case.expected)] += 1
    assert got == case.expected, case.description


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: python sdk/tests/test_unleash_conformance.py [SPECIFICATIONS_DIR]", file=sys.stderr)
        return 2
    total = failed = 0
    for path in spec_files(Path(argv[0]) if argv else SPECIFICATIONS):
        loaded = load(path)
        found = cases(path)
        passed = [c for c in found if passes(c, loaded)]
        total += len(found)
        failed += len(found) - len(passed)
        print(f"{path.name}: {len(passed)}/{len(found)}")
        for case in found:
            if case not in passed:
                got = actual(case, loaded)
                print(f"  FAIL {case.id} {case.description}: expected {case.expected!r}, got {got!r}")
    print(f"total: {total - failed}/{total}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
