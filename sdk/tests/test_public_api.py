"""The public API is a promise: this test pins it, so a change to it is a deliberate one."""

from __future__ import annotations

import flagstaff


def test_public_names_are_exactly_these() -> None:
    assert sorted(flagstaff.__all__) == sorted(
        [
            "FLAG_SCHEMA",
            "FORMAT_VERSION",
            "SEGMENT_SCHEMA",
            "SNAPSHOT_SCHEMA",
            "Client",
            "DataSource",
            "ErrorCode",
            "Evaluation",
            "Flag",
            "FlagStore",
            "FormatError",
            "LiveOptions",
            "Problem",
            "Reason",
            "Snapshot",
            "State",
            "StaticDataSource",
            "Status",
            "bucket",
            "evaluate",
        "has_references",
            "load_snapshot",
            "validate_flag",
            "validate_references",
            "validate_segment",
            "validate_snapshot",
        ]
    )
    for name in flagstaff.__all__:
        assert hasattr(flagstaff, name), name


def test_reason_and_error_code_names_follow_openfeature() -> None:
    assert {r.value for r in flagstaff.Reason} >= {
        "DISABLED",
        "TARGETING_MATCH",
        "SPLIT",
        "STATIC",
        "DEFAULT",
        "ERROR",
    }
    assert {c.value for c in flagstaff.ErrorCode} >= {
        "FLAG_NOT_FOUND",
        "TYPE_MISMATCH",
        "PARSE_ERROR",
        "GENERAL",
    }


def test_the_package_is_typed() -> None:
    from importlib import resources

    assert resources.files("flagstaff").joinpath("py.typed").is_file()
