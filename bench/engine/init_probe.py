"""Init time and memory of loading N S3-shaped flags, measured in a fresh interpreter per SDK and size.

The child imports the SDK first, so import cost and import memory are not counted, then times the SDK's own
offline load of a document already on disk, and reports the resident memory the loaded client keeps.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from . import scenarios as sc
from .sdks import entry

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class InitResult:
    seconds: float
    rss_mib: float  # resident memory kept after loading, garbage collected
    peak_mib: float | None  # highest resident memory during the load, if the kernel lets us reset the mark
    ok: bool
    first_checks_seconds: float | None  # Flagstaff: then the first check of every flag, which compiles it


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Writing 5 to clear_refs resets VmHWM (Linux >= 4.0), so the peak is the load's, not the imports'."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_in_this_process(sdk_name: str, path: Path, count: int) -> dict[str, float | bool | None]:
    sdk = entry(sdk_name)
    member = sc.segment_people()[-1]
    gc.collect()
    before = _status_kib("VmRSS")
    peak_known = _reset_peak()
    start = perf_counter()
    client = sdk.load(path)
    seconds = perf_counter() - start
    gc.collect()
    after = _status_kib("VmRSS")
    peak = _status_kib("VmHWM") if peak_known else None
    # The load is only worth timing if it produced a working client.
    (context,) = client.contexts([member])
    keys = [flag.key for flag in sc.targeted_flags(count).flags]
    ok = client.boolean(keys[0], context, False) is True
    first_checks = None
    if sdk_name == "flagstaff":
        # Flagstaff's load leaves compiling each flag to its first check: that deferred work is timed here.
        # The peers compile (or keep to interpret) everything at load, so their load time says it all.
        start = perf_counter()
        for key in keys[1:]:
            client.boolean(key, context, False)
        first_checks = perf_counter() - start
    return {
        "seconds": seconds,
        "rss_mib": (after - before) / 1024,
        "peak_mib": None if peak is None else (peak - before) / 1024,
        "ok": ok,
        "first_checks_seconds": first_checks,
    }


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def measure(entry_script: Path, sdk_name: str, path: Path, count: int, runs: int) -> InitResult:
    """Median of up to `runs` fresh interpreters, each printing one JSON line.

    A load that takes over a second is measured once: its noise is small next to it, and repeating the slow
    peers would blow the benchmark's time budget.
    """
    results: list[dict[str, Any]] = []
    while len(results) < runs and (not results or results[0]["seconds"] < 1.0):
        completed = subprocess.run(
            [sys.executable, str(entry_script), "--init-probe", sdk_name, str(path), str(count)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"init probe for {sdk_name} failed:\n{completed.stderr[-2000:]}")
        results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    peaks = [r["peak_mib"] for r in results if r["peak_mib"] is not None]
    return InitResult(
        seconds=statistics.median(r["seconds"] for r in results),
        rss_mib=statistics.median(r["rss_mib"] for r in results),
        peak_mib=statistics.median(peaks) if peaks else None,
        ok=all(r["ok"] for r in results),
        first_checks_seconds=_median_or_none([r["first_checks_seconds"] for r in results]),
    )
