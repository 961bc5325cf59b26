"""Flags and segments as they arrive, and their compilation: one flag at a time, on demand, never raising.

A snapshot document read from bytes keeps each flag as its undecoded JSON (a ``msgspec.Raw`` slice of the
document): loading then costs little more than finding where each flag begins and ends, and only the flags
an application evaluates are ever decoded and compiled. msgspec reads the document; the standard library reads
what msgspec refuses and it accepts (lone surrogates, ``NaN``, numbers beyond a float), so no document reads
differently than it did with the standard library alone.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec

from flagstaff.flags import Flag, broken_flag, compile_flag
from flagstaff.problems import Problem, join
from flagstaff.segments import Segment, compile_segment

T = TypeVar("T")
_TABLES = ("flags", "segments")
_frame = msgspec.json.Decoder(dict[str, msgspec.Raw])
_value = msgspec.json.Decoder()


def read_document(data: bytes) -> object:
    """The snapshot document in ``data``, each flag left undecoded. Raises as ``json.loads`` would for a
    document that is not JSON, not UTF-8 or nested too deeply."""
    if not data.isascii():
        data.decode("utf-8")  # msgspec leaves what it skips unchecked; the standard library checks it all
    try:
        document = {name: _table_or_value(name, raw) for name, raw in _frame.decode(data).items()}
    except (msgspec.DecodeError, RecursionError):
        return json.loads(data.decode("utf-8"))  # the standard library's more lenient reading, or its error
    segments = document.get("segments")
    if isinstance(segments, dict):  # compiled at once (any flag may consult them), so decoded now
        document["segments"] = {key: decode(raw) for key, raw in segments.items()}
    return document


def _table_or_value(name: str, raw: msgspec.Raw) -> Any:
    if name in _TABLES:
        try:
            return _frame.decode(raw)
        except msgspec.ValidationError:  # not an object: the snapshot's reader reports it
            pass
    return decode(raw)


def decode(raw: object) -> Any:
    """``raw`` itself, or the value its undecoded JSON holds."""
    if not isinstance(raw, msgspec.Raw):
        return raw
    try:
        return _value.decode(raw)
    except msgspec.DecodeError:
        return json.loads(bytes(raw))


def compile_source(key: str, raw: object) -> Flag:
    """The flag ``key`` compiled from ``raw``; a flag that cannot be read evaluates to ``PARSE_ERROR``."""
    try:
        problems: list[Problem] = []
        return compile_or_broken(key, decode(raw), problems)
    except Exception as exc:  # a flag nested too deeply, an odd mapping: that flag is broken, nothing else
        problem = Problem(join("flags", key), f"cannot be read: {type(exc).__name__}: {exc}")
        return broken_flag(key, [problem])


def compile_or_broken(key: str, raw: object, problems: list[Problem]) -> Flag:
    """``raw`` compiled as flag ``key``, or, if it has a fatal problem, a flag that reports PARSE_ERROR.
    Problems are appended to ``problems``."""
    path = join("flags", key)
    start = len(problems)
    flag = compile_flag(raw, path, problems)
    if isinstance(raw, Mapping) and raw.get("key") != key:
        problems.append(Problem(join(path, "key"), f"must equal its key in 'flags' ({key!r})"))
    fatal = [p for p in problems[start:] if p.fatal]
    return broken_flag(key, fatal, flag.version) if fatal else flag


def compile_sources(sources: Mapping[str, object]) -> dict[str, Flag]:
    """Many flags at once (``compile_source`` for each), with the cyclic garbage collector paused."""
    return without_collection(lambda: {key: compile_source(key, raw) for key, raw in sources.items()})


def segment_source(key: str, raw: object, problems: list[Problem]) -> Segment:
    return compile_segment(decode(raw), join("segments", key), problems)


def without_collection(work: Callable[[], T]) -> T:
    # Compiling allocates many small objects that all stay alive; letting the cyclic collector scan them again
    # and again while they are created more than doubles the time to compile a large snapshot.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return work()
    finally:
        if enabled:
            gc.enable()
