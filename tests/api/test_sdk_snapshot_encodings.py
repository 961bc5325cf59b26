"""`GET /sdk/v1/flags` in gzip when the client accepts it: the same document, an ETag per encoding, 304 as
before; and the poll front (answers from memory) and the route (after a database check) answer alike."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import flagstaff
from app.api.sdk_poll import accepts_gzip
from app.services.snapshot_bytes import encode
from tests.api.helpers import create_flag, env_flag_url, sdk_key

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Raw:
    status_code: int
    headers: httpx.Headers
    content: bytes


async def _raw_get(client: httpx.AsyncClient, key: str, **headers: str) -> Raw:
    """The response as sent, its body not inflated (httpx would otherwise decode gzip)."""
    request = client.build_request(
        "GET", "/sdk/v1/flags", headers={"Authorization": f"Bearer {key}", **headers}
    )
    response = await client.send(request, stream=True)
    try:
        content = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
    return Raw(response.status_code, response.headers, content)


async def _environment_with_flags(client: httpx.AsyncClient, project: str, count: int) -> str:
    key = await sdk_key(client, project, "production")
    for index in range(count):
        await create_flag(client, project, f"flag-{index}")
        patch = await client.patch(
            env_flag_url(project, "production", f"flag-{index}"),
            json={"enabled": True, "rules": [_rule(index)]},
        )
        assert patch.status_code == 200, patch.text
    return key


def _rule(index: int) -> dict[str, Any]:
    return {
        "id": "countries",
        "clauses": [{"attribute": "country", "op": "in", "values": ["NL", "BE", f"C{index}"]}],
        "serve": {"variation": 0},
    }


async def test_a_client_accepting_gzip_gets_the_same_document_compressed(
    client: httpx.AsyncClient, project: str
):
    key = await _environment_with_flags(client, project, 5)
    identity = await _raw_get(client, key, **{"Accept-Encoding": "identity"})
    compressed = await _raw_get(client, key, **{"Accept-Encoding": "gzip, deflate"})
    assert identity.status_code == compressed.status_code == 200
    assert "content-encoding" not in identity.headers
    assert compressed.headers["content-encoding"] == "gzip"
    assert identity.headers["vary"] == compressed.headers["vary"] == "Accept-Encoding"
    assert int(compressed.headers["content-length"]) == len(compressed.content)
    assert gzip.decompress(compressed.content) == identity.content
    document = json.loads(identity.content)
    assert sorted(document["flags"]) == [f"flag-{i}" for i in range(5)]
    assert flagstaff.load_snapshot(document).evaluate("flag-3", {"key": "u", "country": "C3"}).value is True


async def test_each_encoding_has_its_own_etag_and_either_tag_answers_304(
    client: httpx.AsyncClient, project: str
):
    key = await _environment_with_flags(client, project, 1)
    identity = await _raw_get(client, key, **{"Accept-Encoding": "identity"})
    compressed = await _raw_get(client, key, **{"Accept-Encoding": "gzip"})
    revision = json.loads(identity.content)["revision"]
    # A strong tag names one sequence of bytes: the gzip body's tag is the weak form of the same revision.
    assert identity.headers["etag"] == f'"{revision}"'
    assert compressed.headers["etag"] == f'W/"{revision}"'
    for held in (identity.headers["etag"], compressed.headers["etag"]):
        for encoding, expected in (("gzip", f'W/"{revision}"'), ("identity", f'"{revision}"')):
            answer = await _raw_get(client, key, **{"Accept-Encoding": encoding, "If-None-Match": held})
            assert answer.status_code == 304 and answer.content == b""
            assert answer.headers["etag"] == expected and answer.headers["vary"] == "Accept-Encoding"
    await client.post(env_flag_url(project, "production", "flag-0", "off"))
    changed = await _raw_get(
        client, key, **{"Accept-Encoding": "gzip", "If-None-Match": compressed.headers["etag"]}
    )
    assert changed.status_code == 200 and changed.headers["etag"] == f'W/"{revision + 1}"'
    assert json.loads(gzip.decompress(changed.content))["flags"]["flag-0"]["enabled"] is False


async def test_the_poll_front_answers_as_the_route_does(client: httpx.AsyncClient, project: str):
    key = await _environment_with_flags(client, project, 2)
    # The first poll misses the key cache and is answered by the route; the next ones come from memory.
    for encoding in ("gzip", "identity"):
        for if_none_match in (None, '"0"', "*"):
            headers = {
                "Accept-Encoding": encoding,
                **({"If-None-Match": if_none_match} if if_none_match else {}),
            }
            answers = [await _raw_get(client, key, **headers) for _ in range(2)]
            by_route, by_front = (
                (a.status_code, {k: v for k, v in a.headers.items() if k != "x-request-id"}, a.content)
                for a in answers
            )
            assert by_route == by_front
            assert answers[0].headers["x-request-id"] != answers[1].headers["x-request-id"]


async def test_an_unknown_key_is_refused_by_the_route_even_with_a_matching_etag(client: httpx.AsyncClient):
    answer = await _raw_get(client, "fs_sdk_nope_nope", **{"If-None-Match": "*", "Accept-Encoding": "gzip"})
    assert answer.status_code == 401 and json.loads(answer.content)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate", True),
        ("deflate, GZIP;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("br;q=1.0, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("identity", False),
        ("br, zstd", False),
        ("gzip;q=nonsense", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_encoding_admits_gzip_only_with_a_positive_quality(header: str | None, expected: bool):
    assert accepts_gzip(header) is expected


def test_gzip_of_a_thousand_flag_snapshot_is_under_five_percent_of_its_json_and_loads_in_the_sdk():
    flags = {f"flag-{i:04d}": _flag(i) for i in range(1000)}
    encoded = encode({"format": 1, "revision": 2000, "flags": flags, "segments": {}})
    assert len(encoded.gzip) <= 0.05 * len(encoded.identity), (len(encoded.gzip), len(encoded.identity))
    document = json.loads(gzip.decompress(encoded.gzip))
    assert flagstaff.validate_snapshot(document) == []
    assert (
        flagstaff.load_snapshot(document).evaluate("flag-0999", {"key": "u", "country": "NL"}).value is True
    )


def _flag(index: int) -> dict[str, Any]:
    """The shape the server benchmark creates: two rules (the second a rollout), a 10% fallthrough."""
    halves = [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 50_000}]
    return {
        "key": f"flag-{index:04d}",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "off_variation": 1,
        "targets": [],
        "rules": [
            {
                "id": "countries",
                "clauses": [{"attribute": "country", "op": "in", "values": ["NL", "BE", "DE", "FR"]}],
                "serve": {"variation": 0},
            },
            {
                "id": "staff",
                "clauses": [
                    {"attribute": "email", "op": "ends_with", "values": ["@corp.example"]},
                    {"attribute": "plan", "op": "in", "values": ["enterprise", f"plan-{index % 7}"]},
                ],
                "serve": {"rollout": {"variations": halves}},
            },
        ],
        "fallthrough": {
            "rollout": {
                "variations": [{"variation": 0, "weight": 10_000}, {"variation": 1, "weight": 90_000}]
            }
        },
        "prerequisites": [],
        "salt": f"flag-{index:04d}",
        "version": 2,
    }


async def test_polls_answered_from_memory_are_counted_in_the_request_metrics(
    client: httpx.AsyncClient, project: str
):
    key = await _environment_with_flags(client, project, 1)

    def counted(text: str) -> float:
        label = 'flagstaff_http_requests_total{method="GET",route="/sdk/v1/flags",status="304"}'
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(label))

    before = counted((await client.get("/metrics")).text)
    for _ in range(5):
        answer = await _raw_get(client, key, **{"If-None-Match": "*"})
        assert answer.status_code == 304 and len(answer.headers["x-request-id"]) == 32
    assert counted((await client.get("/metrics")).text) == before + 5
