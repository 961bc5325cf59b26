"""The failures a use case reports; the API layer maps each to one HTTP status.

Every error carries a stable `code`, a human message and, where one input is at fault, its field path.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from flagstaff import Problem


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    """The request is well-formed but clashes with current state (a duplicate, a used segment)."""

    code = "conflict"


class VersionMismatch(ServiceError):
    """An `If-Match` version is not the current one: somebody else changed the object first."""

    code = "version_mismatch"


class PreconditionRequired(ServiceError):
    """A write that would replace an object did not say which version it replaces (`If-Match`)."""

    code = "precondition_required"


class InvalidInput(ServiceError):
    code = "invalid"

    @classmethod
    def from_validation(cls, error: ValidationError) -> InvalidInput:
        """A model's validation errors, the first five in the message and the first one's path as the field,
        written as requests name fields (`counts[3].count`)."""
        found = error.errors()
        paths = [field_path(problem["loc"]) for problem in found]
        message = "; ".join(
            f"{path}: {problem['msg']}" if path else problem["msg"]
            for path, problem in zip(paths, found[:5], strict=False)
        )
        return cls(message or "invalid", paths[0] if paths and paths[0] else None)

    @classmethod
    def from_problems(cls, problems: Sequence[Problem], prefix: str = "") -> InvalidInput:
        """Reports every problem in the message and the first one's path as the field."""
        paths = [_strip(p.path, prefix) for p in problems]
        pairs = zip(paths, problems, strict=True)
        parts = (f"{path}: {p.message}" if path else p.message for path, p in pairs)
        message = "; ".join(parts)
        return cls(message, paths[0] or None)


class PermissionDenied(ServiceError):
    code = "forbidden"


class Busy(ServiceError):
    """Too much work of this kind is in progress; the caller should retry shortly. Nothing was done."""

    code = "busy"


class RateLimited(ServiceError):
    """Too many requests of this kind from one caller; nothing was done. Retry after `retry_after` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float, field: str | None = None) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after


def check_version(what: str, current: int | None, if_match: int | None) -> None:
    """`If-Match` names the version the caller last read; any other current version (or none, for something
    deleted or never created) means another change came first, and nothing may be written."""
    if if_match is None or current == if_match:
        return
    found = "does not exist" if current is None else f"is at version {current}"
    raise VersionMismatch(f"{what} {found}, not at version {if_match}", "If-Match")


def field_path(location: Sequence[str | int]) -> str:
    """`counts[3].count` from the parts of a location (`("counts", 3, "count")`)."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _strip(path: str, prefix: str) -> str:
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path
