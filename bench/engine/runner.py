"""Runs the benchmark: load every SDK, check its answers, time the scenarios, probe init, print a table."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from time import perf_counter
from typing import Any

from . import scenarios as sc
from .cases import Case, Value, all_cases
from .init_probe import measure, measure_in_this_process
from .report import Results, render
from .sdk_adapter import SdkAdapter, SdkEntry
from .sdks import SDK_NAMES, entry
from .timing import Subject, dict_miss_subject, floor_subject, median_ns_per_call

ENTRY_SCRIPT = Path(__file__).resolve().parents[1] / "engine_bench.py"
FLOOR = "(floor)"  # the no-op subject timed alongside the SDKs
DICT_MISS = "(dict miss)"  # a dict lookup that misses, in the same loop: the yardstick of S4
INIT_SIZES = (1_000, 10_000)
LABELS = {
    "flagstaff": "Flagstaff",
    "launchdarkly": "LaunchDarkly",
    "growthbook": "GrowthBook",
    "unleash": "Unleash",
    "flagsmith": "Flagsmith",
}
# Loggers of the SDKs under test. Some log on every unknown-flag call; what we time is the (disabled) call,
# not the console.
SDK_LOGGERS = (
    "flagstaff",
    "ldclient",
    "growthbook",
    "UnleashClient",
    "yggdrasil_engine",
    "flagsmith",
    "flag_engine",
)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _write(document: dict[str, Any], directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _values(adapter: SdkAdapter[Any], case: Case, people: list[sc.Person]) -> list[Value]:
    contexts = adapter.contexts(people)
    if case.kind == "boolean":
        assert isinstance(case.default, bool)
        return [adapter.boolean(case.flag_key, c, case.default) for c in contexts]
    assert isinstance(case.default, str)
    return [adapter.string(case.flag_key, c, case.default) for c in contexts]


def _subject(adapter: SdkAdapter[Any], case: Case) -> Subject:
    contexts = adapter.contexts(case.timed_people)
    if case.kind == "boolean":
        assert isinstance(case.default, bool)
        return Subject(partial(adapter.time_boolean, case.flag_key, default=case.default), contexts)
    assert isinstance(case.default, str)
    return Subject(partial(adapter.time_string, case.flag_key, default=case.default), contexts)


def _json_parse_seconds(path: Path) -> float:
    """For scale: how long the standard library alone takes to parse a document (median of 3)."""
    text = path.read_text(encoding="utf-8")
    timings = []
    for _ in range(3):
        start = perf_counter()
        json.loads(text)
        timings.append(perf_counter() - start)
    return statistics.median(timings)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    root = str(ENTRY_SCRIPT.parents[1])
    completed = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=False)
    return completed.stdout.strip() if completed.returncode == 0 else ""


def _machine() -> list[str]:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--", "sdk"):
        commit += " (sdk/ has uncommitted changes)"
    return [
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"Machine: {os.cpu_count()} CPUs (nproc), {cpu}, load average {os.getloadavg()[0]:.2f} at start",
        f"Python: {platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
    ]


def _load_all(
    directory: Path, names: Sequence[str]
) -> tuple[dict[str, SdkAdapter[Any]], dict[str, SdkEntry], dict[str, str]]:
    adapters: dict[str, SdkAdapter[Any]] = {}
    entries: dict[str, SdkEntry] = {}
    unavailable: dict[str, str] = {}
    flags = sc.scenario_flags()
    for name in names:
        try:
            sdk = entry(name)
            path = _write(sdk.document(flags), directory, f"{name}-scenarios.json")
            adapters[name] = sdk.load(path)
            entries[name] = sdk
        except Exception as exc:  # an SDK that cannot load is reported, not fatal
            unavailable[name] = f"{type(exc).__name__}: {exc}"
    return adapters, entries, unavailable


def run(args: argparse.Namespace) -> int:
    for logger in SDK_LOGGERS:
        logging.getLogger(logger).setLevel(logging.CRITICAL)
    header = _machine()
    with tempfile.TemporaryDirectory(prefix="flagstaff-bench-") as tmp:
        directory = Path(tmp)
        _progress("loading the SDKs")
        adapters, entries, unavailable = _load_all(directory, args.sdks)
        versions = ", ".join(f"{LABELS[n]} {_version(entries[n].distribution)}" for n in entries)
        header.append(f"SDKs: {versions}")
        results = Results(
            labels=LABELS,
            case_titles={case.id: case.title for case in all_cases()},
            unavailable=unavailable,
            notes={name: dict(sdk.notes) for name, sdk in entries.items()},
            calls={name: sdk.call for name, sdk in entries.items()},
        )
        floors: list[float] = []
        for case in all_cases():
            _progress(f"{case.id}: checking answers")
            results.checks[case.id] = {
                name: [
                    (check.name, *check.verdict(_values(adapter, case, list(check.people))))
                    for check in case.checks
                ]
                for name, adapter in adapters.items()
            }
            _progress(f"{case.id}: timing")
            subjects = {name: _subject(adapter, case) for name, adapter in adapters.items()}
            subjects[FLOOR] = floor_subject()
            subjects[DICT_MISS] = dict_miss_subject()
            medians = median_ns_per_call(subjects, args.repeats, args.batch_ms * 1_000_000)
            floors.append(medians.pop(FLOOR))
            results.dict_miss_ns[case.id] = medians.pop(DICT_MISS)
            results.ns_per_call[case.id] = medians
        if not args.skip_init:
            for count in INIT_SIZES:
                flags = sc.targeted_flags(count)
                results.init[count] = {}
                for name, sdk in entries.items():
                    _progress(f"init: {LABELS[name]}, {count:,} flags")
                    path = _write(sdk.document(flags), directory, f"{name}-{count}.json")
                    results.init[count][name] = measure(ENTRY_SCRIPT, name, path, count, args.init_runs)
                    if name == "flagstaff":
                        results.json_parse[count] = (_json_parse_seconds(path), path.stat().st_size)
                    path.unlink()
    header.append(f"Load average at the end: {os.getloadavg()[0]:.2f}")
    print(render(results, header, floors))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Offline evaluation benchmark: Flagstaff against peer SDKs.")
    parser.add_argument(
        "--repeats", type=int, default=20, help="timed batches per SDK and scenario (default 20)"
    )
    parser.add_argument(
        "--batch-ms", type=int, default=10, help="target duration of one batch (default 10 ms)"
    )
    parser.add_argument(
        "--init-runs", type=int, default=3, help="fresh processes per init measurement (default 3)"
    )
    parser.add_argument("--skip-init", action="store_true", help="skip the init-time and memory measurement")
    parser.add_argument(
        "--sdks",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=list(SDK_NAMES),
        help=f"comma-separated subset to run, e.g. 'flagstaff' alone, which shows what interleaving with the"
        f" peers costs (default: {','.join(SDK_NAMES)})",
    )
    parser.add_argument("--init-probe", nargs=3, metavar=("SDK", "PATH", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.init_probe:
        for logger in SDK_LOGGERS:
            logging.getLogger(logger).setLevel(logging.CRITICAL)
        name, path, count = args.init_probe
        print(json.dumps(measure_in_this_process(name, Path(path), int(count))))
        return 0
    return run(args)
