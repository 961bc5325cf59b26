"""Semantic Versioning 2.0 parsing into keys that sort by precedence.

SemVer 2.0's grammar exactly (ASCII digits, no leading zeros, no surrounding space), with two leniencies for
how apps name their releases: a leading ``v`` (``v1.2.3``), and the short forms ``2`` and ``2.3`` (``2.0.0``,
``2.3.0``), which take no pre-release or build suffix. Nothing else: ``1-2-3`` is not a version.
"""

from __future__ import annotations

import re

_NUMBER = r"(0|[1-9][0-9]*)"
_PRE_IDENTIFIER = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_FULL = re.compile(
    rf"v?{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
    rf"(?:-({_PRE_IDENTIFIER}(?:\.{_PRE_IDENTIFIER})*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_SHORT = re.compile(rf"v?{_NUMBER}(?:\.{_NUMBER})?")
MAX_VERSION_TEXT = 256

# A release sorts after all of its pre-releases; numeric identifiers sort before alphanumeric ones.
_Identifier = tuple[int, int, str]
_RELEASE: tuple[_Identifier, ...] = ((2, 0, ""),)
SemverKey = tuple[int, int, int, tuple[_Identifier, ...]]


def parse_semver(text: object) -> SemverKey | None:
    """The precedence key of ``text``, or ``None`` if it is not a version. Build metadata is ignored."""
    if not isinstance(text, str) or len(text) > MAX_VERSION_TEXT:
        return None
    m = _FULL.fullmatch(text)
    if m is None:
        short = _SHORT.fullmatch(text)
        if short is None:
            return None
        return (int(short.group(1)), int(short.group(2) or 0), 0, _RELEASE)
    major, minor, patch, pre = m.group(1), m.group(2), m.group(3), m.group(4)
    if pre is None:
        pre_key = _RELEASE
    else:
        # The grammar admits only ASCII digits, so isdigit() here means a numeric identifier.
        pre_key = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split("."))
    return (int(major), int(minor), int(patch), pre_key)
