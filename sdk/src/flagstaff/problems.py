"""Problems found while reading flag data, and the small field readers that report them.

A problem is *fatal* when the object cannot be evaluated at all; a non-fatal one (an unknown operator or
field) still lets an SDK load the flag, so older SDKs keep working with newer data. Validators report
both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class FormatError(ValueError):
    """Raised where flag data must be valid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]) + (" ..." if len(problems) > 5 else ""))


def join(path: str, name: str | int) -> str:
    if name == "":
        return path
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


class Reader:
    """Reads typed fields of one JSON object, recording a problem for each one that is missing or wrong."""

    __slots__ = ("path", "problems", "raw")

    def __init__(self, raw: object, path: str, problems: list[Problem], known: frozenset[str]) -> None:
        self.path = path
        self.problems = problems
        if type(raw) is not dict and not isinstance(raw, Mapping):
            problems.append(Problem(path, f"must be an object, not {type_name(raw)}"))
            raw = {}
        self.raw: Mapping[str, Any] = raw
        if not raw.keys() <= known:
            for name in raw:
                if name not in known:
                    problems.append(Problem(join(path, str(name)), "unknown field", fatal=False))

    @property
    def ok(self) -> bool:
        return isinstance(self.raw, Mapping)

    def fail(self, name: str | int, message: str, *, fatal: bool = True) -> None:
        self.problems.append(Problem(join(self.path, name), message, fatal))

    def get(
        self, name: str, kinds: type | tuple[type, ...], default: Any = None, *, required: bool = False
    ) -> Any:
        value = self.raw.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return default
        if type(value) is kinds:
            return value  # the common case, decided without the checks below
        # bool is an int in Python but never a number in JSON
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
            self.fail(name, f"must be {_describe(kinds)}, not {type_name(value)}")
            return default
        return value

    def index(self, name: str, count: int, *, required: bool = False) -> int | None:
        value: int | None = self.get(name, int, required=required)
        if value is not None and not 0 <= value < count:
            self.fail(name, f"variation index {value} is out of range (the flag has {count} variations)")
            return None
        return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    dict: "an object",
}


def _describe(kinds: type | tuple[type, ...]) -> str:
    return " or ".join(_NAMES.get(k, k.__name__) for k in _as_tuple(kinds))


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
