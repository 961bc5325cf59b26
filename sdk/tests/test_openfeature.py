"""The OpenFeature provider, driven through the real OpenFeature SDK's API (``api.set_provider_and_wait``,
``api.get_client().get_*_details``) over a Flagstaff client: values, variants, reasons, error codes and
metadata, each compared with what the Flagstaff client itself answers. Its events: test_openfeature_events.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode as OfCode
from openfeature.flag_evaluation import Reason as OfReason

from flagstaff import Client, ErrorCode, Reason
from flagstaff.openfeature import ERROR_CODES, REASONS, FlagstaffProvider
from flagstaff.testing import TestSource

CHECKOUT = {
    "key": "checkout",
    "kind": "boolean",
    "variations": [True, False],
    "enabled": True,
    "off_variation": 1,
    "targets": [{"variation": 0, "values": ["vip"]}],
    "rules": [
        {
            "id": "dutch",
            "clauses": [{"attribute": "country", "op": "in", "values": ["NL"]}],
            "serve": {"variation": 0},
        }
    ],
    "fallthrough": {"variation": 1},
}
COLOUR = {
    "key": "colour",
    "kind": "string",
    "variations": ["red", "green"],
    "enabled": True,
    "fallthrough": {
        "rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}
    },
}


@pytest.fixture
def source() -> TestSource:
    source = TestSource()
    source.set_flag(CHECKOUT)
    source.set_flag(COLOUR)
    source.set("banner", "hello", for_keys={"user-7": "hi"})
    source.set("limit", 10)
    source.set("ratio", 2.5)
    source.set_flag(
        {
            "key": "theme",
            "kind": "json",
            "variations": [{"colour": "dark", "sizes": [1, 2]}, ["a", "b"], "plain"],
            "enabled": True,
            "targets": [{"variation": 1, "values": ["lister"]}, {"variation": 2, "values": ["texter"]}],
            "fallthrough": {"variation": 0},
        }
    )
    return source


@pytest.fixture
def client(source: TestSource) -> Client:
    return Client(data_source=source)


@pytest.fixture
def of_client(client: Client) -> Iterator[OpenFeatureClient]:
    api.set_provider_and_wait(FlagstaffProvider(client))
    yield api.get_client()
    api.shutdown()  # OpenFeature's state is global: the next test starts afresh


def context(targeting_key: str | None = None, /, **attributes: Any) -> EvaluationContext:
    return EvaluationContext(targeting_key=targeting_key, attributes=attributes)


# -- the mapping tables ------
def test_every_reason_and_error_code_of_the_engine_has_an_openfeature_name() -> None:
    assert set(REASONS) == set(Reason)
    assert set(ERROR_CODES) == set(ErrorCode)
    for reason, name in REASONS.items():
        assert name == reason.value  # the engine already speaks OpenFeature's names
    for code, of_code in ERROR_CODES.items():
        assert of_code == OfCode(code.value)


# -- values, variants, reasons and metadata ------
@pytest.mark.parametrize(
    ("ctx", "value", "variant", "reason", "rule_id"),
    [
        (context("vip"), True, "0", OfReason.TARGETING_MATCH, None),
        (context("user-1", country="NL"), True, "0", OfReason.TARGETING_MATCH, "dutch"),
        (context("user-1", country="DE"), False, "1", OfReason.DEFAULT, None),
    ],
)
def test_a_boolean_flag_reports_value_variant_reason_and_metadata(
    of_client: OpenFeatureClient,
    client: Client,
    ctx: EvaluationContext,
    value: bool,
    variant: str,
    reason: str,
    rule_id: str | None,
) -> None:
    details = of_client.get_boolean_details("checkout", not value, ctx)

    assert (details.value, details.variant, details.reason) == (value, variant, reason)
    assert details.error_code is None and details.error_message is None
    expected_metadata: dict[str, Any] = {"version": 1}
    if rule_id is not None:
        expected_metadata["rule_id"] = rule_id
    assert details.flag_metadata == expected_metadata
    own = client.evaluate("checkout", {"key": ctx.targeting_key, **ctx.attributes}, not value)
    assert (own.value, str(own.variation_index), own.reason.value) == (value, variant, reason)


def test_a_string_flag_serves_its_targets_and_its_static_value(of_client: OpenFeatureClient) -> None:
    special = of_client.get_string_details("banner", "default", context("user-7"))
    everyone = of_client.get_string_details("banner", "default", context("user-1"))

    assert (special.value, special.variant, special.reason) == ("hi", "1", OfReason.TARGETING_MATCH)
    assert (everyone.value, everyone.variant, everyone.reason) == ("hello", "0", OfReason.DEFAULT)
    assert of_client.get_string_value("banner", "default") == "hello"


def test_a_rollout_reports_split_with_the_variant_the_client_chose(
    of_client: OpenFeatureClient, client: Client
) -> None:
    seen = set()
    for n in range(40):
        details = of_client.get_string_details("colour", "none", context(f"user-{n}"))
        own = client.evaluate("colour", {"key": f"user-{n}"}, "none")
        assert details.reason == OfReason.SPLIT
        assert (details.value, details.variant) == (own.value, str(own.variation_index))
        seen.add(details.value)
    assert seen == {"red", "green"}


def test_a_rollout_without_a_targeting_key_is_targeting_key_missing_with_the_default(
    of_client: OpenFeatureClient,
) -> None:
    details = of_client.get_string_details("colour", "none", context(None, country="NL"))

    assert details.value == "none" and details.variant is None
    assert details.reason == OfReason.ERROR
    assert details.error_code == OfCode.TARGETING_KEY_MISSING
    assert details.error_message == "the context has no 'key' to bucket by"


def test_targeting_key_is_the_context_key_and_wins_over_a_key_attribute(of_client: OpenFeatureClient) -> None:
    assert of_client.get_boolean_value("checkout", False, context("vip", key="someone-else")) is True
    assert of_client.get_boolean_value("checkout", False, context(None, key="vip")) is True


def test_datetime_attributes_are_compared_as_instants(
    of_client: OpenFeatureClient, source: TestSource
) -> None:
    launch = datetime(2030, 1, 1, tzinfo=UTC)
    source.set_flag(
        {
            "key": "early-bird",
            "kind": "boolean",
            "variations": [True, False],
            "enabled": True,
            "rules": [
                {
                    "id": "signed-up-before-launch",
                    "clauses": [{"attribute": "signed_up", "op": "before", "values": [launch.isoformat()]}],
                    "serve": {"variation": 0},
                }
            ],
            "fallthrough": {"variation": 1},
        }
    )
    cet = timezone(timedelta(hours=1))
    before = datetime(2030, 1, 1, 0, 30, tzinfo=cet)  # 23:30 UTC the day before
    after = datetime(2030, 1, 1, 1, 30, tzinfo=cet)
    naive_before = datetime(2029, 12, 31, 23, 59)  # read as UTC

    assert of_client.get_boolean_value("early-bird", False, context("u", signed_up=before)) is True
    assert of_client.get_boolean_value("early-bird", True, context("u", signed_up=after)) is False
    assert of_client.get_boolean_value("early-bird", False, context("u", signed_up=naive_before)) is True


def test_number_flags_resolve_as_integers_and_floats(of_client: OpenFeatureClient) -> None:
    integer = of_client.get_integer_details("limit", 0)
    as_float = of_client.get_float_details("limit", 0.0)
    fraction = of_client.get_float_details("ratio", 0.0)

    assert (integer.value, type(integer.value), integer.reason) == (10, int, OfReason.STATIC)
    assert (as_float.value, type(as_float.value), as_float.variant) == (10.0, float, "0")
    assert (fraction.value, fraction.variant) == (2.5, "0")


def test_a_fractional_number_asked_for_as_an_integer_is_a_type_mismatch(of_client: OpenFeatureClient) -> None:
    details = of_client.get_integer_details("ratio", 7)

    assert details.value == 7 and details.variant is None
    assert (details.reason, details.error_code) == (OfReason.ERROR, OfCode.TYPE_MISMATCH)
    assert "2.5" in (details.error_message or "")


def test_a_json_flag_resolves_as_an_object_or_a_list(of_client: OpenFeatureClient) -> None:
    obj = of_client.get_object_details("theme", {})
    lst = of_client.get_object_details("theme", {}, context("lister"))

    assert (obj.value, obj.variant, obj.reason) == (
        {"colour": "dark", "sizes": [1, 2]},
        "0",
        OfReason.DEFAULT,
    )
    assert (lst.value, lst.variant, lst.reason) == (["a", "b"], "1", OfReason.TARGETING_MATCH)


def test_a_json_value_that_is_not_an_object_is_a_type_mismatch(of_client: OpenFeatureClient) -> None:
    details = of_client.get_object_details("theme", {"fallback": True}, context("texter"))

    assert details.value == {"fallback": True}
    assert details.error_code == OfCode.TYPE_MISMATCH
    assert details.reason == OfReason.ERROR


@pytest.mark.parametrize(
    ("resolve", "key", "default"),
    [
        ("get_string_details", "checkout", "x"),
        ("get_boolean_details", "banner", False),
        ("get_integer_details", "banner", 3),
        ("get_float_details", "checkout", 1.5),
        ("get_object_details", "limit", {"a": 1}),
    ],
)
def test_a_flag_of_another_kind_is_a_type_mismatch(
    of_client: OpenFeatureClient, resolve: str, key: str, default: Any
) -> None:
    details = getattr(of_client, resolve)(key, default, context("vip"))

    assert details.value == default
    assert (details.reason, details.error_code) == (OfReason.ERROR, OfCode.TYPE_MISMATCH)
    assert details.flag_metadata == {"version": 1}


# -- errors and the kill switch ------
@pytest.mark.parametrize(
    ("resolve", "default"),
    [
        ("get_boolean_details", True),
        ("get_string_details", "d"),
        ("get_integer_details", 4),
        ("get_float_details", 0.5),
        ("get_object_details", {"d": 1}),
    ],
)
def test_an_unknown_flag_is_flag_not_found_with_the_default(
    of_client: OpenFeatureClient, resolve: str, default: Any
) -> None:
    details = getattr(of_client, resolve)("no-such-flag", default, context("u"))

    assert details.value == default and details.variant is None
    assert (details.reason, details.error_code) == (OfReason.ERROR, OfCode.FLAG_NOT_FOUND)
    assert details.error_message == "no flag 'no-such-flag'"
    assert details.flag_metadata == {}


def test_a_killed_flag_serves_its_off_variation_with_reason_disabled(
    of_client: OpenFeatureClient, source: TestSource
) -> None:
    source.set_flag({**CHECKOUT, "enabled": False})

    details = of_client.get_boolean_details("checkout", True, context("vip", country="NL"))

    assert (details.value, details.variant, details.reason) == (False, "1", OfReason.DISABLED)
    assert details.error_code is None
    assert details.flag_metadata == {"version": 2}


def test_a_killed_flag_without_off_variation_serves_the_default_with_reason_disabled(
    of_client: OpenFeatureClient, source: TestSource
) -> None:
    source.set_flag({**COLOUR, "enabled": False})

    details = of_client.get_string_details("colour", "fallback", context("u"))

    assert (details.value, details.variant, details.reason) == ("fallback", None, OfReason.DISABLED)
    assert details.error_code is None


def test_a_failed_prerequisite_is_passed_on_as_its_own_reason(
    of_client: OpenFeatureClient, source: TestSource
) -> None:
    source.set_flag({**CHECKOUT, "key": "payments", "prerequisites": [{"flag": "checkout", "variation": 0}]})

    details = of_client.get_boolean_details("payments", True, context("user-1", country="DE"))

    assert (details.value, details.variant, details.reason) == (False, "1", "PREREQUISITE_FAILED")
    assert details.error_code is None


def test_an_unreadable_flag_is_a_parse_error(of_client: OpenFeatureClient, source: TestSource) -> None:
    source.set_flag({"key": "broken", "kind": "boolean", "variations": ["not a boolean"], "enabled": True})

    details = of_client.get_boolean_details("broken", True, context("u"))

    assert details.value is True and details.variant is None
    assert (details.reason, details.error_code) == (OfReason.ERROR, OfCode.PARSE_ERROR)
    assert "broken" in (details.error_message or "")


def test_importing_flagstaff_does_not_import_openfeature() -> None:
    code = "import sys, flagstaff, flagstaff.testing; print('openfeature' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"
