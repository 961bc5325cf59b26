"""`CliError`: how a `flagstaff` command fails. `main` prints its message as one line on standard error,
`flagstaff: <message>`, and exits with status 2; never a traceback for a mistake the user can correct."""

from __future__ import annotations

EXIT_REFUSED = 2


class CliError(Exception):
    """The command cannot do what was asked; the message says why, and what to do instead."""
