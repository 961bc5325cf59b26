"""Snapshots: one environment's flags and segments at one revision, immutable once built.

Readers hold a reference and never lock; an update builds a new snapshot (sharing what did not change) and the
owner swaps the reference. Versions only increase: an older flag or segment never replaces a newer one.
Each flag is kept as it arrived and compiled on its first evaluation (``flagstaff.documents``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from flagstaff.evaluation import ErrorCode, Evaluation, error
from flagstaff.flags import Flag
from flagstaff.segments import Segment
from flagstaff.sources import compile_source, compile_sources, segment_source
from flagstaff.versions import record, supersedes

_EMPTY: Mapping[str, Any] = {}
_NO_TOMBSTONES: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {"flag": MappingProxyType({}), "segment": MappingProxyType({})}
)
_NEVER_SERVED = error(ErrorCode.GENERAL, "not compiled")
UNCOMPILED = Flag(
    key="", kind="", version=-1, variations=(), enabled=False, off=_NEVER_SERVED, fallthrough=_NEVER_SERVED
)
"""The hot path's placeholder for a flag not yet evaluated in a snapshot: neither boolean nor static, so a
client's fast path passes it by, and its slow path compiles the flag (``Snapshot.flag``)."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Snapshot:
    revision: int
    sources: Mapping[str, object]
    """Each flag as it arrived (a mapping, or undecoded JSON), shared with the snapshots before and after this
    one: a different object for a key means the flag changed."""
    segments: Mapping[str, Segment]
    deleted: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: _NO_TOMBSTONES)
    """By kind (``"flag"``, ``"segment"``) and key, the version of each delete since the last full
    snapshot."""
    table: dict[str, Flag]
    """The hot path's lookup: each flag as this snapshot evaluates it, or ``UNCOMPILED`` until its first
    evaluation compiles it. Writing the compiled flag in is the only change after construction, and changes no
    answer: a cache of a pure function of ``sources`` and ``segments``."""
    segments_test_now: bool = field(init=False)
    """A segment has a rule on the clock, so the flags testing segment membership need it too: this snapshot
    holds its own copies of those, while the compiled flags other snapshots share stay untouched."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments_test_now", any(s.uses_now for s in self.segments.values()))

    @property
    def flags(self) -> Mapping[str, Flag]:
        """The flags by key, each compiled (on first use) as this snapshot evaluates it."""
        return _Flags(self)

    def flag(self, key: str) -> Flag | None:
        """The flag ``key``, compiled, or ``None``. Never raises: a broken flag answers PARSE_ERROR."""
        flag = self.table.get(key)
        if flag is not UNCOMPILED:
            return flag
        compiled = self._in_this_snapshot(compile_source(key, self.sources[key]))
        self.table[key] = compiled
        return compiled

    def evaluate(self, key: str, context: object = None, now: float | None = None) -> Evaluation:
        """Evaluate flag ``key``. Never raises: problems come back as an ``ERROR`` evaluation."""
        flag = self.flag(key)
        if flag is None:
            return error(ErrorCode.FLAG_NOT_FOUND, f"no flag {key!r} in revision {self.revision}")
        return evaluate(flag, context, self, now)

    def evaluate_all(self, context: object = None, now: float | None = None) -> dict[str, Evaluation]:
        self.compile_all()
        return {key: evaluate(flag, context, self, now) for key, flag in self.table.items()}

    def compile_all(self) -> None:
        """Compile every flag not yet compiled, at once (faster than one by one on first evaluations)."""
        pending = [key for key, flag in self.table.items() if flag is UNCOMPILED]
        if pending:
            compiled = compile_sources({key: self.sources[key] for key in pending})
            self.table.update({key: self._in_this_snapshot(flag) for key, flag in compiled.items()})

    def apply(
        self, kind: str, key: str, data: Mapping[str, Any] | None, version: int, revision: int
    ) -> Snapshot:
        """A snapshot with one flag or segment upserted (``data``) or deleted (``None``), by the rule of
        ``flagstaff.versions``: an older revision is ignored, and a version replaces only a lower one."""
        if revision < self.revision:
            return self
        kind = "flag" if kind == "flag" else "segment"
        held = self.flag(key) if kind == "flag" else self.segments.get(key)
        if not supersedes(version, None if held is None else held.version, self.deleted[kind].get(key)):
            return (
                self
                if revision <= self.revision
                else replace(self, revision=revision, table=dict(self.table))
            )
        sources, segments, table = dict(self.sources), dict(self.segments), dict(self.table)
        deleted = {kind: dict(tombstones) for kind, tombstones in self.deleted.items()}
        if kind == "flag":
            record(sources, deleted[kind], key, data, version)
            if data is None:
                table.pop(key, None)
            else:
                table[key] = UNCOMPILED
        else:
            segment = None if data is None else segment_source(key, data, [])
            record(segments, deleted[kind], key, segment, version)
        snapshot = Snapshot(
            revision=max(revision, self.revision),
            sources=sources,
            segments=segments,
            deleted=deleted,
            table=table,
        )
        if snapshot.segments_test_now != self.segments_test_now:
            snapshot._retime()
        return snapshot

    def _in_this_snapshot(self, flag: Flag) -> Flag:
        if flag.reads_segments and flag.segments_test_now != self.segments_test_now:
            return replace(flag, segments_test_now=self.segments_test_now)
        return flag

    def _retime(self) -> None:
        # The segments' clock changed: the compiled flags this snapshot took over read it, or stop reading it.
        self.table.update(
            {k: self._in_this_snapshot(f) for k, f in self.table.items() if f is not UNCOMPILED}
        )


class _Flags(Mapping[str, Flag]):
    __slots__ = ("_snapshot",)

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __getitem__(self, key: str) -> Flag:
        flag = self._snapshot.flag(key)
        if flag is None:
            raise KeyError(key)
        return flag

    def __iter__(self) -> Iterator[str]:
        return iter(self._snapshot.table)

    def __len__(self) -> int:
        return len(self._snapshot.table)

    def __contains__(self, key: object) -> bool:
        return key in self._snapshot.table


def evaluate(flag: Flag, context: object, snapshot: Snapshot, now: float | None = None) -> Evaluation:
    """Evaluate ``flag`` for ``context`` within ``snapshot`` (prerequisites, segments). Never raises."""
    if context is None:
        context = _EMPTY
    elif not isinstance(context, Mapping):
        return error(ErrorCode.GENERAL, f"the context must be a mapping, not {type(context).__name__}")
    return flag.evaluate(context, snapshot, now)


def empty_snapshot() -> Snapshot:
    return Snapshot(revision=0, sources={}, segments={}, table={})
