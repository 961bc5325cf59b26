"""Snapshot documents: loading one into a ``Snapshot`` (tolerant, lazy), and validating one (strict, eager).

Loading checks the document's frame (an object, the format this SDK reads, a revision), compiles the
segments and leaves each flag as it arrived, to be compiled on its first evaluation. Validation, for writers
such as the server, compiles everything at once and reports every problem, limits and references included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flagstaff.flags import compile_flag
from flagstaff.limits import check_limits
from flagstaff.problems import FormatError, Problem, Reader, join
from flagstaff.references import validate_references
from flagstaff.segments import compile_segment
from flagstaff.snapshot import UNCOMPILED, Snapshot
from flagstaff.sources import compile_or_broken, read_document, segment_source, without_collection
from flagstaff.versions import FORMAT_VERSION

SNAPSHOT_FIELDS = frozenset({"format", "revision", "flags", "segments"})


def load_snapshot(data: bytes | Mapping[str, Any]) -> Snapshot:
    """A snapshot of the wire-format document ``data``: its JSON bytes, or the document already parsed.

    Tolerant: a flag that cannot be read evaluates to ``PARSE_ERROR``. Raises ``FormatError`` only when the
    document as a whole is unusable (wrong format, not an object) and, for bytes, what ``json.loads`` raises
    for text that is not JSON. Each flag is compiled on its first evaluation, from ``data`` itself: a parsed
    document must not be changed afterwards.
    """
    document = read_document(data) if isinstance(data, bytes) else data
    return without_collection(lambda: _load(document))


def _load(document: object) -> Snapshot:
    problems: list[Problem] = []  # loading serves what it can; a flag's problems surface when evaluated
    revision, flags, segments = _frame(document, problems)
    sources = dict(flags)
    return Snapshot(
        revision=revision,
        sources=sources,
        segments={key: segment_source(key, raw, problems) for key, raw in segments.items()},
        table=dict.fromkeys(sources, UNCOMPILED),
    )


def validate_snapshot(data: object) -> list[Problem]:
    """Every problem in a snapshot, including unknown flag or segment references and prerequisite cycles."""
    problems: list[Problem] = []
    try:
        without_collection(lambda: _validate(data, problems))
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


def _validate(data: object, problems: list[Problem]) -> None:
    _, flags, segments = _frame(data, problems)
    for key, raw in flags.items():
        compile_or_broken(key, raw, problems)
        check_limits(raw, join("flags", key), problems, "flag")  # limits are for writers, not for loading
    for key, raw in segments.items():
        path = join("segments", key)
        compile_segment(raw, path, problems)
        if isinstance(raw, Mapping) and raw.get("key") != key:
            problems.append(Problem(join(path, "key"), f"must equal its key in 'segments' ({key!r})"))
        check_limits(raw, path, problems, "segment")


def _frame(data: object, problems: list[Problem]) -> tuple[int, Mapping[str, Any], Mapping[str, Any]]:
    """The revision, flags and segments of a document; raises ``FormatError`` if it is unusable as a whole."""
    r = Reader(data, "", problems, SNAPSHOT_FIELDS)
    if not r.ok:
        raise FormatError(problems)
    fmt = r.get("format", int, required=True)
    if fmt != FORMAT_VERSION:
        raise FormatError(
            [Problem("format", f"unsupported snapshot format {fmt!r}; this SDK reads {FORMAT_VERSION}")]
        )
    revision: int = r.get("revision", int, 0, required=True)
    return revision, r.get("flags", dict, {}), r.get("segments", dict, {})
