"""The Unleash client specification run against the importer and the engine: ``python -m
flagstaff.unleash.conformance DIR`` prints the pass count per file. The test suite runs the same cases.

Each file's ``state`` is imported (delta files go through ``UnleashDelta``); each expectation is evaluated on
the context converted by ``to_flagstaff_context``, the mapping the migration guide documents.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flagstaff.snapshot import Snapshot
from flagstaff.store import FlagStore
from flagstaff.unleash.context import to_flagstaff_context
from flagstaff.unleash.delta import UnleashDelta
from flagstaff.unleash.importer import import_unleash
from flagstaff.unleash.results import feature_enabled, variant_result

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


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m flagstaff.unleash.conformance SPECIFICATIONS_DIR", file=sys.stderr)
        return 2
    total = failed = 0
    for path in spec_files(Path(argv[0])):
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
