"""What SDK metrics cost: ``client.track`` per call, ``is_enabled`` with its count beside the SDK before
metrics, the memory of the counts at 10,000 flags, and the requests a batch of them goes out in. Offline
(nothing is sent), a minute or so.

    .venv/bin/python bench/metrics_bench.py                   # or: make bench-metrics
    .venv/bin/python bench/metrics_bench.py --baseline c747678 --previous 8963278

Prints markdown tables, recorded in bench/README.md. A reading, not a test: nothing fails. ``--baseline REF``
(default: c747678, the commit before SDK metrics) and ``--previous REF`` (default: 8963278, SDK metrics before
``track`` was made cheaper) time those commits' SDKs in the same process, interleaved batch by batch with this
one: each package is taken from git and imported under another name. Times are CPU time of the timing thread
(``time.thread_time_ns``), so that what other processes take of a shared machine is not counted in them.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import logging
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

import flagstaff
from flagstaff.metric_batch import EVALUATION, MAX_REQUEST_BYTES, Batch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import REPO, commit, load_average, machine

CONTEXTS = [{"key": f"user-{n}", "country": "US", "plan": "free"} for n in range(1_000)]
PER_REQUEST = flagstaff.LiveOptions().max_metric_cells_per_request


def _flag(key: str, *, track: bool = False, percent: int | None = None) -> dict[str, Any]:
    """A boolean flag: on for everyone, or a rollout serving ``true`` to ``percent`` % of contexts."""
    flag: dict[str, Any] = {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "fallthrough": {"variation": 0},
    }
    if track:
        flag["track_events"] = True  # as the server writes it: only when set
    if percent is not None:
        weight = percent * 1_000
        flag["fallthrough"] = {
            "rollout": {
                "variations": [
                    {"variation": 0, "weight": weight},
                    {"variation": 1, "weight": 100_000 - weight},
                ]
            }
        }
    return flag


def _snapshot(*flags: dict[str, Any]) -> dict[str, Any]:
    return {"format": 1, "revision": 1, "flags": {f["key"]: f for f in flags}, "segments": {}}


CHECKS = _snapshot(_flag("static"), _flag("rollout", percent=10))
TRACKING = {
    "no tracked flag": _snapshot(_flag("rollout", percent=10)),
    "one tracked 10% rollout flag": _snapshot(_flag("rollout", track=True, percent=10)),
    "five tracked rollout flags": _snapshot(
        *(_flag(f"rollout-{n}", track=True, percent=10 * n) for n in range(5))
    ),
}


def baseline_package(ref: str, into: Path, name: str) -> Any:
    """The SDK as it was at ``ref``, imported as ``name`` (every ``flagstaff`` name rewritten); ``None``, with
    a word why, when git cannot give it."""
    try:
        archive = subprocess.run(
            ["git", "archive", ref, "sdk/src/flagstaff"], cwd=REPO, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:  # no git, or a checkout without that commit
        print(f"(no SDK at {ref}: it could not be taken from git: {exc})")
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into / name, filter="data")
    package = into / name / name
    (into / name / "sdk" / "src" / "flagstaff").rename(package)
    for path in package.rglob("*.py"):
        path.write_text(re.sub(r"\bflagstaff\b", name, path.read_text()))
    sys.path.insert(0, str(into / name))
    return importlib.import_module(name)


def _batch(call: Callable[[Any], Any], contexts: Sequence[Any]) -> float:
    started = time.thread_time_ns()
    for context in contexts:
        call(context)
    return (time.thread_time_ns() - started) / len(contexts)


def interleaved(paths: dict[str, Callable[[Any], Any]], repeats: int) -> dict[str, float]:
    """Median ns per call of each path over ``repeats`` batches of 1,000 calls, the paths taking turns."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for call in paths.values():
        _batch(call, CONTEXTS)  # warm up
    for _ in range(repeats):
        for name, call in paths.items():
            samples[name].append(_batch(call, CONTEXTS))
    return {name: statistics.median(values) for name, values in samples.items()}


class _Nothing:
    def is_enabled(self, key: str, context: Any) -> bool:
        return False


def check_paths(sdks: dict[str, Any]) -> dict[str, Callable[[Any], Any]]:
    """``is_enabled`` of each SDK in ``sdks`` (by name: this one, and those taken from git)."""
    nothing = _Nothing()
    paths: dict[str, Callable[[Any], Any]] = {"floor": lambda c: nothing.is_enabled("static", c)}
    for key in ("static", "rollout"):
        for name, sdk in sdks.items():
            client = sdk.Client.from_dict(CHECKS)
            paths[f"{key}: {name}"] = lambda c, k=key, client=client: client.is_enabled(k, c)
    return paths


def _many(flags: int, tracked: int) -> dict[str, Any]:
    """``flags`` 10% rollout flags, the first ``tracked`` of them with ``track_events``."""
    return _snapshot(*(_flag(f"flag-{n}", track=n < tracked, percent=10) for n in range(flags)))


def track_cases(flags: int) -> list[str]:
    return [*_track_snapshots(flags), "no tracked flag, no value", "no tracked flag, invalid name (ignored)"]


def _track_snapshots(flags: int) -> dict[str, dict[str, Any]]:
    return {
        **TRACKING,
        f"no tracked flag among {flags:,}": _many(flags, 0),
        f"one tracked rollout flag among {flags:,}": _many(flags, 1),
    }


def track_paths(sdks: dict[str, Any], flags: int) -> dict[str, Callable[[Any], Any]]:
    """``client.track("purchase", context, 1.0)`` of each SDK in ``sdks`` that has it, case by case
    (``track_cases``)."""
    snapshots = _track_snapshots(flags)
    paths: dict[str, Callable[[Any], Any]] = {}
    for name, sdk in sdks.items():
        if not hasattr(sdk.Client, "track"):
            continue  # before SDK metrics
        for case, snapshot in snapshots.items():
            client = sdk.Client.from_dict(snapshot)
            paths[f"{case}: {name}"] = lambda c, client=client: client.track("purchase", c, 1.0)
        client = sdk.Client.from_dict(TRACKING["no tracked flag"])
        paths[f"no tracked flag, no value: {name}"] = lambda c, client=client: client.track("purchase", c)
        ignored = f"no tracked flag, invalid name (ignored): {name}"
        paths[ignored] = lambda c, client=client: client.track("$nope", c)
    return paths


def loading(flags: int, runs: int = 5) -> dict[str, float]:
    """Seconds (CPU) to load ``flags`` flags from JSON bytes with metrics and without: finding the tracked
    flags is the metrics' part."""
    document = msgspec.json.encode(_many(flags, 10))
    options = {
        "with metrics": flagstaff.LiveOptions(),
        "metrics off": flagstaff.LiveOptions(metrics_interval=0),
    }
    samples: dict[str, list[float]] = {name: [] for name in options}
    for _ in range(runs):
        for name, option in options.items():
            started = time.thread_time_ns()
            flagstaff.Client(data_source=flagstaff.StaticDataSource(document), options=option)
            samples[name].append((time.thread_time_ns() - started) / 1e9)
    return {name: statistics.median(values) for name, values in samples.items()}


def memory(flags: int) -> dict[str, float]:
    """Bytes the metrics hold at ``flags`` flags, each checked so that both its variations are counted."""
    client = flagstaff.Client.from_dict(_snapshot(*(_flag(f"flag-{n}", percent=50) for n in range(flags))))
    keys = [f"flag-{n}" for n in range(flags)]
    client.all_flags({"key": "warm-up"})  # compiles every flag (not the metrics' memory), counting nothing
    table = client._store.snapshot.table
    cells = sum(sys.getsizeof(table[key].counts) for key in keys)
    gc.collect()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    for key in keys:
        n = 0
        while len([c for c in table[key].counts if c]) < 2:
            client.is_enabled(key, CONTEXTS[n % len(CONTEXTS)])
            n += 1
    counted, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    batch = client._metrics.take()
    kept, peak = tracemalloc.get_traced_memory()
    assert batch is not None and len(batch.cells) == 2 * flags
    tracemalloc.reset_peak()
    # As the sender makes them: one request's body at a time.
    bodies = [len(body) for body, _ in batch.requests("bench", PER_REQUEST)]
    _, encoding_peak = tracemalloc.get_traced_memory()
    del batch
    gc.collect()
    emptied, _ = tracemalloc.get_traced_memory()
    for n in range(10_000):
        client.track(f"event-{n}", value=1.0)
    full, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "cells": cells,
        "counted": counted - start,
        "batch": kept - counted,
        "batch_peak": peak - counted,
        "requests": len(bodies),
        "body": max(bodies),
        "encoding_peak": encoding_peak - kept,
        "track_full": full - emptied,
    }


def long_names(flags: int) -> dict[str, int]:
    """The requests of a full batch in which every name is 200 characters: ``flags`` flags each counted under
    two variations, and ``max_metric_cells`` cells of ``track`` (events each with a total and an attribution),
    large counts and sums."""
    keys = [f"{n:05d}-" + "k" * 194 for n in range(flags)]
    bound = flagstaff.LiveOptions().max_metric_cells
    batch = Batch(time.time(), bound)
    batch.end = batch.start + 5.0
    current = set(keys)
    for key in keys:
        for variation in (0, 1):
            batch.add((key, variation, EVALUATION), 123_456.0, 0.0, current)
    for n in range(bound // 2):
        event = f"{n:05d}-" + "e" * 194
        batch.add((None, None, event), 123_456.0, 1234567.891, current)
        batch.add((keys[0], 1, event), 123_456.0, 1234567.891, current)
    sizes = [(len(body), len(part.cells)) for body, part in batch.requests(uuid.uuid4().hex, PER_REQUEST)]
    return {
        "cells": len(batch.cells),
        "requests": len(sizes),
        "largest": max(size for size, _ in sizes),
        "most_cells": max(cells for _, cells in sizes),
        "total": sum(size for size, _ in sizes),
    }


def _time(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def _mb(value: float) -> str:
    return f"{value / 1e6:.2f} MB"


def _versus(now: float, then: float | None) -> str:
    return "- | -" if then is None else f"{_time(then)} | {now - then:+.0f} ns"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200, help="timed batches of 1,000 calls per path")
    parser.add_argument("--baseline", default="c747678", help="git ref of the SDK before metrics")
    parser.add_argument(
        "--previous", default="8963278", help="git ref of an SDK with metrics to compare with"
    )
    parser.add_argument("--no-baseline", action="store_true", help="time this SDK alone")
    parser.add_argument("--flags", type=int, default=10_000, help="flags for the memory and request readings")
    args = parser.parse_args()
    gc.collect()
    start_load = load_average()
    sdks: dict[str, Any] = {"this": flagstaff}
    with tempfile.TemporaryDirectory() as scratch:
        if not args.no_baseline:
            for name, ref in (("flagstaff_before", args.baseline), ("flagstaff_previous", args.previous)):
                package = baseline_package(ref, Path(scratch), name)
                if package is not None:
                    sdks[ref] = package
        for name in ("flagstaff", "flagstaff_before", "flagstaff_previous"):
            logging.getLogger(name).setLevel(logging.CRITICAL)  # the invalid name's one warning
        checks = interleaved(check_paths(sdks), args.repeats)
        tracks = interleaved(track_paths(sdks, args.flags), args.repeats)
    loads = loading(args.flags)
    used = memory(args.flags)
    longest = long_names(args.flags)

    print(f"- Commit {commit()}; {machine()}")
    print(
        f"- Load average {start_load} at start, {load_average()} at the end; {args.repeats} batches of 1,000"
    )
    print()
    before, previous = args.baseline, args.previous
    print(
        f"| `is_enabled` (median per call) | this SDK | {previous} | difference | before metrics ({before}) "
        "| difference |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for key, what in (("static", "boolean flag, on, no targeting"), ("rollout", "10% rollout, 1,000 keys")):
        now = checks[f"{key}: this"]
        versus = [_versus(now, checks.get(f"{key}: {ref}")) for ref in (previous, before)]
        print(f"| {what} | {_time(now)} | {' | '.join(versus)} |")
    print()
    print(f"Floor: the same loop around a method that does nothing costs {_time(checks['floor'])} per call.")
    print()
    print(
        f'| `client.track("purchase", context, 1.0)` (median per call) | this SDK | {previous} | difference |'
    )
    print("| --- | --- | --- | --- |")
    for case in track_cases(args.flags):
        now = tracks[f"{case}: this"]
        print(f"| {case} | {_time(now)} | {_versus(now, tracks.get(f'{case}: {previous}'))} |")
    print()
    print(f"| load {args.flags:,} flags (10 tracked) from JSON bytes (median of 5) | CPU time |")
    print("| --- | --- |")
    for name, seconds in loads.items():
        print(f"| {name} | {seconds * 1000:.1f} ms |")
    print()
    print(f"| metrics memory at {args.flags:,} flags | bytes |")
    print("| --- | --- |")
    print(f"| count cells the compiled flags hold (lists of 3, from compilation on) | {_mb(used['cells'])} |")
    print(f"| then counting both variations of every flag (the floats counted) | {_mb(used['counted'])} |")
    print(
        f"| a batch of those {2 * args.flags:,} cells (taken every interval; peak while building it) | "
        f"{_mb(used['batch'])} ({_mb(used['batch_peak'])}) |"
    )
    print(
        f"| its {used['requests']} requests: the largest body (peak while making them one by one, beside the "
        f"batch) | {_mb(used['body'])} ({_mb(used['encoding_peak'])}) |"
    )
    print(f"| `track` cells at the default bound (10,000 events) | {_mb(used['track_full'])} |")
    print()
    print(
        f"| a full batch with 200-character names ({longest['cells']:,} cells), in requests of at most "
        f"{PER_REQUEST:,} cells and {MAX_REQUEST_BYTES:,} bytes | |"
    )
    print("| --- | --- |")
    print(f"| requests | {longest['requests']} |")
    print(f"| the largest body | {longest['largest']:,} bytes |")
    print(f"| the most cells in one | {longest['most_cells']:,} |")
    print(f"| all bodies | {_mb(longest['total'])} |")


if __name__ == "__main__":
    main()
