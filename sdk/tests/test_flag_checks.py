"""The client's flag checks: is_enabled and variation make one decision, report problems once, never raise."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from flagstaff import Client, ErrorCode
from flagstaff.testing import TestSource

ROLLOUT = {
    "rollout": {"variations": [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 50_000}]}
}


def _flag(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "fallthrough": {"variation": 0},
        **fields,
    }


class _BrokenContext(Mapping[str, Any]):
    """A context whose every read fails, as an application's own mapping type might."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("cannot read the context")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _client(*flags: dict[str, Any]) -> Client:
    source = TestSource()
    for flag in flags:
        source.set_flag(flag)
    return Client(data_source=source)


@pytest.mark.parametrize(
    "fields",
    [
        {"fallthrough": ROLLOUT},
        {
            "rules": [
                {
                    "id": "r",
                    "clauses": [{"attribute": "plan", "op": "in", "values": ["pro"]}],
                    "serve": {"variation": 1},
                }
            ]
        },
    ],
    ids=["rollout-only", "rules"],
)
def test_a_context_that_breaks_a_check_gets_the_default_and_one_warning(
    fields: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(_flag("f", **fields))
    context = _BrokenContext()

    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        assert client.is_enabled("f", context, default=True) is True
        assert client.is_enabled("f", context, default=False) is False
        assert client.variation("f", context, "fallback") == "fallback"
        assert client.variation("f", context, True) is True

    result = client.evaluate("f", context)
    assert result.error_code is ErrorCode.GENERAL and "cannot read the context" in str(result.error_message)
    assert len([r for r in caplog.records if "cannot read the context" in r.getMessage()]) == 1


def test_an_unknown_flag_reported_once_is_served_as_soon_as_it_exists(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = TestSource()
    client = Client(data_source=source)
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        for _ in range(3):
            assert client.is_enabled("late", default=False) is False
            assert client.variation("late", default="x") == "x"
    assert len([r for r in caplog.records if "late" in r.getMessage()]) == 1

    source.set("late", True)

    assert client.is_enabled("late", default=False) is True
    assert client.variation("late", default=False) is True


@pytest.mark.parametrize("key", ["static", "rollout", "off"])
def test_is_enabled_and_variation_give_the_same_answers(key: str) -> None:
    client = _client(
        _flag("static"),
        _flag("rollout", fallthrough=ROLLOUT),
        _flag("off", enabled=False, off_variation=1),
    )
    for i in range(200):
        context = {"key": f"user-{i}"}
        assert client.is_enabled(key, context) is client.variation(key, context, False)
        assert client.is_enabled(key, context) is client.evaluate(key, context).value
