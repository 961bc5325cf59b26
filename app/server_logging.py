"""Where the server's log lines go: its own `app.*` loggers beside uvicorn's, in uvicorn's format, at
FLAGSTAFF_LOG_LEVEL; and what the app reports itself, kept out of uvicorn's error log.

Configures logging only, once per process however many apps are built; the app factory calls it.
"""

from __future__ import annotations

import logging

from uvicorn.config import LOG_LEVELS
from uvicorn.logging import DefaultFormatter

from app.api.event_stream_response import SendTimeoutLogFilter

# One instance, so that adding it again (a second app in the same process) is a no-op.
_SEND_TIMEOUTS = SendTimeoutLogFilter()


def configure(level: str) -> None:
    logger = logging.getLogger("app")
    logger.setLevel(LOG_LEVELS[level.lower()])
    # Without a handler, Python prints only warnings and worse, unformatted. A host that configured logging
    # itself (or a test runner capturing it) has a handler on the root logger, and keeps it to itself.
    if not logger.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
        logger.addHandler(handler)
    logging.getLogger("uvicorn.error").addFilter(_SEND_TIMEOUTS)
