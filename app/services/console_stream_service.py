"""A console page's live stream: "the environment is now at revision N" each time it changes, from the same
change notices that feed SDK streams, so that the page fetches the rows that changed. Carries revisions only,
never flags: the page reads rows through the session that opened the stream.

Knows nothing of HTTP; the console's route writes the response.
"""

from __future__ import annotations

from anyio import to_thread

from app.services import lookups
from app.services.console_session_service import ConsoleIdentity
from app.services.sdk_stream_service import OpenedStream, Refusal, Refused
from app.storage.database import Database
from app.streaming.flag_change_notices import flag_change_notices
from app.streaming.runtime import Streaming


class ConsoleStreamService:
    def __init__(self, database: Database, streaming: Streaming) -> None:
        self._database = database
        self._streaming = streaming

    async def open(self, identity: ConsoleIdentity, project_key: str, environment_key: str) -> OpenedStream:
        """The notices of one environment for a signed-in console session. The stream hub ends it when the
        session ends or its key is revoked (`console_session_service.live_stream_keys`)."""
        environment_id = await to_thread.run_sync(self._environment_id, project_key, environment_key)
        hub = self._streaming.hub
        if not hub.accepting:
            raise Refused(Refusal.SHUTTING_DOWN, "this server is shutting down; reconnect to another")
        subscriber = await hub.subscribe(environment_id, identity.stream_key, None)
        retry_ms = self._streaming.settings.stream_retry_ms
        return OpenedStream(subscriber, flag_change_notices(hub, subscriber, retry_ms=retry_ms))

    def _environment_id(self, project_key: str, environment_key: str) -> int:
        with self._database.transaction() as session:
            return lookups.environment(session, project_key, environment_key)[1].id
