"""The JSON Schema of the wire format, shipped with the SDK (``flag-format.schema.json``).

Documentation for other languages and for OpenAPI; the validator in ``snapshot.py`` remains the authority.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SNAPSHOT_SCHEMA: dict[str, Any] = json.loads(
    resources.files("flagstaff").joinpath("flag-format.schema.json").read_text(encoding="utf-8")
)


def _standalone(name: str) -> dict[str, Any]:
    # A self-contained schema for one definition, keeping the shared $defs its references point to.
    return {**SNAPSHOT_SCHEMA["$defs"][name], "$defs": SNAPSHOT_SCHEMA["$defs"]}


FLAG_SCHEMA: dict[str, Any] = _standalone("flag")
SEGMENT_SCHEMA: dict[str, Any] = _standalone("segment")
