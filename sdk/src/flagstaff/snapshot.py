"""Snapshots: one environment's compiled flags and segments at one revision, immutable once built.

Readers hold a reference and never lock; an update builds a new snapshot (sharing unchanged compiled objects)
and the owner swaps the reference. Versions only increase: an older flag or segment never replaces a newer
one.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from flagstaff.evaluation import ErrorCode, Evaluation, error
from flagstaff.flags import Flag, broken_flag, compile_flag
from flagstaff.limits import check_limits
from flagstaff.problems import FormatError, Problem, Reader, join
from flagstaff.references import validate_references
from flagstaff.segments import Segment, compile_segment
from flagstaff.versions import FORMAT_VERSION, record, supersedes

SNAPSHOT_FIELDS = frozenset({"format", "revision", "flags", "segments"})
_EMPTY: Mapping[str, Any] = {}
_NO_TOMBSTONES: Mapping[str, Mapping[str, int]] = {"flag": {}, "segment": {}}


class Snapshot:
    __slots__ = ("compiled", "deleted", "flags", "revision", "segments", "segments_use_now")

    def __init__(
        self,
        revision: int,
        compiled: dict[str, Flag],
        segments: dict[str, Segment],
        deleted: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        self.revision = revision
        self.compiled: Mapping[str, Flag] = compiled
        """The flags as compiled, shared with the snapshots before and after this one."""
        self.segments: Mapping[str, Segment] = segments
        self.deleted: Mapping[str, Mapping[str, int]] = deleted or _NO_TOMBSTONES
        """By kind ("flag", "segment") and key, the version of each delete since the last full snapshot."""
        self.segments_use_now = any(s.uses_now for s in segments.values())
        self.flags: Mapping[str, Flag] = (
            {key: _with_clock(flag) for key, flag in compiled.items()} if self.segments_use_now else compiled
        )
        """The flags as this snapshot evaluates them: where a segment rule tests the clock, the flags that
        test segment membership are copies that read it. Computed here, so no flag is changed once built."""

    def flag(self, key: str) -> Flag | None:
        return self.flags.get(key)

    def evaluate(self, key: str, context: object = None, now: float | None = None) -> Evaluation:
        """Evaluate flag ``key``. Never raises: problems come back as an ``ERROR`` evaluation."""
        flag = self.flags.get(key)
        if flag is None:
            return error(ErrorCode.FLAG_NOT_FOUND, f"no flag {key!r} in revision {self.revision}")
        return evaluate(flag, context, self, now)

    def evaluate_all(self, context: object = None, now: float | None = None) -> dict[str, Evaluation]:
        return {key: evaluate(flag, context, self, now) for key, flag in self.flags.items()}

    def apply(
        self, kind: str, key: str, data: Mapping[str, Any] | None, version: int, revision: int
    ) -> Snapshot:
        """A snapshot with one flag or segment upserted (``data``) or deleted (``None``), by the rule of
        ``flagstaff.versions``: an older revision is ignored, and a version replaces only a lower one."""
        if revision < self.revision:
            return self
        kind = "flag" if kind == "flag" else "segment"
        held = (self.compiled if kind == "flag" else self.segments).get(key)
        if not supersedes(version, None if held is None else held.version, self.deleted[kind].get(key)):
            return self if revision <= self.revision else self._at(revision)
        flags, segments = dict(self.compiled), dict(self.segments)
        deleted = {table: dict(tombstones) for table, tombstones in self.deleted.items()}
        problems: list[Problem] = []
        if kind == "flag":
            flag = None if data is None else _compile_flag_or_broken(data, key, problems)
            record(flags, deleted[kind], key, flag, version)
        else:
            segment = None if data is None else compile_segment(data, join("segments", key), problems)
            record(segments, deleted[kind], key, segment, version)
        return Snapshot(max(revision, self.revision), flags, segments, deleted)

    def _at(self, revision: int) -> Snapshot:
        return Snapshot(revision, dict(self.compiled), dict(self.segments), self.deleted)


def evaluate(flag: Flag, context: object, snapshot: Snapshot, now: float | None = None) -> Evaluation:
    """Evaluate ``flag`` for ``context`` within ``snapshot`` (prerequisites, segments). Never raises."""
    try:
        if context is None:
            context = _EMPTY
        elif not isinstance(context, Mapping):
            return error(ErrorCode.GENERAL, f"the context must be a mapping, not {type(context).__name__}")
        return flag.evaluate(context, snapshot, now)
    except Exception as exc:  # evaluation must never raise into application code
        return error(ErrorCode.GENERAL, f"evaluation failed: {type(exc).__name__}: {exc}")


def empty_snapshot() -> Snapshot:
    return Snapshot(0, {}, {})


def load_snapshot(data: Mapping[str, Any]) -> Snapshot:
    """Compile a wire-format snapshot. Tolerant: a flag that cannot be read evaluates to ``PARSE_ERROR``.

    Raises ``FormatError`` only when the document as a whole is unusable (wrong format, not an object).
    """
    problems: list[Problem] = []
    return _without_collection(lambda: _load(data, problems, strict=False))


def _without_collection(load: Callable[[], Snapshot]) -> Snapshot:
    # Compiling allocates many small objects that all stay alive; letting the cyclic collector scan them again
    # and again while they are created more than doubles the load time of a large snapshot.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return load()
    finally:
        if enabled:
            gc.enable()


def validate_snapshot(data: object) -> list[Problem]:
    """Every problem in a snapshot, including unknown flag or segment references and prerequisite cycles."""
    problems: list[Problem] = []
    try:
        _without_collection(lambda: _load(data, problems, strict=True))
    except FormatError as exc:
        return exc.problems
    problems.extend(validate_references(data))
    return problems


def validate_flag(data: object) -> list[Problem]:
    """Problems in one flag on its own (see ``validate_snapshot`` for references between flags)."""
    problems: list[Problem] = []
    compile_flag(data, "", problems)
    check_limits(data, "", problems, "flag")
    return problems


def validate_segment(data: object) -> list[Problem]:
    problems: list[Problem] = []
    compile_segment(data, "", problems)
    check_limits(data, "", problems, "segment")
    return problems


def _load(data: object, problems: list[Problem], *, strict: bool) -> Snapshot:
    r = Reader(data, "", problems, SNAPSHOT_FIELDS)
    if not r.ok:
        raise FormatError(problems)
    fmt = r.get("format", int, required=True)
    if fmt != FORMAT_VERSION:
        raise FormatError(
            [Problem("format", f"unsupported snapshot format {fmt!r}; this SDK reads {FORMAT_VERSION}")]
        )
    revision: int = r.get("revision", int, 0, required=True)
    flags: dict[str, Flag] = {}
    for key, raw in r.get("flags", dict, {}).items():
        flag_problems: list[Problem] = []
        flags[key] = _compile_flag_or_broken(raw, key, flag_problems)
        problems.extend(flag_problems)
        if strict:  # loading skips these: limits are for writers, an SDK serves what it was given
            check_limits(raw, join("flags", key), problems, "flag")
    segments: dict[str, Segment] = {}
    for key, raw in r.get("segments", dict, {}).items():
        path = join("segments", key)
        segments[key] = compile_segment(raw, path, problems)
        if strict and isinstance(raw, Mapping) and raw.get("key") != key:
            problems.append(Problem(join(path, "key"), f"must equal its key in 'segments' ({key!r})"))
        if strict:
            check_limits(raw, path, problems, "segment")
    return Snapshot(revision, flags, segments)


def _compile_flag_or_broken(raw: object, key: str, problems: list[Problem]) -> Flag:
    path = join("flags", key)
    start = len(problems)
    flag = compile_flag(raw, path, problems)
    if isinstance(raw, Mapping) and raw.get("key") != key:
        problems.append(Problem(join(path, "key"), f"must equal its key in 'flags' ({key!r})"))
    fatal = [p for p in problems[start:] if p.fatal]
    return broken_flag(key, fatal, flag.version) if fatal else flag


def _with_clock(flag: Flag) -> Flag:
    # A segment rule on the current time makes every flag that tests segment membership need the clock.
    return replace(flag, uses_now=True) if flag.reads_segments and not flag.uses_now else flag
