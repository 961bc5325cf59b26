"""Flagstaff: feature flags evaluated locally, kept current by the Flagstaff server.

import flagstaff
client = flagstaff.Client(sdk_key="fs_sdk_...", base_url="https://flags.example.com")
if client.is_enabled("new-checkout", {"key": "user-123", "country": "NL"}):
    ...
"""

from flagstaff.bucketing import bucket
from flagstaff.client import Client, DataSource, StaticDataSource
from flagstaff.documents import load_snapshot, validate_flag, validate_segment, validate_snapshot
from flagstaff.evaluation import ErrorCode, Evaluation, Reason
from flagstaff.flags import Flag
from flagstaff.live_options import LiveOptions
from flagstaff.problems import FormatError, Problem
from flagstaff.references import has_references, validate_references
from flagstaff.schema import FLAG_SCHEMA, SEGMENT_SCHEMA, SNAPSHOT_SCHEMA
from flagstaff.snapshot import Snapshot, evaluate
from flagstaff.store import FlagStore, State, Status
from flagstaff.versions import FORMAT_VERSION

__version__ = "0.1.0"

__all__ = [
    "FLAG_SCHEMA",
    "FORMAT_VERSION",
    "SEGMENT_SCHEMA",
    "SNAPSHOT_SCHEMA",
    "Client",
    "DataSource",
    "ErrorCode",
    "Evaluation",
    "Flag",
    "FlagStore",
    "FormatError",
    "LiveOptions",
    "Problem",
    "Reason",
    "Snapshot",
    "State",
    "StaticDataSource",
    "Status",
    "bucket",
    "evaluate",
    "has_references",
    "load_snapshot",
    "validate_flag",
    "validate_references",
    "validate_segment",
    "validate_snapshot",
]
