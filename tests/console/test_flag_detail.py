"""What a flag's page shows, from what the services return: the rollout form's starting percentages, segment
sizes, each version's diff from the one before it, the switch state, and what a revert would change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.console.diffs import plain_diff
from app.console.flag_detail import (
    history_items,
    operator_choices,
    revert_changes,
    rollout_inputs,
    segment_uses,
    switch_state,
)
from app.services.read_models import AuditEntryOut, HistoryEntry, SegmentOut
from flagstaff.operators import OPERATORS

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _flag(**fields: Any) -> dict[str, Any]:
    flag: dict[str, Any] = {
        "key": "f",
        "kind": "string",
        "variations": ["red", "green", "blue"],
        "enabled": True,
        "off_variation": 0,
        "targets": [],
        "rules": [],
        "fallthrough": {"variation": 1},
        "prerequisites": [],
        "salt": "f",
        "version": 1,
    }
    flag.update(fields)
    return flag


def _entry(version: int, flag: dict[str, Any] | None) -> HistoryEntry:
    return HistoryEntry(version=version, revision=version, deleted=flag is None, flag=flag, actor="a", at=AT)


def _audit(action: str) -> AuditEntryOut:
    return AuditEntryOut(
        id=1,
        at=AT,
        actor="a",
        action=action,
        project="p",
        environment="e",
        target_kind="flag",
        target_key="f",
        before=None,
        after=None,
        reason=None,
        request_id=None,
    )


def test_the_rollout_form_starts_from_the_current_split() -> None:
    rollout = {"variations": [{"variation": 0, "weight": 12500}, {"variation": 2, "weight": 87500}]}

    shares = rollout_inputs(_flag(fallthrough={"rollout": rollout}))

    assert [(s.index, s.label, s.percent) for s in shares] == [
        (0, "red", "12.5"),
        (1, "green", "0"),
        (2, "blue", "87.5"),
    ]


def test_a_fixed_fallthrough_starts_the_form_at_100_percent_for_it() -> None:
    assert [s.percent for s in rollout_inputs(_flag())] == ["0", "100", "0"]


def test_after_a_refusal_the_form_shows_what_was_typed() -> None:
    shares = rollout_inputs(_flag(), {"weight-0": "33", "weight-1": "abc"})

    assert [s.percent for s in shares] == ["33", "abc", ""]


def test_segments_read_with_their_size_and_a_missing_one_says_so() -> None:
    staff = SegmentOut(
        key="staff", name="", description="", included=["a", "b"], excluded=["c"], rules=[{}], version=1
    )

    uses = segment_uses(("staff", "gone"), {"staff": staff, "gone": None})

    assert [(u.key, u.summary) for u in uses] == [
        ("staff", "2 included, 1 excluded, 1 rule"),
        ("gone", "does not exist in this environment"),
    ]


def test_each_version_is_diffed_with_the_one_before_and_the_last_with_the_older_entry() -> None:
    v1, v2, v3 = (
        _flag(version=1),
        _flag(version=2, enabled=False),
        _flag(version=3, enabled=False, off_variation=2),
    )

    items = history_items([_entry(3, v3), _entry(2, v2)], _entry(1, v1), current_version=3)

    assert [plain_diff(item.changes) for item in items] == [
        ["~ When off, serves blue (was red)"],
        ["~ Turned off"],
    ]
    assert [item.revertible for item in items] == [False, True]  # the current version is no revert


def test_the_very_first_version_reads_as_created_and_a_deletion_cannot_be_reverted_to() -> None:
    items = history_items([_entry(2, None), _entry(1, _flag())], None, current_version=3)

    assert plain_diff(items[0].changes) == ["- Flag deleted"] and not items[0].revertible
    assert plain_diff(items[1].changes)[0] == "+ Flag created" and items[1].revertible


def test_an_off_flag_is_killed_when_its_newest_switch_was_a_kill() -> None:
    off = _flag(enabled=False)

    assert switch_state(_flag(), [_audit("flag.kill")]) == "on"
    assert switch_state(off, [_audit("flag.update"), _audit("flag.kill"), _audit("flag.on")]) == "killed"
    assert switch_state(off, [_audit("flag.off"), _audit("flag.kill")]) == "off"
    assert switch_state(off, []) == "off"


def test_a_revert_restores_the_targeting_but_not_the_definition() -> None:
    current = _flag(version=5, variations=["red", "green", "blue", "pink"], fallthrough={"variation": 3})
    earlier = _flag(
        version=2, fallthrough={"variation": 0}, rules=[{"id": "r", "clauses": [], "serve": {"variation": 2}}]
    )

    assert plain_diff(revert_changes(current, earlier)) == [
        "+ Rule r added: For everyone, serve blue",
        "~ Everyone else: now red (was pink)",
    ]


def test_every_operator_of_the_engine_can_be_chosen_for_a_rule() -> None:
    choices = operator_choices()

    assert [choice.value for choice in choices] == list(OPERATORS)
    assert all(choice.label != choice.value for choice in choices if choice.value not in ("contains",))
