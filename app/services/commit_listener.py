"""The hook told about every committed environment revision, so streaming can fan changes out.

A Protocol and its do-nothing default only; the streaming package provides real listeners.
"""

from __future__ import annotations

from typing import Protocol


class CommitListener(Protocol):
    def __call__(self, environment_id: int, revision: int) -> None:
        """Called after commit, once per changed environment; must not raise and should return quickly."""


def ignore_commit(environment_id: int, revision: int) -> None:
    """The default listener: a single process needs no fan-out."""
