"""OFREP answered by a real server, read by the third-party OpenFeature OFREP provider
(`openfeature-provider-ofrep`) through the real OpenFeature SDK: values, reasons, variants and errors for each
kind of flag, a killed flag, a missing one, and the key checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess

USER = EvaluationContext(targeting_key="user-1", attributes={"country": "NL"})


def _flag(admin: Admin, key: str, kind: str, variations: list[Any], **targeting: Any) -> None:
    body = {"kind": kind, "variations": variations}
    created = admin.http.put(f"/api/v1/projects/{admin.project}/flags/{key}", json=body)
    assert created.status_code == 201, created.text
    patch = {"enabled": True, **targeting}
    changed = admin.http.patch(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{key}", json=patch)
    assert changed.status_code == 200, changed.text


@pytest.fixture
def features(admin: Admin, server: ServerProcess) -> Iterator[OpenFeatureClient]:
    sdk_key, _ = admin.sdk_key()
    provider = OFREPProvider(server.base_url, headers_factory=lambda: {"Authorization": f"Bearer {sdk_key}"})
    api.set_provider(provider)
    yield api.get_client()
    api.shutdown()


def test_boolean_flag_with_a_matching_rule_is_a_targeting_match(
    admin: Admin, features: OpenFeatureClient
) -> None:
    rule = {
        "id": "dutch",
        "clauses": [{"attribute": "country", "op": "in", "values": ["NL"]}],
        "serve": {"variation": 0},
    }
    _flag(admin, "checkout", "boolean", [True, False], rules=[rule], fallthrough={"variation": 1})

    matched = features.get_boolean_details("checkout", False, USER)
    other = features.get_boolean_details("checkout", True, EvaluationContext("user-2", {"country": "FR"}))

    assert (matched.value, matched.variant, matched.reason) == (True, "0", Reason.TARGETING_MATCH)
    assert matched.flag_metadata["rule_id"] == "dutch" and matched.error_code is None
    assert (other.value, other.variant, other.reason) == (False, "1", Reason.DEFAULT)


def test_string_number_and_object_flags_serve_their_values(admin: Admin, features: OpenFeatureClient) -> None:
    _flag(admin, "banner", "string", ["hello", "bye"])
    _flag(admin, "limit", "number", [3, 2.5], fallthrough={"variation": 0})
    _flag(admin, "ratio", "number", [3, 2.5], fallthrough={"variation": 1})
    _flag(admin, "layout", "json", [{"columns": 2}, {"columns": 3}])

    banner = features.get_string_details("banner", "none", USER)
    assert (banner.value, banner.variant, banner.reason) == ("hello", "0", Reason.STATIC)
    assert features.get_integer_value("limit", 0, USER) == 3
    assert features.get_float_value("ratio", 0.0, USER) == 2.5
    assert features.get_object_value("layout", {}, USER) == {"columns": 2}
    mismatch = features.get_boolean_details("banner", False, USER)
    assert (mismatch.value, mismatch.error_code) == (False, ErrorCode.TYPE_MISMATCH)


def test_a_killed_flag_serves_its_off_variation_as_disabled(
    admin: Admin, features: OpenFeatureClient
) -> None:
    _flag(admin, "payments", "boolean", [True, False])
    assert features.get_boolean_value("payments", False, USER) is True

    admin.switch("payments", "kill")

    killed = features.get_boolean_details("payments", True, USER)
    assert (killed.value, killed.variant, killed.reason, killed.error_code) == (
        False,
        "1",
        Reason.DISABLED,
        None,
    )


def test_a_missing_flag_is_flag_not_found_with_the_default(features: OpenFeatureClient) -> None:
    missing = features.get_string_details("no-such-flag", "fallback", USER)
    assert (missing.value, missing.reason, missing.error_code) == (
        "fallback",
        Reason.ERROR,
        ErrorCode.FLAG_NOT_FOUND,
    )


def test_a_rollout_without_a_targeting_key_is_targeting_key_missing(
    admin: Admin, features: OpenFeatureClient
) -> None:
    split = {
        "rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}
    }
    _flag(admin, "split", "boolean", [True, False], fallthrough=split)

    details = features.get_boolean_details("split", False, EvaluationContext(attributes={"country": "NL"}))

    assert (details.value, details.error_code) == (False, ErrorCode.TARGETING_KEY_MISSING)
    assert details.error_message is not None and "served" not in details.error_message


def test_ofrep_answers_401_without_a_key_or_with_an_admin_key(admin: Admin, server: ServerProcess) -> None:
    _flag(admin, "checkout", "boolean", [True, False])
    url = f"{server.base_url}/ofrep/v1/evaluate/flags/checkout"
    for headers in ({}, {"Authorization": "Bearer fs_sdk_000000000000_nope"}, dict(admin.http.headers)):
        answer = httpx.post(url, json={"context": {}}, headers={"Authorization": "", **headers})
        assert answer.status_code == 401, headers
    sdk_key, _ = admin.sdk_key()
    assert httpx.post(url, json={}, headers={"X-API-Key": sdk_key}).json()["value"] is True


def test_bulk_evaluation_answers_304_for_its_etag_until_a_flag_changes(
    admin: Admin, server: ServerProcess
) -> None:
    _flag(admin, "checkout", "boolean", [True, False])
    _flag(admin, "banner", "string", ["hello", "bye"])
    sdk_key, _ = admin.sdk_key()
    body = {"context": {"targetingKey": "user-1"}}
    with httpx.Client(base_url=server.base_url, headers={"X-API-Key": sdk_key}) as http:
        first = http.post("/ofrep/v1/evaluate/flags", json=body)
        etag = first.headers["etag"]
        unchanged = http.post("/ofrep/v1/evaluate/flags", json=body, headers={"If-None-Match": etag})
        admin.switch("checkout", "kill")
        changed = http.post("/ofrep/v1/evaluate/flags", json=body, headers={"If-None-Match": etag})

    assert first.status_code == 200 and [f["key"] for f in first.json()["flags"]] == ["banner", "checkout"]
    assert (unchanged.status_code, unchanged.headers["etag"]) == (304, etag)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    killed = {f["key"]: f for f in changed.json()["flags"]}["checkout"]
    assert (killed["value"], killed["reason"]) == (False, "DISABLED")


def test_a_context_that_is_not_an_object_is_invalid_context(admin: Admin, server: ServerProcess) -> None:
    sdk_key, _ = admin.sdk_key()
    url = f"{server.base_url}/ofrep/v1/evaluate/flags/checkout"
    answer = httpx.post(url, json={"context": [1]}, headers={"X-API-Key": sdk_key})
    unreadable = httpx.post(
        url, content=b"{", headers={"X-API-Key": sdk_key, "Content-Type": "application/json"}
    )

    assert answer.status_code == 400 and answer.json()["errorCode"] == "INVALID_CONTEXT"
    assert answer.json()["key"] == "checkout"
    assert unreadable.status_code == 400 and unreadable.json()["errorCode"] == "PARSE_ERROR"


def test_a_killed_flag_without_an_off_variation_serves_the_callers_default(
    admin: Admin, server: ServerProcess, features: OpenFeatureClient
) -> None:
    _flag(admin, "banner", "string", ["hello", "bye"], off_variation=None)
    admin.switch("banner", "kill")
    sdk_key, _ = admin.sdk_key()

    answer = httpx.post(
        f"{server.base_url}/ofrep/v1/evaluate/flags/banner", json={}, headers={"X-API-Key": sdk_key}
    )
    details = features.get_string_details("banner", "fallback", USER)

    assert answer.status_code == 200
    assert answer.json()["reason"] == "DISABLED" and "value" not in answer.json()
    # openfeature-provider-ofrep 0.3.0 reads `variant` unconditionally, so it reports GENERAL, with the
    # default all the same.
    assert details.value == "fallback"
