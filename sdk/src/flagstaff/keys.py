"""The shape of flag and segment keys."""

from __future__ import annotations

import re

from flagstaff.problems import Problem

KEY_PATTERN = re.compile(r"[\w.:-]{1,200}")
"""Letters (any script), digits, ``_``, ``-``, ``.`` and ``:``; 1-200 characters."""


def check_key(key: object, path: str, problems: list[Problem]) -> None:
    if isinstance(key, str) and not KEY_PATTERN.fullmatch(key):
        problems.append(
            Problem(path, "must be 1-200 letters, digits, '_', '-', '.' or ':' (no spaces or slashes)")
        )
