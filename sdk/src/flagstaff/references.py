"""References between flags and segments, read from the raw snapshot document: unknown targets and cycles.

Compiles nothing, so checking one flag's references costs no more than reading them. Never raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flagstaff.problems import Problem, join

# (index in the flag's "prerequisites" list, flag key, variation index)
_Edge = tuple[int, str, int]


def validate_references(data: object, flag_key: str | None = None) -> list[Problem]:
    """Unknown prerequisite flags or variations, unknown segments, and prerequisite cycles in a snapshot.

    With ``flag_key``, only the references from that flag and the cycles through it: all that a change to that
    one flag can break. Structure is not checked here (``validate_snapshot`` and ``validate_flag`` do that).
    """
    flags = _table(data, "flags")
    segments = _table(data, "segments")
    if flag_key is None:
        keys: list[Any] = list(flags)
    else:
        keys = [flag_key] if flag_key in flags else []
    problems: list[Problem] = []
    for key in keys:
        path = join("flags", key)
        for i, pre_key, variation in _prerequisites(flags[key]):
            at = join(join(path, "prerequisites"), i)
            if pre_key not in flags:
                problems.append(Problem(join(at, "flag"), f"unknown flag {pre_key!r}"))
                continue
            count = _variation_count(flags[pre_key])
            # A target without readable variations is reported by its own validation, not at each reference.
            if count and variation >= count:
                message = f"flag {pre_key!r} has no variation {variation}"
                problems.append(Problem(join(at, "variation"), message))
        for at, segment_key in _segment_references(flags[key], path):
            if segment_key not in segments:
                problems.append(Problem(at, f"unknown segment {segment_key!r}"))
    if flag_key is None:
        problems.extend(_all_cycles(flags))
    elif keys:
        problems.extend(_cycles_through(flags, flag_key))
    return problems


def has_references(flag: object) -> bool:
    """Whether a raw flag names prerequisites or segments. A flag that names none cannot break a reference
    by changing its targeting, so a writer can skip reading the rest of the environment."""
    return bool(_prerequisites(flag) or _segment_references(flag, ""))


def _table(data: object, name: str) -> Mapping[Any, Any]:
    table = data.get(name) if isinstance(data, Mapping) else None
    return table if isinstance(table, Mapping) else {}


def _prerequisites(raw: object) -> list[_Edge]:
    """The prerequisites the engine would follow: a string flag key and a non-negative integer variation."""
    items = raw.get("prerequisites") if isinstance(raw, Mapping) else None
    edges: list[_Edge] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, Mapping):
            continue
        key, variation = item.get("flag"), item.get("variation")
        # bool is an int in Python but never a variation index in JSON
        if isinstance(key, str) and type(variation) is int and variation >= 0:
            edges.append((i, key, variation))
    return edges


def _variation_count(raw: object) -> int:
    variations = raw.get("variations") if isinstance(raw, Mapping) else None
    return len(variations) if isinstance(variations, list) else 0


def _segment_references(raw: object, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    rules = raw.get("rules") if isinstance(raw, Mapping) else None
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        clauses = rule.get("clauses") if isinstance(rule, Mapping) else None
        for j, clause in enumerate(clauses if isinstance(clauses, list) else []):
            if not isinstance(clause, Mapping) or clause.get("op") != "segment_match":
                continue
            values = clause.get("values")
            for k, value in enumerate(values if isinstance(values, list) else []):
                if isinstance(value, str):
                    found.append((f"{path}.rules[{i}].clauses[{j}].values[{k}]", value))
    return found


def _known_edges(flags: Mapping[Any, Any], key: Any) -> Iterator[tuple[int, str]]:
    return ((i, pre_key) for i, pre_key, _ in _prerequisites(flags[key]) if pre_key in flags)


def _cycle_problem(key: Any, index: int, cycle: list[Any]) -> Problem:
    prerequisite = join(join(join("flags", key), "prerequisites"), index)
    return Problem(join(prerequisite, "flag"), f"prerequisite cycle: {' -> '.join(map(str, cycle))}")


def _all_cycles(flags: Mapping[Any, Any]) -> list[Problem]:
    """Each cycle once, at the prerequisite closing it. Iterative: a long chain cannot exhaust the stack."""
    problems: list[Problem] = []
    on_path: dict[Any, int] = {}  # key -> its position in `path`
    finished: set[Any] = set()
    for root in flags:
        if root in finished:
            continue
        path = [root]
        on_path[root] = 0
        stack = [_known_edges(flags, root)]
        while stack:
            for i, pre_key in stack[-1]:
                if pre_key in on_path:
                    problems.append(_cycle_problem(path[-1], i, [*path[on_path[pre_key] :], pre_key]))
                elif pre_key not in finished:
                    on_path[pre_key] = len(path)
                    path.append(pre_key)
                    stack.append(_known_edges(flags, pre_key))
                    break
            else:
                done = path.pop()
                del on_path[done]
                finished.add(done)
                stack.pop()
    return problems


def _cycles_through(flags: Mapping[Any, Any], flag_key: str) -> list[Problem]:
    """A cycle for each prerequisite of ``flag_key`` that leads back to it, reported at that prerequisite."""
    problems: list[Problem] = []
    dead: set[Any] = set()  # flags already searched that cannot lead back to flag_key
    for i, first in _known_edges(flags, flag_key):
        path = _path_to(flags, first, flag_key, dead)
        if path is not None:
            problems.append(_cycle_problem(flag_key, i, [flag_key, *path]))
    return problems


def _path_to(flags: Mapping[Any, Any], start: str, target: str, dead: set[Any]) -> list[Any] | None:
    """A prerequisite path from ``start`` to ``target``, both included; or None, and all it saw is dead."""
    if start == target:
        return [start]
    if start in dead:
        return None
    path: list[Any] = [start]
    seen = {start}
    stack = [_known_edges(flags, start)]
    while stack:
        for _, pre_key in stack[-1]:
            if pre_key == target:
                return [*path, pre_key]
            if pre_key not in seen and pre_key not in dead:
                seen.add(pre_key)
                path.append(pre_key)
                stack.append(_known_edges(flags, pre_key))
                break
        else:
            path.pop()
            stack.pop()
    # Only a search that failed explored everything reachable from `start`; a successful one stopped early.
    dead.update(seen)
    return None
