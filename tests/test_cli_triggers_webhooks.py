"""`flagstaff triggers` and `flagstaff webhooks` against a real `flagstaff serve`: a trigger created from the
command line fires at the URL it printed once; lists never print a secret; a webhook's delivery log shows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.cli_helpers import Server, flagstaff, operator_env
from tests.cli_helpers import operator_server as operator_server  # the fixture
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import wait_until
from tests.webhook_receiver import WebhookReceiver


@pytest.fixture
def admin(operator_server: Server) -> Iterator[Admin]:
    client = Admin(operator_server.url)  # a fresh project
    yield client
    client.close()


def test_a_trigger_made_on_the_command_line_kills_its_flag_at_the_printed_url(
    operator_server: Server, admin: Admin
) -> None:
    admin.create_flag("checkout", enabled=True)
    env = operator_env(operator_server)
    where = ["--project", admin.project, "--env", ENV]

    created = flagstaff(
        "triggers", "create", "checkout", "--name", "pager", "--action", "kill", *where, env=env
    )

    assert created.returncode == 0, created.stderr
    url = created.stdout.splitlines()[-1]
    assert url.startswith(f"{operator_server.url}/api/v1/triggers/fs_trigger_")
    assert httpx.post(url, json={"reason": "paged"}, timeout=10).json()["changed"] is True
    flag = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/checkout").json()[
        "flag"
    ]
    assert flag["enabled"] is False
    listed = flagstaff("triggers", "list", *where, env=env)
    assert listed.returncode == 0 and url.rsplit("/", 1)[1] not in listed.stdout
    fingerprint = hashlib.sha256(url.rsplit("/", 1)[1].encode()).hexdigest()[:8]
    [row] = [line.split() for line in listed.stdout.splitlines() if fingerprint in line]
    assert row[1:6] == ["pager", "checkout", "kill", fingerprint, "1"]
    revoked = flagstaff("triggers", "revoke", row[0], *where, env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert httpx.post(url, timeout=10).status_code == 404
    refused = flagstaff("triggers", "create", "nope", "--name", "n", "--action", "kill", *where, env=env)
    assert refused.returncode == 2 and "404 not_found" in refused.stderr and "(field: flag)" in refused.stderr


def test_a_webhook_made_on_the_command_line_logs_its_deliveries(
    operator_server: Server, admin: Admin
) -> None:
    admin.create_flag("checkout", enabled=False)
    env = operator_env(operator_server)
    where = ["--project", admin.project, "--env", ENV]
    receiver = WebhookReceiver().start()
    try:
        created = flagstaff(
            "webhooks", "create", receiver.url, "--name", "chat", "--events", "flag.*", *where, env=env
        )
        assert created.returncode == 0, created.stderr
        secret = created.stdout.splitlines()[-1]
        assert secret.startswith("fs_whsec_")
        admin.switch("checkout", "on")
        [request] = receiver.wait_for(1, timeout=30)  # the server's own jobs sent it
        assert request.json["event"] == "flag.on"
        listed = flagstaff("webhooks", "list", *where, env=env)
        assert listed.returncode == 0 and secret not in listed.stdout and receiver.url in listed.stdout
        webhook_id = next(line.split()[0] for line in listed.stdout.splitlines() if receiver.url in line)

        def logged() -> str | None:
            log = flagstaff("webhooks", "deliveries", webhook_id, *where, env=env)
            return log.stdout if " delivered " in log.stdout else None

        log = wait_until(logged, 30, "the delivery to be logged as delivered")
        assert "flag.on" in log
        deleted = flagstaff("webhooks", "delete", webhook_id, *where, env=env)
        assert deleted.returncode == 0 and "deleted" in deleted.stdout
    finally:
        receiver.stop()
