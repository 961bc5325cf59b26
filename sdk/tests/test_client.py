"""The application-facing client: defaults instead of exceptions, logs once, type checks, test data."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from flagstaff import Client, ErrorCode, Reason, State
from flagstaff.testing import TestSource

SNAPSHOT: dict[str, Any] = {
    "format": 1,
    "revision": 9,
    "segments": {},
    "flags": {
        "checkout": {
            "key": "checkout",
            "kind": "boolean",
            "variations": [True, False],
            "enabled": True,
            "off_variation": 1,
            "version": 2,
            "fallthrough": {"variation": 0},
            "rules": [
                {
                    "id": "de",
                    "clauses": [{"attribute": "country", "op": "in", "values": ["DE"]}],
                    "serve": {"variation": 1},
                }
            ],
        },
        "banner": {
            "key": "banner",
            "kind": "string",
            "variations": ["hello", "hi"],
            "enabled": True,
            "version": 1,
            "fallthrough": {"variation": 1},
        },
        "broken": {
            "key": "broken",
            "kind": "boolean",
            "variations": [True],
            "enabled": True,
            "version": 1,
            "fallthrough": {"variation": 3},
        },
    },
}


@pytest.fixture
def client() -> Client:
    return Client.from_dict(SNAPSHOT)


def test_is_enabled_evaluates_rules(client: Client) -> None:
    assert client.is_enabled("checkout", {"key": "u", "country": "NL"}) is True
    assert client.is_enabled("checkout", {"key": "u", "country": "DE"}) is False


def test_variation_and_evaluate_report_the_value_and_reason(client: Client) -> None:
    assert client.variation("banner", {"key": "u"}, default="x") == "hi"
    result = client.evaluate("checkout", {"key": "u", "country": "DE"}, default=True)
    assert (result.value, result.reason, result.rule_id) == (False, Reason.TARGETING_MATCH, "de")


@pytest.mark.parametrize("context", [None, {}, [], "user", 42, {"country": ["DE", None]}, {"key": {"a": 1}}])
def test_odd_contexts_never_raise(client: Client, context: Any) -> None:
    assert client.is_enabled("checkout", context, default=True) in (True, False)
    assert client.variation("banner", context, default="d") in ("hi", "d")


def test_unknown_flag_returns_the_default_and_logs_once(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        results = [client.is_enabled("nope", {"key": "u"}, default=True) for _ in range(100)]
    assert results == [True] * 100
    assert len([r for r in caplog.records if "nope" in r.getMessage()]) == 1
    assert client.evaluate("nope", {}, default=3).error_code is ErrorCode.FLAG_NOT_FOUND


def test_a_default_of_another_kind_is_a_type_mismatch(client: Client) -> None:
    result = client.evaluate("banner", {"key": "u"}, default=True)
    assert (result.value, result.reason, result.error_code) == (True, Reason.ERROR, ErrorCode.TYPE_MISMATCH)
    assert client.is_enabled("banner", {"key": "u"}, default=True) is True


def test_a_broken_flag_serves_the_default_with_parse_error(client: Client) -> None:
    assert client.is_enabled("broken", {"key": "u"}, default=True) is True
    assert client.evaluate("broken", {"key": "u"}).error_code is ErrorCode.PARSE_ERROR
    assert client.is_enabled("checkout", {"key": "u"}) is True  # the others are unaffected


def test_from_file_reads_the_wire_format(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    path.write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    with Client.from_file(path) as client:
        assert client.is_enabled("checkout", {"key": "u"}) is True
        assert client.status().state is State.VALID
        assert client.revision == 9
    assert client.status().state is State.CLOSED


def test_test_source_lets_applications_set_flags() -> None:
    source = TestSource()
    client = Client(data_source=source)
    changes: list[set[str]] = []
    client.on_change(changes.append)

    source.set("new-checkout", True, for_keys={"user-7": False})
    source.set("banner", "hello")

    assert client.is_enabled("new-checkout", {"key": "user-1"}) is True
    assert client.is_enabled("new-checkout", {"key": "user-7"}) is False
    assert client.variation("banner", {}, default="x") == "hello"
    assert changes == [{"new-checkout"}, {"banner"}]
    source.remove("banner")
    assert client.variation("banner", {}, default="x") == "x"


def test_a_listener_that_raises_does_not_stop_updates() -> None:
    source = TestSource()
    client = Client(data_source=source)
    client.on_change(lambda keys: 1 / 0)  # type: ignore[func-returns-value]
    source.set("f", True)
    assert client.is_enabled("f") is True


def test_time_rules_use_the_wall_clock(client: Client) -> None:
    source = TestSource()
    source.set_flag(
        {
            "key": "launch",
            "kind": "boolean",
            "variations": [True, False],
            "enabled": True,
            "rules": [
                {
                    "id": "after",
                    "clauses": [{"attribute": "now", "op": "after", "values": [0]}],
                    "serve": {"variation": 0},
                }
            ],
            "fallthrough": {"variation": 1},
        }
    )
    assert Client(data_source=source).is_enabled("launch", {"key": "u"}) is True


def test_a_client_needs_a_server_or_a_source() -> None:
    with pytest.raises(ValueError, match="sdk_key"):
        Client()


def test_evaluate_with_flag_gives_the_flag_that_decided(client: Client) -> None:
    result, flag = client.evaluate_with_flag("checkout", {"key": "u", "country": "DE"}, True)

    assert result == client.evaluate("checkout", {"key": "u", "country": "DE"}, True)
    assert flag is not None and (flag.key, flag.kind, flag.version) == ("checkout", "boolean", 2)
    missing, no_flag = client.evaluate_with_flag("nope", {}, "d")
    assert (missing.value, missing.error_code, no_flag) == ("d", ErrorCode.FLAG_NOT_FOUND, None)


def test_status_listeners_hear_changes_of_state_not_of_revision() -> None:
    source = TestSource()
    client = Client(data_source=source)
    heard: list[State] = []
    client.on_status(lambda status: heard.append(status.state))

    source.set("f", True)
    source.set("f", False)
    client.close()
    client.close()

    assert heard == [State.CLOSED]


def test_a_status_listener_that_raises_does_not_stop_the_others() -> None:
    client = Client(data_source=TestSource())
    heard: list[State] = []
    client.on_status(lambda status: 1 / 0)  # type: ignore[func-returns-value]
    client.on_status(lambda status: heard.append(status.state))

    client.close()

    assert heard == [State.CLOSED]
