"""Reading the server's answers: whatever the bytes, either a checked value or ``MalformedAnswer``."""

from __future__ import annotations

import pytest

from flagstaff.wire import MalformedAnswer, change_event, error_code, reconnect_delay, snapshot_document

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "data",
    [
        "",
        "[]",
        DEEP,
        b"\xff\xfe{}",
        '{"format": 1, "revision": -1}',
        '{"format": 1, "revision": true}',
        '{"format": 1, "revision": 3.0}',
        '{"format": 1, "revision": 1' + "0" * 30 + "}",
        '{"format": 1, "revision": 1, "segments": "none"}',
    ],
)
def test_an_unusable_snapshot_document_is_malformed(data: str | bytes) -> None:
    with pytest.raises(MalformedAnswer, match="malformed poll answer"):
        snapshot_document(data, "poll answer")


@pytest.mark.parametrize(
    "item",
    [
        '"flag"',
        '{"kind": "rule", "key": "f", "version": 1}',
        '{"kind": "flag", "key": 7, "version": 1}',
        '{"kind": "flag", "key": "f", "version": 1e400}',
        '{"kind": "flag", "key": "f", "version": 1, "data": []}',
    ],
)
def test_a_change_event_with_one_bad_item_is_malformed_as_a_whole(item: str) -> None:
    good = '{"kind": "flag", "key": "g", "version": 2, "data": null}'
    with pytest.raises(MalformedAnswer, match="malformed change event"):
        change_event(f'{{"revision": 5, "changes": [{good}, {item}]}}')


@pytest.mark.parametrize(
    ("delay_ms", "expected"),
    [("250", 0.25), ("3600000", 30.0), ("1e400", 30.0), ("1" + "0" * 400, 30.0), ("-5", None), ("NaN", None),
     ('"soon"', None), ("true", None)],
)  # fmt: skip
def test_the_reconnect_delay_is_capped_and_nonsense_is_none(delay_ms: str, expected: float | None) -> None:
    assert reconnect_delay(f'{{"delay_ms": {delay_ms}}}', 30.0) == expected


def test_an_error_code_that_is_not_text_is_shown_not_trusted() -> None:
    assert error_code('{"code": "key_revoked"}') == "key_revoked"
    assert error_code('{"code": ["key_revoked"]}') == "a list"
