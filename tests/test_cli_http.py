"""How the commands that talk to a server fail: one line on standard error, exit status 2, no traceback,
naming what to fix: the server's own error message and field, an unreachable FLAGSTAFF_URL, a missing
variable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import Server, cli_env, flagstaff, free_port, operator_env
from tests.cli_helpers import operator_server as operator_server  # the fixture
from tests.streaming.admin import ENV, Admin


def _refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert result.stdout == "" and result.stderr.startswith("flagstaff: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.removeprefix("flagstaff: ").rstrip("\n")


def test_the_servers_error_message_and_field_are_printed(operator_server: Server) -> None:
    admin = Admin(operator_server.url)
    try:
        admin.create_flag("pay")
    finally:
        admin.close()
    env = operator_env(operator_server)
    where = ["--project", admin.project, "--env", ENV]

    empty_reason = flagstaff("flags", "kill", "pay", *where, "--reason", "", env=env)
    too_long_a_wait = flagstaff("flags", "on", "pay", *where, "--wait", "11", env=env)
    unknown_flag = flagstaff("flags", "off", "nope", *where, env=env)

    assert _refusal(empty_reason) == (
        "the server answered 422 invalid: reason: String should have at least 1 character (field: reason)"
    )
    assert _refusal(too_long_a_wait).endswith("(field: wait)")
    assert _refusal(too_long_a_wait).startswith("the server answered 422 invalid: wait: ")
    assert _refusal(unknown_flag).startswith("the server answered 404 not_found: ")


def test_a_wrong_key_is_named(operator_server: Server) -> None:
    env = operator_env(operator_server, FLAGSTAFF_API_KEY="fs_admin_not-a-key-at-all")
    assert _refusal(flagstaff("audit", env=env)).startswith("the server answered 401 unauthorized: ")
    assert _refusal(flagstaff("audit", env=env)).endswith("; check FLAGSTAFF_API_KEY")


def test_a_server_that_cannot_be_reached_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = cli_env("sqlite://", FLAGSTAFF_URL=url, FLAGSTAFF_API_KEY="fs_admin_whatever-long-enough")
    assert (
        _refusal(flagstaff("flags", "list", env=env))
        == f"cannot reach FLAGSTAFF_URL={url} (connection refused)"
    )


@pytest.mark.parametrize(
    ("variables", "complaint"),
    [
        (
            {"FLAGSTAFF_URL": "http://127.0.0.1:9"},
            "FLAGSTAFF_API_KEY is not set: an admin key (fs_admin_...)",
        ),
        ({"FLAGSTAFF_API_KEY": "fs_admin_x"}, "FLAGSTAFF_URL is not set: the server's address"),
        (
            {"FLAGSTAFF_URL": "127.0.0.1:8000", "FLAGSTAFF_API_KEY": "fs_admin_x"},
            "FLAGSTAFF_URL=127.0.0.1:8000 is not an http:// or https:// URL",
        ),
    ],
)
def test_a_missing_or_malformed_variable_is_named(variables: dict[str, str], complaint: str) -> None:
    env = cli_env("sqlite://", **variables)
    for command in (["flags", "kill", "pay", "--env", "production", "--reason", "x"], ["audit"]):
        assert _refusal(flagstaff(*command, env=env)).startswith(complaint)


def test_import_names_an_unreachable_url(tmp_path: Path) -> None:
    document = tmp_path / "unleash.json"
    document.write_text('{"version": 2, "features": []}')
    url = f"http://127.0.0.1:{free_port()}"
    env = cli_env("sqlite://", FLAGSTAFF_API_KEY="fs_admin_whatever-long-enough")
    refused = flagstaff("import", "unleash", str(document), "--url", url, "--env", "production", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines()[-1] == f"flagstaff: cannot reach --url={url} (connection refused)"
