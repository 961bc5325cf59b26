"""Turns measurements into the markdown printed by the benchmark and pasted into bench/README.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .init_probe import InitResult

FLAGSTAFF = "flagstaff"
NS_TARGETS = {"S1": 200.0, "S2": 500.0, "S3": 1_500.0, "S4": 200.0, "S5": 500.0}
MIN_SPEEDUP = 10.0
UNKNOWN_FLAG_CASE = "S4"
MAX_DICT_MISSES = 2.0  # the unknown-flag call costs at most this many dict misses (in the same loop)
INIT_TARGETS: dict[int, tuple[float, float | None]] = {1_000: (0.025, None), 10_000: (0.25, 60.0)}
"""Flag count -> (seconds, MB kept or None)."""
_MB = 1_000_000 / (1024 * 1024)  # MiB per MB


@dataclass(slots=True)
class Results:
    labels: dict[str, str]  # sdk name -> column title, in column order
    case_titles: dict[str, str]  # case id -> title, in row order
    unavailable: dict[str, str] = field(default_factory=dict)  # sdk name -> why it has no column values
    ns_per_call: dict[str, dict[str, float]] = field(default_factory=dict)  # case id -> sdk -> median ns
    checks: dict[str, dict[str, list[tuple[str, bool, str]]]] = field(
        default_factory=dict
    )  # case -> sdk -> checks
    init: dict[int, dict[str, InitResult]] = field(default_factory=dict)  # flag count -> sdk -> result
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # sdk -> scenario id -> note
    calls: dict[str, str] = field(default_factory=dict)  # sdk -> the timed call and the load
    json_parse: dict[int, tuple[float, int]] = field(default_factory=dict)  # flag count -> (seconds, bytes)
    dict_miss_ns: dict[str, float] = field(default_factory=dict)  # case id -> the dict miss timed beside it


class _Footnotes:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._numbers: dict[str, int] = {}

    def mark(self, text: str) -> str:
        if text not in self._numbers:
            self._numbers[text] = len(self._numbers) + 1
            self.lines.append(f"[{self._numbers[text]}] {text}")
        return f" [{self._numbers[text]}]"


def format_ns(ns: float) -> str:
    if ns < 1_000:
        return f"{ns:.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _passed(results: Results, case_id: str, sdk: str) -> bool:
    return all(ok for _, ok, _ in results.checks.get(case_id, {}).get(sdk, [("", False, "")]))


def _fastest_peer(values: Mapping[str, float], labels: Mapping[str, str]) -> tuple[str, float] | None:
    peers = {sdk: v for sdk, v in values.items() if sdk != FLAGSTAFF}
    if not peers:
        return None
    sdk = min(peers, key=peers.__getitem__)
    return labels[sdk], peers[sdk]


def _compare(ratio: float, peer: str, better: str, worse: str) -> str:
    """`ratio` is the best peer's figure over Flagstaff's: above 1, Flagstaff is the better one."""
    if ratio >= 1:
        return f"{ratio:.1f}x {better} than {peer}"
    return f"{1 / ratio:.1f}x {worse} than {peer}"


def _verdict(parts: list[tuple[str, bool]]) -> str:
    missed = [name for name, ok in parts if not ok]
    return "met" if not missed else "**missed** (" + ", ".join(missed) + ")"


def _eval_rows(results: Results, notes: _Footnotes) -> list[str]:
    rows = []
    for case_id, title in results.case_titles.items():
        measured = results.ns_per_call.get(case_id, {})
        cells = [f"{case_id} {title}"]
        for sdk in results.labels:
            if sdk not in measured:
                cells.append("n/a")
                continue
            cell = format_ns(measured[sdk])
            if not _passed(results, case_id, sdk):
                cell = (
                    "wrong answers: "
                    + cell
                    + notes.mark(f"{results.labels[sdk]}, {case_id}: failed a check below")
                )
            if note := results.notes.get(sdk, {}).get(case_id):
                cell += notes.mark(f"{results.labels[sdk]}, {case_id}: {note}")
            cells.append(cell)
        right = {sdk: ns for sdk, ns in measured.items() if _passed(results, case_id, sdk)}
        fastest = _fastest_peer(right, results.labels)
        target = NS_TARGETS[case_id]
        if FLAGSTAFF in right and fastest is not None:
            speedup = fastest[1] / right[FLAGSTAFF]
            cells.append(_compare(speedup, fastest[0], "faster", "slower"))
            parts = [("time", right[FLAGSTAFF] <= target), ("speedup", speedup >= MIN_SPEEDUP)]
        else:
            cells.append("n/a")
            parts = []
        goal = f"<= {format_ns(target)}, >= {MIN_SPEEDUP:.0f}x"
        miss = results.dict_miss_ns.get(case_id)
        if case_id == UNKNOWN_FLAG_CASE and miss is not None and FLAGSTAFF in right:
            goal += f", <= {MAX_DICT_MISSES:g}x a dict miss ({right[FLAGSTAFF] / miss:.1f}x)"
            parts.append(("dict miss", right[FLAGSTAFF] <= MAX_DICT_MISSES * miss))
        cells.append(f"{goal}: {_verdict(parts) if parts else 'not measured'}")
        rows.append(_row(cells))
    return rows


def _init_rows(results: Results, notes: _Footnotes) -> list[str]:
    rows = []
    for count, by_sdk in results.init.items():
        time_cells = [f"Init: load {count:,} S3-shaped flags"]
        mem_cells = [f"RSS kept after loading {count:,} (peak during load)"]
        first_cells = [f"Then the first check of each of the {count:,} flags (Flagstaff compiles it then)"]
        for sdk in results.labels:
            result = by_sdk.get(sdk)
            if result is None:
                time_cells.append("n/a")
                mem_cells.append("n/a")
                first_cells.append("n/a")
                continue
            first = result.first_checks_seconds
            first_cells.append("-" if first is None else f"{first:.3f} s")
            wrong = (
                "" if result.ok else notes.mark(f"{results.labels[sdk]}: the loaded client answered wrongly")
            )
            note = results.notes.get(sdk, {}).get("init")
            extra = notes.mark(f"{results.labels[sdk]}, init: {note}") if note else ""
            time_cells.append(f"{result.seconds:.3f} s{wrong}{extra}")
            peak = "" if result.peak_mib is None else f" ({result.peak_mib / _MB:.1f})"
            mem_cells.append(f"{result.rss_mib / _MB:.1f} MB{peak}")
        seconds = {sdk: r.seconds for sdk, r in by_sdk.items() if r.ok}
        memory = {sdk: r.rss_mib for sdk, r in by_sdk.items() if r.ok}
        target_seconds, target_mb = INIT_TARGETS.get(count, (None, None))
        for cells, values, limit, words in (
            (time_cells, seconds, target_seconds, ("time", "faster", "slower")),
            (
                mem_cells,
                memory,
                None if target_mb is None else target_mb * _MB,
                ("memory", "smaller", "larger"),
            ),
        ):
            fastest = _fastest_peer(values, results.labels)
            if FLAGSTAFF in values and fastest is not None and values[FLAGSTAFF] > 0:
                cells.append(_compare(fastest[1] / values[FLAGSTAFF], fastest[0], words[1], words[2]))
            else:
                cells.append("n/a")
            if limit is not None and FLAGSTAFF in values:
                goal = f"<= {limit:g} s" if words[0] == "time" else f"<= {limit / _MB:g} MB"
                cells.append(f"{goal}: {_verdict([(words[0], values[FLAGSTAFF] <= limit)])}")
            else:
                cells.append("")
        first_cells += ["", ""]
        rows += [_row(time_cells), _row(mem_cells), _row(first_cells)]
    return rows


def render(results: Results, header: Sequence[str], floors_ns: Sequence[float]) -> str:
    notes = _Footnotes()
    titles = [results.labels[sdk] for sdk in results.labels]
    lines = [*header, ""]
    lines.append(
        _row(["Scenario (median per call)", *titles, "Flagstaff vs fastest peer", "Flagstaff target"])
    )
    lines.append(_row(["---"] * (len(titles) + 3)))
    lines += _eval_rows(results, notes)
    lines += _init_rows(results, notes)
    lines.append("")
    if floors_ns:
        lines.append(
            "Floor on this machine: the same loop around a method that does nothing, timed alongside each"
            f" scenario, costs {format_ns(min(floors_ns))} to {format_ns(max(floors_ns))} per call."
        )
    if results.dict_miss_ns:
        misses = results.dict_miss_ns.values()
        lines.append(
            "Dict miss on this machine: the same loop around a method that only looks a key up in a dict and"
            f" misses costs {format_ns(min(misses))} to {format_ns(max(misses))} per call."
        )
    for count, (seconds, size) in results.json_parse.items():
        lines.append(
            f"For scale: the standard library's json.loads of Flagstaff's {count:,}-flag snapshot"
            f" ({size / 1e6:.1f} MB) alone takes {seconds:.3f} s here;"
            " every init above includes reading the file."
        )
    for sdk, reason in results.unavailable.items():
        lines.append(f"{results.labels[sdk]} not measured: {reason}")
    lines += ["", *notes.lines, "", "How each SDK is called (the timed call) and loaded:", ""]
    lines += [f"- {results.labels[sdk]}: {call}" for sdk, call in results.calls.items()]
    lines += ["", "What each SDK answered (checked before timing):", ""]
    lines.append(_row(["Check", *titles]))
    lines.append(_row(["---"] * (len(titles) + 1)))
    check_names: dict[tuple[str, str], None] = {}
    for case_id, by_sdk in results.checks.items():
        for checks in by_sdk.values():
            for name, _, _ in checks:
                check_names[(case_id, name)] = None
    for case_id, name in check_names:
        cells = [f"{case_id}: {name}"]
        for sdk in results.labels:
            found = [(ok, seen) for n, ok, seen in results.checks.get(case_id, {}).get(sdk, []) if n == name]
            cells.append("n/a" if not found else ("ok " if found[0][0] else "WRONG ") + found[0][1])
        lines.append(_row(cells))
    return "\n".join(lines)
