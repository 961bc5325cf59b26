"""The audit log as the webhooks' outbox: the cursor never moves past an entry that may still commit, the
`events` patterns select what they say, and (on PostgreSQL, where several replicas share the work) two
replicas running the jobs beside concurrent writers deliver every event exactly once."""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from app.services.change_transaction import Actor
from app.services.container import Services, build_services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn, WebhookIn
from app.services.webhook_outbox import settled_cursor, wanted
from app.settings import Settings
from app.storage import schema_migrations
from app.storage.database import Database
from app.storage.models import WebhookDelivery, utcnow
from app.storage.webhook_repository import AuditMark
from tests.webhook_receiver import WebhookReceiver
from tests.webhook_replica import Replica

ACTOR = Actor("outbox-test")
NOW = utcnow()
GRACE = timedelta(seconds=60)


def marks(*entries: tuple[int, float]) -> list[AuditMark]:
    """Audit entries as (id, seconds before now)."""
    return [AuditMark(id, NOW - timedelta(seconds=age), "p", "production", "flag.on") for id, age in entries]


def test_the_cursor_moves_over_every_id_it_has_seen() -> None:
    assert settled_cursor(10, marks((11, 1), (12, 1), (13, 0)), NOW, GRACE) == 13
    assert settled_cursor(10, [], NOW, GRACE) == 10


def test_the_cursor_stops_before_a_missing_id_that_may_still_commit() -> None:
    assert settled_cursor(10, marks((11, 5), (13, 5), (14, 1)), NOW, GRACE) == 11
    assert settled_cursor(10, marks((12, 5)), NOW, GRACE) == 10


def test_the_cursor_moves_past_a_missing_id_once_the_commit_grace_is_over() -> None:
    assert settled_cursor(10, marks((11, 90), (13, 61), (15, 5)), NOW, GRACE) == 13


@pytest.mark.parametrize(
    ("events", "action", "sent"),
    [
        (None, "flag.kill", True),
        (["flag.kill"], "flag.kill", True),
        (["flag.kill"], "flag.killed", False),
        (["flag.kill"], "flag.on", False),
        (["flag.*"], "flag.revert", True),
        (["flag.*"], "flagship.on", False),
        (["schedule.*", "rollout.rollback"], "rollout.rollback", True),
        (["schedule.*", "rollout.rollback"], "rollout.complete", False),
        (["*"], "webhook.create", True),
    ],
)
def test_event_patterns_select_an_action_a_kind_or_everything(
    events: list[str] | None, action: str, sent: bool
) -> None:
    assert wanted(events, action) is sent


# -- on PostgreSQL, as several replicas run it ------


@pytest.fixture(scope="module")
def postgres_url(postgres_databases: Callable[[], str]) -> str:
    url = postgres_databases()
    schema_migrations.upgrade(url)
    return url


@pytest.fixture(scope="module")
def services(postgres_url: str) -> Iterator[Services]:
    built = build_services(Database(postgres_url), settings=Settings(database_url=postgres_url))
    yield built
    built.database.dispose()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    started = WebhookReceiver().start()
    yield started
    started.stop()


def _project(services: Services, flags: int) -> str:
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production", "staging"])
    for index in range(flags):
        services.flag_definitions.put(
            ACTOR, project, f"f{index}", FlagDefinitionIn(kind="boolean", variations=[True, False]), None
        )
    return project


def _deliveries(services: Services, webhook_id: int) -> list[WebhookDelivery]:
    with services.database.transaction() as session:
        return list(
            session.query(WebhookDelivery).filter_by(webhook_id=webhook_id).order_by(WebhookDelivery.id)
        )


def test_an_entry_committed_after_a_later_one_is_still_delivered(
    services: Services, postgres_url: str, receiver: WebhookReceiver
) -> None:
    project = _project(services, 1)
    webhook = services.webhooks.create(ACTOR, project, "production", WebhookIn(name="h", url=receiver.url))
    inserted, release = threading.Event(), threading.Event()

    def slow_write() -> None:
        with services.writer.begin(Actor("slow")) as change:
            services.flag_configs.write_in(
                change,
                FlagRef(project, "production", "f0"),
                "flag.on",
                None,
                "late",
                lambda _s, _c: {"enabled": True},
            )
            change.session.flush()  # its audit entry has its id now, and is not committed
            inserted.set()
            release.wait(20)

    writer = threading.Thread(target=slow_write)
    writer.start()
    replica = Replica(postgres_url, clock=utcnow)
    try:
        assert inserted.wait(20)
        services.flag_configs.turn_on(ACTOR, FlagRef(project, "staging", "f0"))  # a later id, committed first
        replica.run()
        cursor_before = _cursor(services, webhook.id)
        release.set()
        writer.join(20)
        replica.run()
    finally:
        release.set()
        writer.join(20)
        replica.close()
    [request] = receiver.wait_for(1)
    assert (request.json["event"], request.json["reason"]) == ("flag.on", "late")
    assert cursor_before < request.json["audit_id"] <= _cursor(services, webhook.id)


def _cursor(services: Services, webhook_id: int) -> int:
    from app.storage.models import Webhook

    with services.database.transaction() as session:
        found = session.get(Webhook, webhook_id)
        assert found is not None
        return found.cursor


def test_two_replicas_beside_concurrent_writers_deliver_every_event_once(
    services: Services, postgres_url: str, receiver: WebhookReceiver
) -> None:
    project = _project(services, 4)
    hooks = {
        env: services.webhooks.create(ACTOR, project, env, WebhookIn(name=env, url=receiver.url))
        for env in ("production", "staging")
    }
    replicas = [Replica(postgres_url, clock=utcnow) for _ in range(2)]
    stop = threading.Event()

    def run_jobs(replica: Replica) -> None:
        while not stop.is_set():
            replica.run()

    def toggle(env: str, flag: str) -> None:
        for _ in range(8):
            services.flag_configs.turn_on(ACTOR, FlagRef(project, env, flag))
            services.flag_configs.turn_off(ACTOR, FlagRef(project, env, flag))

    runners = [threading.Thread(target=run_jobs, args=(replica,)) for replica in replicas]
    writers = [
        threading.Thread(target=toggle, args=(env, f"f{index}"))
        for index, env in enumerate(("production", "production", "staging", "staging"))
    ]
    for thread in runners + writers:
        thread.start()
    try:
        for thread in writers:
            thread.join(60)
        expected = {
            env: {
                entry.id
                for entry in services.audit.query(
                    project=project, environment=env, actor=ACTOR.name, limit=1000
                )
                if entry.action in ("flag.on", "flag.off")
            }
            for env in hooks
        }
        assert [len(ids) for ids in expected.values()] == [32, 32]
        receiver.wait_for(64, timeout=60)
    finally:
        stop.set()
        for thread in runners:
            thread.join(60)
        for replica in replicas:
            replica.close()
    sent = collections.Counter((r.json["environment"], r.json["audit_id"]) for r in receiver.received)
    assert [key for key, count in sent.items() if count > 1] == []
    assert {env: {audit for e, audit in sent if e == env} for env in hooks} == expected
    for hook in hooks.values():
        logged = _deliveries(services, hook.id)
        assert len(logged) == 32 and {row.status for row in logged} == {"delivered"}
        assert {row.attempts for row in logged} == {1}
    # each webhook's events arrived in the order they were audited
    for env in hooks:
        order = [r.json["audit_id"] for r in receiver.received if r.json["environment"] == env]
        assert order == sorted(order)
