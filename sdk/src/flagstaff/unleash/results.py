"""Reading an imported flag's value back as Unleash's ``isEnabled`` and ``getVariant`` results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flagstaff.evaluation import Evaluation


def feature_enabled(evaluation: Evaluation) -> bool:
    """Unleash's ``isEnabled``: a boolean flag's value, or a variant flag's ``feature_enabled``."""
    value = evaluation.value
    if isinstance(value, bool):
        return value
    return isinstance(value, Mapping) and bool(value.get("feature_enabled"))


def variant_result(evaluation: Evaluation) -> dict[str, Any]:
    """Unleash's ``getVariant``: ``{name, payload?, enabled, feature_enabled}``."""
    value = evaluation.value
    if isinstance(value, Mapping):
        return dict(value)
    return {"name": "disabled", "enabled": False, "feature_enabled": value is True}
