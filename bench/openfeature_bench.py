"""What a flag check costs through OpenFeature: the Flagstaff provider beside the SDK's own calls, offline.

    .venv/bin/python bench/openfeature_bench.py      # or: make bench-openfeature

Prints a markdown table (median time per call, and its ratio to a bare ``is_enabled``), recorded in
bench/README.md. A reading, not a test: nothing fails.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

import flagstaff
from flagstaff.openfeature import FlagstaffProvider

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import commit, load_average, machine

CONTEXTS = 1000
SNAPSHOT: dict[str, Any] = {
    "format": 1,
    "revision": 1,
    "segments": {},
    "flags": {
        "static": {
            "key": "static",
            "kind": "boolean",
            "variations": [True, False],
            "enabled": True,
            "version": 1,
            "fallthrough": {"variation": 0},
        },
        "targeted": {
            "key": "targeted",
            "kind": "boolean",
            "variations": [True, False],
            "enabled": True,
            "version": 1,
            "rules": [
                {
                    "id": "nordics",
                    "clauses": [
                        {"attribute": "country", "op": "in", "values": ["NO", "SE", "DK", "FI", "IS"]}
                    ],
                    "serve": {"variation": 0},
                }
            ],
            "fallthrough": {
                "rollout": {
                    "variations": [{"variation": 0, "weight": 10000}, {"variation": 1, "weight": 90000}]
                }
            },
        },
    },
}
SCENARIOS = {
    "static": "boolean, on, no targeting",
    "targeted": "boolean, one rule (no match) then a 10% rollout",
}


def _attributes(n: int) -> dict[str, Any]:
    return {"country": "US", "plan": "free", "email": f"user-{n}@example.com"}


def _paths(key: str) -> dict[str, tuple[Callable[[Any], Any], Sequence[Any]]]:
    """Each path's call for one context, and the contexts in its own form, built before timing."""
    client = flagstaff.Client.from_dict(SNAPSHOT)
    provider = FlagstaffProvider(client)
    api.set_provider_and_wait(provider, domain="flagstaff")
    features = api.get_client(domain="flagstaff")
    api.set_provider_and_wait(
        InMemoryProvider({key: InMemoryFlag("on", {"on": True, "off": False})}), domain="in-memory"
    )
    in_memory = api.get_client(domain="in-memory")

    plain = [{"key": f"user-{n}", **_attributes(n)} for n in range(CONTEXTS)]
    of = [EvaluationContext(f"user-{n}", _attributes(n)) for n in range(CONTEXTS)]
    return {
        "Flagstaff `client.is_enabled(key, ctx)`": (lambda c: client.is_enabled(key, c), plain),
        "Flagstaff `client.evaluate(key, ctx, False)`": (lambda c: client.evaluate(key, c, False), plain),
        "provider alone: `resolve_boolean_details`": (
            lambda c: provider.resolve_boolean_details(key, False, c),
            of,
        ),
        "OpenFeature `get_boolean_value` (Flagstaff provider)": (
            lambda c: features.get_boolean_value(key, False, c),
            of,
        ),
        "OpenFeature `get_boolean_details` (Flagstaff provider)": (
            lambda c: features.get_boolean_details(key, False, c),
            of,
        ),
        "OpenFeature `get_boolean_value` (its InMemoryProvider, no targeting)": (
            lambda c: in_memory.get_boolean_value(key, False, c),
            of,
        ),
    }


def _batch(call: Callable[[Any], Any], contexts: Sequence[Any]) -> float:
    started = time.perf_counter_ns()
    for context in contexts:
        call(context)
    return (time.perf_counter_ns() - started) / len(contexts)


def measure(key: str, repeats: int) -> dict[str, float]:
    """Median ns per call for each path. The paths take turns batch by batch: load changes hit all alike."""
    paths = _paths(key)
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for call, contexts in paths.values():
        _batch(call, contexts)  # warm up
    for _ in range(repeats):
        for name, (call, contexts) in paths.items():
            samples[name].append(_batch(call, contexts))
    api.shutdown()
    return {name: statistics.median(values) for name, values in samples.items()}


def _time(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed batches of 1,000 calls per path")
    args = parser.parse_args()
    gc.collect()
    start_load = load_average()
    results = {key: measure(key, args.repeats) for key in SCENARIOS}

    print(f"- Commit {commit()}; {machine()}")
    print(f"- Load average {start_load} at start, {load_average()} at the end; {args.repeats} batches")
    print()
    header = " | ".join(f"{key}: {what}" for key, what in SCENARIOS.items())
    print(f"| path (median per call, ratio to `is_enabled`) | {header} |")
    print("| --- |" + " --- |" * len(SCENARIOS))
    names = list(next(iter(results.values())))
    for name in names:
        cells = []
        for key in SCENARIOS:
            bare = results[key][names[0]]
            cells.append(f"{_time(results[key][name])} ({results[key][name] / bare:.1f}x)")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
