"""Checks flag data with the SDK's validator, the one authority on the flag shape, and turns its problems into
InvalidInput (for a write that is malformed) or Conflict (for a deletion that would break references)."""

from __future__ import annotations

from typing import Any

import flagstaff
from app.services.errors import Conflict, InvalidInput


def check_flag(wire: dict[str, Any], prefix: str = "") -> None:
    problems = flagstaff.validate_flag(wire)
    if problems:
        raise InvalidInput.from_problems(problems, prefix)


def check_evaluable(wire: dict[str, Any]) -> None:
    """Only the problems that would leave SDKs unable to evaluate the flag (see `Problem.fatal`)."""
    problems = [p for p in flagstaff.validate_flag(wire) if p.fatal]
    if problems:
        raise InvalidInput.from_problems(problems)


def check_segment(wire: dict[str, Any]) -> None:
    problems = flagstaff.validate_segment(wire)
    if problems:
        raise InvalidInput.from_problems(problems)


def check_references(snapshot: dict[str, Any], changed_flag: str | None = None) -> None:
    """Cross references (prerequisites, segments, cycles) in an environment after a change.

    With `changed_flag`, only what a change to that one flag can break: its own references and the cycles
    through it; every other flag was checked when it was written. Paths under that flag are reported relative
    to it, as the request body names them. The flag itself must already have passed `check_flag`."""
    problems = flagstaff.validate_references(snapshot, changed_flag)
    if problems:
        prefix = f"flags.{changed_flag}." if changed_flag is not None else ""
        raise InvalidInput.from_problems(problems, prefix)


def check_still_referenced(snapshot: dict[str, Any], what: str) -> None:
    """A deletion must not leave another flag pointing at what was deleted.

    `snapshot` is the environment without it. Every write checked its references, so each problem found here
    is a reference to what was deleted; reading them compiles nothing."""
    problems = flagstaff.validate_references(snapshot)
    if problems:
        raise Conflict(
            f"{what} is still referenced: " + "; ".join(str(p) for p in problems[:5]), problems[0].path
        )
