"""The Unleash client specification, file by file, as an external oracle for the importer and the engine.

Reads the specification's JSON cases vendored in ``sdk/tests/data/unleash-client-specification`` (Apache-2.0,
upstream version in its SOURCE.md), so a clone needs nothing beside it. One test per expectation;
the pass count per file is printed after the module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from flagstaff.unleash.conformance import Case, Loaded, actual, cases, load, spec_files

SPECIFICATIONS = Path(__file__).resolve().parent / "data" / "unleash-client-specification" / "specifications"

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
