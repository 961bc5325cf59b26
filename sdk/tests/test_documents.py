"""Loading snapshot documents: each flag compiled on first use, bytes read as the standard library would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import flagstaff
from flagstaff import Client, ErrorCode, FlagStore, Reason
from flagstaff.snapshot import UNCOMPILED


def _flag(key: str = "f", **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "rules": [
            {
                "id": "nl",
                "clauses": [{"attribute": "country", "op": "in", "values": ["NL"]}],
                "serve": {"variation": 0},
            }
        ],
        "fallthrough": {"variation": 1},
        **fields,
    }


def _document(*flags: dict[str, Any]) -> dict[str, Any]:
    return {"format": 1, "revision": 1, "flags": {f["key"]: f for f in flags}, "segments": {}}


def test_a_flag_is_compiled_on_its_first_evaluation_only() -> None:
    snapshot = flagstaff.load_snapshot(json.dumps(_document(_flag("f"), _flag("g"))).encode())
    assert snapshot.table["f"] is UNCOMPILED and snapshot.table["g"] is UNCOMPILED

    assert snapshot.evaluate("f", {"country": "NL"}).value is True

    compiled = snapshot.table["f"]
    assert compiled is not UNCOMPILED and compiled.key == "f"
    assert snapshot.table["g"] is UNCOMPILED
    assert snapshot.evaluate("f", {"country": "BE"}).value is False
    assert snapshot.table["f"] is compiled


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a lone surrogate", '["\\ud800x"]'),
        ("NaN", "[NaN]"),
        ("a number beyond a float", "[1e400]"),
        ("an integer beyond 64 bits", "[123456789012345678901234567890]"),
    ],
)
def test_what_msgspec_refuses_reads_as_the_standard_library_reads_it(name: str, text: str) -> None:
    flag = json.dumps(_flag("j", kind="json", variations=["placeholder"], fallthrough={"variation": 0}))
    document = json.dumps(_document(_flag("f"))).replace('"flags": {', f'"flags": {{"j": {flag}, ', 1)
    document = document.replace('["placeholder"]', text)
    parsed = json.loads(document)

    from_bytes = flagstaff.load_snapshot(document.encode()).evaluate("j")
    from_parsed = flagstaff.load_snapshot(parsed).evaluate("j")

    assert repr(from_bytes) == repr(from_parsed), name
    assert flagstaff.load_snapshot(document.encode()).evaluate("f", {"country": "NL"}).value is True


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"format": 1,', json.JSONDecodeError),
        (b'{"format": 1, "revision": 1, "flags": {"\xff": {}}, "segments": {}}', UnicodeDecodeError),
        (b'\xef\xbb\xbf{"format": 1, "revision": 1, "flags": {}, "segments": {}}', json.JSONDecodeError),
        (b"[" * 100_000 + b"]" * 100_000, RecursionError),
    ],
    ids=["truncated", "not-utf-8", "byte-order-mark", "too-deep"],
)
def test_bytes_that_are_not_a_json_document_raise_what_json_loads_raises(
    data: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        json.loads(data.decode("utf-8"))
    with pytest.raises(error):
        flagstaff.load_snapshot(data)


class _Exploding(Mapping[str, Any]):
    """A mapping that fails when read, standing for data no reader foresaw."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("unreadable")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("unreadable")

    def __len__(self) -> int:
        return 1


def test_a_flag_that_cannot_be_read_at_all_answers_parse_error_and_never_raises() -> None:
    document = _document(_flag("f"))
    document["flags"]["bad"] = _Exploding()
    client = Client.from_dict(document)

    assert client.is_enabled("bad", {}, default=True) is True
    result = client.evaluate("bad")
    assert result.error_code is ErrorCode.PARSE_ERROR and "unreadable" in str(result.error_message)
    assert client.is_enabled("f", {"country": "NL"}) is True


def test_threads_evaluating_a_flag_first_all_get_its_answer() -> None:
    client = Client.from_dict(_document(*(_flag(f"f{i}") for i in range(50))))
    start = threading.Barrier(8)
    answers: list[bool] = []

    def check() -> None:
        start.wait()
        answers.extend(client.is_enabled(f"f{i}", {"country": "NL"}) for i in range(50))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [True] * 400


def test_an_update_reports_only_the_flags_it_changes_whatever_was_evaluated_before() -> None:
    store = FlagStore()
    store.replace(json.dumps(_document(_flag("f"), _flag("g"))).encode())
    changes: list[set[str]] = []
    store.on_change(changes.append)
    assert store.snapshot.evaluate("f").reason is Reason.DEFAULT

    store.apply("flag", "g", _flag("g", version=2, enabled=False), 2, 2)
    store.snapshot.evaluate("g")
    store.apply("flag", "f", _flag("f", version=2), 2, 3)

    assert changes == [{"g"}, {"f"}]
