"""`flagstaff flags list|kill|on|off` against a real `flagstaff serve`: the state of every flag of an
environment (on, off, killed), and the switches with `--wait` printing the propagation report of connected
SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flagstaff import Client
from flagstaff.live import LiveDataSource, LiveOptions
from tests.cli_helpers import Server, flagstaff, operator_env
from tests.cli_helpers import operator_server as operator_server  # the fixture
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import wait_until


@pytest.fixture
def admin(operator_server: Server) -> Iterator[Admin]:
    client = Admin(operator_server.url)  # a fresh project
    yield client
    client.close()


def _table(stdout: str) -> dict[str, list[str]]:
    """The rows under the KEY/STATE/VERSION header, by key."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["KEY", "STATE", "VERSION"])
    rows = {}
    for line in lines[header + 1 :]:
        if not line.startswith("  "):
            break
        key, state, version, *note = line.split(maxsplit=3)
        rows[key] = [state, version, *note]
    return rows


def _version(admin: Admin, key: str, env: str = ENV) -> str:
    response = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{env}/flags/{key}")
    return str(response.json()["flag"]["version"])


def test_flags_list_shows_each_flags_key_state_and_version(operator_server: Server, admin: Admin) -> None:
    admin.create_flag("pay", enabled=True)
    admin.create_flag("beta", enabled=False)
    admin.create_flag("checkout", enabled=True)
    admin.http.post(
        f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/checkout/kill",
        json={"reason": "5xx after deploy"},
    ).raise_for_status()
    admin.create_flag("quiet", enabled=True)
    admin.switch("quiet", "off")  # off, not killed, even though it was on before

    listed = flagstaff(
        "flags", "list", "--project", admin.project, "--env", ENV, env=operator_env(operator_server)
    )

    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    assert listed.stdout.startswith(f"{admin.project}/{ENV}: 4 flags, revision ")
    rows = _table(listed.stdout)
    assert rows["pay"] == ["on", _version(admin, "pay")]
    assert rows["beta"] == ["off", _version(admin, "beta")]
    assert rows["quiet"] == ["off", _version(admin, "quiet")]
    state, version, note = rows["checkout"]
    assert (state, version) == ("killed", _version(admin, "checkout"))
    assert note.startswith("by bootstrap at ") and note.endswith(": 5xx after deploy")


def test_flags_list_without_env_lists_every_environment_of_the_project(
    operator_server: Server, admin: Admin
) -> None:
    admin.create_flag("pay", enabled=True)  # on in production only

    listed = flagstaff("flags", "list", "--project", admin.project, env=operator_env(operator_server))

    assert listed.returncode == 0, listed.stderr
    sections = listed.stdout.split("\n\n")
    assert [section.split(":")[0] for section in sections] == [
        f"{admin.project}/{env}" for env in ("development", "staging", "production")
    ]
    assert [_table(section)["pay"][0] for section in sections] == ["off", "off", "on"]


def test_a_switch_prints_the_new_state_and_a_repeat_says_nothing_changed(
    operator_server: Server, admin: Admin
) -> None:
    admin.create_flag("pay", enabled=True)
    env = operator_env(operator_server)
    where = ["--project", admin.project, "--env", ENV]

    killed = flagstaff("flags", "kill", "pay", *where, "--reason", "5xx", env=env)
    again = flagstaff("flags", "off", "pay", *where, env=env)

    assert killed.returncode == 0, killed.stderr
    assert killed.stdout.startswith(f"pay is now killed in {admin.project}/{ENV} (version ")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"pay was already off in {admin.project}/{ENV}; nothing changed (version ")


def test_a_switch_with_wait_prints_the_propagation_report(operator_server: Server, admin: Admin) -> None:
    admin.create_flag("pay", enabled=True)
    admin.create_flag("idle", enabled=True)
    sdk_key, _ = admin.sdk_key()
    client = Client(
        data_source=LiveDataSource(sdk_key, operator_server.url, options=LiveOptions(ack_interval=0.05))
    )
    try:
        assert client.wait_until_ready(10)
        wait_until(lambda: admin.propagation()["confirmed"] == 1, 10, "the SDK to be counted as connected")
        env = operator_env(operator_server)

        killed = flagstaff(
            "flags",
            "kill",
            "pay",
            "--project",
            admin.project,
            "--env",
            ENV,
            "--reason",
            "x",
            "--wait",
            "5",
            env=env,
        )

        assert killed.returncode == 0, killed.stderr
        first, report = killed.stdout.splitlines()
        revision = first.rsplit("revision ", 1)[1].rstrip(")")
        assert report.startswith(
            f"propagation: 1 of 1 connected SDK instances confirmed revision {revision}, "
        )
        assert report.endswith(" ms")
        assert not client.is_enabled("pay", {"key": "u"})
    finally:
        client.close()
    # Nobody listens in staging.
    lonely = flagstaff(
        "flags", "on", "idle", "--project", admin.project, "--env", "staging", "--wait", "0.2", env=env
    )
    assert (
        lonely.stdout.splitlines()[1]
        == f"propagation: no SDK instance is connected to {admin.project}/staging"
    )
