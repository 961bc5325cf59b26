"""The OpenFeature provider: ``api.set_provider(FlagstaffProvider(client))`` over a ``flagstaff.Client``.

It translates and decides nothing: every answer is the client's own evaluation, and the provider's events come
from the client's status and change callbacks. It needs the ``openfeature`` extra
(``pip install "flagstaff[openfeature]"``); ``import flagstaff`` never loads this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode as OpenFeatureErrorCode
from openfeature.exception import ProviderNotReadyError
from openfeature.flag_evaluation import FlagMetadata, FlagResolutionDetails, FlagValueType
from openfeature.flag_evaluation import Reason as OpenFeatureReason
from openfeature.provider import AbstractProvider, Metadata

from flagstaff.client import Client
from flagstaff.evaluation import ErrorCode, Evaluation, Reason
from flagstaff.flags import Flag
from flagstaff.store import State, Status

__all__ = ["ERROR_CODES", "PROVIDER_NAME", "REASONS", "FlagstaffProvider"]

PROVIDER_NAME: Final = "flagstaff"

REASONS: Final[Mapping[Reason, str]] = {
    Reason.STATIC: OpenFeatureReason.STATIC,
    Reason.TARGETING_MATCH: OpenFeatureReason.TARGETING_MATCH,
    Reason.SPLIT: OpenFeatureReason.SPLIT,
    Reason.DEFAULT: OpenFeatureReason.DEFAULT,
    Reason.DISABLED: OpenFeatureReason.DISABLED,
    Reason.ERROR: OpenFeatureReason.ERROR,
    # OpenFeature has no such reason and allows a provider's own: the name is passed on as it is.
    Reason.PREREQUISITE_FAILED: "PREREQUISITE_FAILED",
}
"""Flagstaff's reason -> OpenFeature's, for every reason the engine gives."""

ERROR_CODES: Final[Mapping[ErrorCode, OpenFeatureErrorCode]] = {
    ErrorCode.FLAG_NOT_FOUND: OpenFeatureErrorCode.FLAG_NOT_FOUND,
    ErrorCode.TYPE_MISMATCH: OpenFeatureErrorCode.TYPE_MISMATCH,
    ErrorCode.PARSE_ERROR: OpenFeatureErrorCode.PARSE_ERROR,
    ErrorCode.PROVIDER_NOT_READY: OpenFeatureErrorCode.PROVIDER_NOT_READY,
    ErrorCode.TARGETING_KEY_MISSING: OpenFeatureErrorCode.TARGETING_KEY_MISSING,
    ErrorCode.GENERAL: OpenFeatureErrorCode.GENERAL,
}
"""Flagstaff's error code -> OpenFeature's, for every code the engine gives."""

_MISMATCH: Final = object()
"""Returned by a converter for a value that is not of the type asked for."""
Convert = Callable[[Any], Any]
_METADATA = Metadata(name=PROVIDER_NAME)


class FlagstaffProvider(AbstractProvider):
    """Serves OpenFeature's flag evaluations from a ``flagstaff.Client`` (live or offline).

    ``initialize`` waits up to ``ready_timeout`` seconds for the client's flag data: OpenFeature then reports
    the provider ready, or in error (``PROVIDER_NOT_READY``) until the data arrives. The provider owns the
    client from then on: OpenFeature's ``shutdown`` closes it.
    """

    def __init__(self, client: Client, *, ready_timeout: float = 5.0) -> None:
        super().__init__()
        self.client = client
        self._ready_timeout = ready_timeout
        # Guards ``_told``: the state OpenFeature was last told of (None until ``initialize`` has decided, as
        # OpenFeature announces that outcome itself), so each change of state is told once and in order.
        self._lock = threading.Lock()
        self._told: State | None = None
        self._shut_down = False
        client.on_status(self._status_changed)
        client.on_change(self._flags_changed)

    # -- lifecycle ------
    def get_metadata(self) -> Metadata:
        return _METADATA

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self.client.wait_until_ready(self._ready_timeout)
        with self._lock:
            # Read again under the lock: data arriving since the wait is either seen here, or told by
            # ``_status_changed`` once this has set ``_told``.
            ready = self.client.wait_until_ready(0)
            self._told = State.VALID if ready else State.INITIALIZING
        if not ready:
            why = self.client.status().last_error or f"no flag data within {self._ready_timeout:g} s"
            raise ProviderNotReadyError(f"the Flagstaff client is not ready: {why}")

    def shutdown(self) -> None:
        with self._lock:
            self._shut_down = True
        self.client.close()

    def _status_changed(self, status: Status) -> None:
        with self._lock:
            if self._told is None or self._shut_down:
                return
            if status.state is State.VALID and self._told is not State.VALID:
                self._told = State.VALID
                self.emit_provider_ready(ProviderEventDetails())
            elif status.state in (State.STALE, State.CLOSED) and self._told is State.VALID:
                # A closed client goes on serving its last flags, which no longer follow the server.
                self._told = State.STALE
                why = "the Flagstaff client was closed" if status.state is State.CLOSED else status.last_error
                self.emit_provider_stale(ProviderEventDetails(message=why))

    def _flags_changed(self, keys: set[str]) -> None:
        with self._lock:
            if self._told is None or self._shut_down:
                return
            self.emit_provider_configuration_changed(ProviderEventDetails(flags_changed=sorted(keys)))

    # -- resolution ------
    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, _boolean, "a boolean")

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, _string, "a string")

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, _integer, "an integer")

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, _float, "a number")

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._resolve(flag_key, default_value, evaluation_context, _object, "an object or a list")

    def _resolve(
        self, key: str, default: Any, context: EvaluationContext | None, convert: Convert, wanted: str
    ) -> FlagResolutionDetails[Any]:
        result, flag = self.client.evaluate_with_flag(key, _context(context), default)
        metadata = _metadata(flag, result)
        if result.error_code is not None or result.reason is Reason.ERROR:
            return _error(result, default, metadata)
        # FlagResolutionDetails(value, error_code, error_message, reason, variant, flag_metadata), given
        # positionally: keywords cost a third more, on a path taken by every flag check.
        if result.variation_index is None:  # disabled, with no off variation: the caller's default, no error
            return FlagResolutionDetails(default, None, None, REASONS[result.reason], None, metadata)
        value = convert(result.value)
        if value is _MISMATCH:  # a json flag, or a fractional number asked for as an integer
            message = f"flag {key!r} served {type(result.value).__name__} {result.value!r}, not {wanted}"
            return FlagResolutionDetails(
                default, OpenFeatureErrorCode.TYPE_MISMATCH, message, OpenFeatureReason.ERROR, None, metadata
            )
        return FlagResolutionDetails(
            value, None, None, REASONS[result.reason], str(result.variation_index), metadata
        )


def _error(result: Evaluation, default: Any, metadata: FlagMetadata) -> FlagResolutionDetails[Any]:
    """An error is reported with the caller's default, as OpenFeature serves the default for any error code.

    So a rollout's ``TARGETING_KEY_MISSING`` serves the default here, where the SDK's own calls serve the
    rollout's last bucket (and say so in the message, which is cut at that point for OpenFeature)."""
    code = ERROR_CODES[result.error_code] if result.error_code is not None else OpenFeatureErrorCode.GENERAL
    message = result.error_message
    if message is not None and result.error_code is ErrorCode.TARGETING_KEY_MISSING:
        message = message.partition("; served")[0]
    return FlagResolutionDetails(default, code, message, OpenFeatureReason.ERROR, None, metadata)


def _context(context: EvaluationContext | None) -> Mapping[str, Any] | None:
    """OpenFeature's context as Flagstaff's: ``targeting_key`` is the context's ``key``; the other attributes
    keep their names; a ``datetime`` becomes epoch seconds (UTC when it has no zone), which ``before`` and
    ``after`` compare."""
    if context is None:
        return None
    attributes = context.attributes
    result = dict(attributes)  # a copy and a loop over the few datetimes: cheaper than one comprehension
    for name, value in attributes.items():
        if isinstance(value, datetime):
            result[name] = _epoch(value)
    if context.targeting_key is not None:
        result["key"] = context.targeting_key
    return result


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()


def _metadata(flag: Flag | None, result: Evaluation) -> FlagMetadata:
    if flag is None or flag.version < 0:  # no flag, or one that arrived without a readable version
        return {}
    if result.rule_id is None:
        return {"version": flag.version}
    return {"version": flag.version, "rule_id": result.rule_id}


# -- converters: the served value as the type asked for, or _MISMATCH ------
def _boolean(value: Any) -> Any:
    return value if type(value) is bool else _MISMATCH


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else _MISMATCH


def _integer(value: Any) -> Any:
    if type(value) is int:
        return value
    # JSON does not tell 3 from 3.0: an integral float is the integer it spells.
    if type(value) is float and value.is_integer():
        return int(value)
    return _MISMATCH


def _float(value: Any) -> Any:
    return float(value) if type(value) in (int, float) else _MISMATCH


def _object(value: Any) -> Any:
    return value if isinstance(value, dict | list) else _MISMATCH
