"""A kill switch pulled through the HTTP API reaches an application that reads its flags through OpenFeature:
a real server, a live SDK client streaming from it, and the real OpenFeature SDK over the Flagstaff
provider."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.flag_evaluation import Reason

from flagstaff import Client
from flagstaff.openfeature import FlagstaffProvider
from tests.streaming.admin import Admin
from tests.streaming.processes import ServerProcess


@pytest.fixture
def changes() -> Iterator[queue.Queue[EventDetails]]:
    """The provider's CONFIGURATION_CHANGED events; OpenFeature's global state is reset afterwards."""
    seen: queue.Queue[EventDetails] = queue.Queue()
    api.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, seen.put)
    yield seen
    api.shutdown()


def test_a_kill_through_the_http_api_reaches_an_openfeature_client(
    admin: Admin,
    server: ServerProcess,
    make_client: Callable[..., Client],
    changes: queue.Queue[EventDetails],
) -> None:
    admin.create_flag("checkout")
    sdk_key, _ = admin.sdk_key()
    api.set_provider_and_wait(FlagstaffProvider(make_client(sdk_key, server.base_url)))
    features = api.get_client()
    user = EvaluationContext(targeting_key="user-1")

    before = features.get_boolean_details("checkout", False, user)
    assert (before.value, before.variant, before.reason) == (True, "0", Reason.STATIC)

    admin.switch("checkout", "kill")
    changed = changes.get(timeout=5)

    assert changed.flags_changed == ["checkout"] and changed.provider_name == "flagstaff"
    after = features.get_boolean_details("checkout", True, user)
    assert (after.value, after.variant, after.reason) == (False, "1", Reason.DISABLED)
    assert after.error_code is None
    assert after.flag_metadata["version"] > before.flag_metadata["version"]
