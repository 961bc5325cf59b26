"""Which flags set ``track_events``, read from the flags as they arrived, decoding only those that may.

A snapshot loaded from bytes holds each flag undecoded (``flagstaff.sources``); looking into 10,000 of them
one by one would cost more than loading them did, so their JSON is searched at once. Pure: no state, no I/O.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import cast

import msgspec

from flagstaff.sources import decode

# An undecoded flag is decoded to read the field only if its JSON holds the name, or an escape (which could
# spell it); the server writes the field only when it is true. Two literal patterns: faster than one regex.
_PATTERNS = (re.compile(rb"track_events"), re.compile(rb"\\u"))


def tracked_among(sources: Mapping[str, object], keys: Iterable[str]) -> set[str]:
    """The keys, among ``keys``, of the flags in ``sources`` whose document sets ``track_events`` to true."""
    keys = list(keys)
    found = list(map(sources.get, keys))
    if list(map(type, found)).count(msgspec.Raw) < len(found):  # some already parsed: one flag at a time
        return {
            key for key, source in zip(keys, found, strict=True) if source is not None and _sets_it(source)
        }
    # The usual: every flag as it arrived in a document. One search through them all; the end of each flag in
    # the joined text tells whose a match is (none spans two flags, as each is a whole JSON object).
    raws = cast(list[msgspec.Raw], found)
    ends = list(accumulate(map(len, raws)))
    joined = b"".join(raws)
    candidates = {bisect_right(ends, m.start()) for pattern in _PATTERNS for m in pattern.finditer(joined)}
    return {keys[i] for i in candidates if _sets_it(raws[i])}


def _sets_it(source: object) -> bool:
    try:
        if type(source) is msgspec.Raw and not any(p.search(memoryview(source)) for p in _PATTERNS):
            return False
        document = decode(source)
        return isinstance(document, Mapping) and document.get("track_events") is True
    except Exception:  # an unreadable flag is not tracked: it serves no variation to attribute to
        return False
