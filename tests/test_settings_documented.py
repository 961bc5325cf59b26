"""Every setting is documented where an operator looks for it: each `FLAGSTAFF_*` variable is in docs/api.md,
and every bound (a size, depth, timeout, interval, rate or retention) has a row in its Limits table."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# A setting is a bound when a word of its name says so (`migrate_on_start` holds "rate" but is no bound).
BOUND_WORDS = {"max", "timeout", "seconds", "ms", "hours", "size", "depth", "rate", "queue", "concurrency"}


def _variables() -> list[str]:
    return [f"FLAGSTAFF_{name.upper()}" for name in Settings.model_fields]


def test_every_setting_is_named_in_the_documentation() -> None:
    documented = "\n".join(
        path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *ROOT.glob("docs/*.md")]
    )
    assert [variable for variable in _variables() if variable not in documented] == []


def test_every_bound_has_a_row_in_the_limits_table() -> None:
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    limits = api.split("\n## Limits\n", 1)[1]
    bounds = [name for name in _variables() if BOUND_WORDS & set(name.lower().split("_"))]
    assert bounds, "the pattern matches no setting"
    assert [variable for variable in bounds if f"`{variable}`" not in limits] == []
