"""The OpenFeature provider's events, as the real OpenFeature SDK delivers them to its handlers: ready, error
until the data arrives, stale while the stream is lost, configuration changed with the changed flag keys."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openfeature import api
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import ErrorCode as OfCode
from openfeature.flag_evaluation import Reason as OfReason
from openfeature.provider import ProviderStatus

from flagstaff import Client, LiveOptions, State
from flagstaff.openfeature import FlagstaffProvider
from flagstaff.testing import TestSource

STREAM = "/sdk/v1/stream"
POLL = "/sdk/v1/flags"
FAST = LiveOptions(
    read_timeout=30.0, connect_timeout=2.0, initial_backoff=0.05, max_backoff=0.2, poll_interval=0.05,
    auth_retry_interval=0.1, ack_interval=0.05, cache_interval=0.05,
)  # fmt: skip
EVENT_TIMEOUT = 10.0


class Events:
    """Every event of a Flagstaff provider that OpenFeature delivers to its handlers.

    OpenFeature runs handlers on a pool of threads, so two events emitted in a row may arrive in either order:
    ``expect`` waits for one kind of event, keeping the others for later."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[ProviderEvent, EventDetails]] = queue.Queue()
        self._early: list[tuple[ProviderEvent, EventDetails]] = []
        for event in ProviderEvent:
            api.add_handler(event, self._handler(event))

    def _handler(self, event: ProviderEvent) -> Callable[[EventDetails], None]:
        def handle(details: EventDetails) -> None:
            # OpenFeature tells a new handler the current provider's state at once: the no-op provider's.
            if details.provider_name == "flagstaff":
                self._queue.put((event, details))

        return handle

    def expect(self, event: ProviderEvent, timeout: float = EVENT_TIMEOUT) -> EventDetails:
        for index, (seen, details) in enumerate(self._early):
            if seen is event:
                del self._early[index]
                return details
        deadline = time.monotonic() + timeout
        while True:
            try:
                seen, details = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {event} within {timeout} s; other events: {self._early}") from None
            if seen is event:
                return details
            self._early.append((seen, details))


@pytest.fixture
def events() -> Iterator[Events]:
    """Registered before any provider, so every event is seen; OpenFeature's global state is reset after."""
    yield Events()
    api.shutdown()  # shuts the provider down (closing its client) and removes the handlers


@pytest.fixture
def source() -> TestSource:
    source = TestSource()
    source.set("banner", "hello")
    source.set("limit", 10)
    return source


@pytest.fixture
def client(source: TestSource) -> Client:
    return Client(data_source=source)


# -- provider events ------
def test_a_change_of_flags_is_configuration_changed_naming_the_flags(
    client: Client, source: TestSource, events: Events
) -> None:
    api.set_provider_and_wait(FlagstaffProvider(client))
    of_client = api.get_client()
    source.set("banner", "bonjour")
    changed = events.expect(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    source.remove("limit")
    removed = events.expect(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)

    assert changed.flags_changed == ["banner"] and changed.provider_name == "flagstaff"
    assert removed.flags_changed == ["limit"]
    assert of_client.get_string_value("banner", "x") == "bonjour"
    assert of_client.get_integer_details("limit", 1).error_code == OfCode.FLAG_NOT_FOUND


def test_a_client_without_data_is_an_error_until_its_data_arrives(
    server: Any, events: Events, wait_until: Callable[[Callable[[], object], float, str], None]
) -> None:
    server.script(STREAM, server.respond(503, b"{}"))
    server.script(POLL, server.respond(503, b"{}"))
    client = Client(sdk_key="fs_sdk_test", base_url=server.base_url, options=FAST)
    # The provider reports the client's last error; on a loaded machine the first answer may take longer than
    # the provider's ready timeout, so wait for it rather than for the clock.
    wait_until(lambda: "503" in str(client.status()), 10, "the client to meet the 503")
    api.set_provider(FlagstaffProvider(client, ready_timeout=0.3))
    of_client = api.get_client()

    failed = events.expect(ProviderEvent.PROVIDER_ERROR)
    assert failed.error_code == OfCode.PROVIDER_NOT_READY
    assert "503" in (failed.message or "")
    assert of_client.get_provider_status() is ProviderStatus.ERROR
    details = of_client.get_boolean_details("checkout", False)
    assert (details.value, details.error_code) == (False, OfCode.PROVIDER_NOT_READY)

    server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(1), 1)))

    events.expect(ProviderEvent.PROVIDER_READY)
    assert of_client.get_provider_status() is ProviderStatus.READY
    assert of_client.get_boolean_details("checkout", False).value is True


def test_a_lost_stream_is_stale_and_its_return_is_ready(server: Any, events: Events) -> None:
    server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(1), 1)))
    client = Client(sdk_key="fs_sdk_test", base_url=server.base_url, options=FAST)
    api.set_provider_and_wait(FlagstaffProvider(client))
    of_client = api.get_client()
    events.expect(ProviderEvent.PROVIDER_READY)

    server.script(STREAM, server.respond(503, b"{}"))
    server.script(POLL, server.respond(503, b"{}"))
    server.drop_streams()
    stale = events.expect(ProviderEvent.PROVIDER_STALE)
    assert stale.message and "stream" in stale.message  # why, as status().last_error says it
    assert of_client.get_provider_status() is ProviderStatus.STALE
    assert of_client.get_boolean_value("checkout", False) is True  # the last flags are still served

    server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(2, enabled=False), 2)))
    events.expect(ProviderEvent.PROVIDER_READY)
    changed = events.expect(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    assert changed.flags_changed == ["checkout"]
    assert of_client.get_boolean_details("checkout", True).reason == OfReason.DISABLED


def test_a_client_closed_under_the_provider_is_stale(client: Client, events: Events) -> None:
    api.set_provider_and_wait(FlagstaffProvider(client))
    events.expect(ProviderEvent.PROVIDER_READY)

    client.close()

    assert events.expect(ProviderEvent.PROVIDER_STALE).message == "the Flagstaff client was closed"


def test_openfeature_shutdown_closes_the_client(client: Client, events: Events) -> None:
    api.set_provider_and_wait(FlagstaffProvider(client))
    events.expect(ProviderEvent.PROVIDER_READY)

    api.shutdown()

    assert client.status().state is State.CLOSED
