"""How people write a release's times and steps, read alike for the command line and the web console:
durations (`10m`, `1h30m`, `90s`, `45`), times from now (`+30s`, `+10m`, `+2h`, `+1d`), and a rollout plan's
steps (`1,5,10,25,50,100` with one dwell for every step, or one per step).

Pure text reading, no I/O and no rules: whether a percent or a time is allowed is the server's to say.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")
_FROM_NOW = re.compile(r"\+(\d{1,9})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class TextError(ValueError):
    """What a person wrote cannot be read; `part` says which input: `steps`, `dwell` or `at`."""

    def __init__(self, message: str, part: str) -> None:
        super().__init__(message)
        self.message = message
        self.part = part


def duration_seconds(text: str) -> float:
    """`10m`, `1h30m`, `90s` or a bare number of seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise TextError(f"{text!r} is not a duration: say 10m, 1h30m, 90s or a number of seconds", "dwell")
    hours, minutes, secs = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + secs


def from_now(text: str, now: datetime) -> datetime | None:
    """`+10m` as the moment ten minutes after `now`; None for text that is no time from now at all."""
    match = _FROM_NOW.fullmatch(text.strip())
    if match is None:
        if text.strip().startswith("+"):
            raise TextError("a relative time is +N followed by s, m, h or d, like +10m", "at")
        return None
    amount, unit = match.groups()
    return now + timedelta(**{_UNITS[unit]: int(amount)})


def rollout_steps(percents: str, dwells: str) -> list[dict[str, float]]:
    """`1,5` and `10m` (or `10m,0`) as a plan's steps: `[{"percent": 1.0, "dwell_seconds": 600.0}, ...]`."""
    numbers = [_number(part) for part in percents.split(",")]
    times = [duration_seconds(part) for part in dwells.split(",")]
    if len(times) == 1:
        times *= len(numbers)
    if len(times) != len(numbers):
        raise TextError(
            f"gives {len(times)} times for {len(numbers)} steps: give one, or one per step", "dwell"
        )
    return [{"percent": p, "dwell_seconds": d} for p, d in zip(numbers, times, strict=True)]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise TextError(f"{text.strip()!r} is not a number", "steps") from None
