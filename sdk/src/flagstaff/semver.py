"""Semantic Versioning 2.0 parsing into keys that sort by precedence.

Lenient where real data is (a leading ``v``, missing minor or patch), strict everywhere else.
"""

from __future__ import annotations

import re

_VERSION = re.compile(
    r"v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)

# A release sorts after all of its pre-releases; numeric identifiers sort before alphanumeric ones.
_Identifier = tuple[int, int, str]
_RELEASE: tuple[_Identifier, ...] = ((2, 0, ""),)
SemverKey = tuple[int, int, int, tuple[_Identifier, ...]]


def parse_semver(text: object) -> SemverKey | None:
    """The precedence key of ``text``, or ``None`` if it is not a version. Build metadata is ignored."""
    if not isinstance(text, str) or len(text) > 256:
        return None
    m = _VERSION.fullmatch(text.strip())
    if m is None:
        return None
    major, minor, patch, pre = m.group(1), m.group(2), m.group(3), m.group(4)
    if pre is None:
        pre_key = _RELEASE
    else:
        pre_key = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split("."))
    return (int(major), int(minor or 0), int(patch or 0), pre_key)
