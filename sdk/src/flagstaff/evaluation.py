"""The result of evaluating a flag: value, variation, reason and error code.

Reason and error-code names follow OpenFeature so that providers can pass them through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    DISABLED = "DISABLED"
    PREREQUISITE_FAILED = "PREREQUISITE_FAILED"
    TARGETING_MATCH = "TARGETING_MATCH"
    SPLIT = "SPLIT"
    STATIC = "STATIC"
    DEFAULT = "DEFAULT"
    ERROR = "ERROR"


class ErrorCode(StrEnum):
    FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    PARSE_ERROR = "PARSE_ERROR"
    PROVIDER_NOT_READY = "PROVIDER_NOT_READY"
    TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
    GENERAL = "GENERAL"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation. ``variation_index`` is ``None`` when the caller's default was (or must be) served.

    Instances are shared between calls (the engine precomputes them), so a ``json`` value must not be mutated.
    """

    value: Any
    variation_index: int | None
    reason: Reason
    rule_id: str | None = None
    error_code: ErrorCode | None = None
    error_message: str | None = None

    @property
    def is_error(self) -> bool:
        return self.reason is Reason.ERROR

    def with_default(self, default: Any) -> Evaluation:
        """The same evaluation with the caller's default filled in where no variation was served."""
        if self.variation_index is not None:
            return self
        return Evaluation(default, None, self.reason, self.rule_id, self.error_code, self.error_message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "variation_index": self.variation_index,
            "reason": self.reason.value,
            "rule_id": self.rule_id,
            "error_code": None if self.error_code is None else self.error_code.value,
            "error_message": self.error_message,
        }


_SHARED_MAX = 20_000
_shared: dict[tuple[Any, ...], Evaluation] = {}
_SCALARS = frozenset({bool, int, float, str, type(None)})


def served(value: Any, index: int | None, reason: Reason, rule_id: str | None = None) -> Evaluation:
    """The evaluation serving variation ``index`` (``value``), one object for every flag serving the same.

    Flags repeat the same few results (``true`` by rule ``beta``, the off variation): sharing them saves
    memory and compile time. Only scalar values are shared, keyed with their type (``1``, ``1.0`` and
    ``True`` are equal in Python, not in a flag) and a float by its spelling (``-0.0`` is not ``0.0``), and
    at most a bounded number of them."""
    kind = type(value)
    if kind not in _SCALARS:
        return Evaluation(value, index, reason, rule_id)
    key = (kind, repr(value) if kind is float else value, index, reason, rule_id)
    known = _shared.get(key)
    if known is None:
        known = Evaluation(value, index, reason, rule_id)
        if len(_shared) < _SHARED_MAX:
            _shared[key] = known
    return known


def error(code: ErrorCode, message: str, default: Any = None) -> Evaluation:
    return Evaluation(default, None, Reason.ERROR, None, code, message)


def failure(exc: Exception) -> Evaluation:
    """What an evaluation that raised answers: the engine never lets an exception reach the application."""
    return error(ErrorCode.GENERAL, f"evaluation failed: {type(exc).__name__}: {exc}")
