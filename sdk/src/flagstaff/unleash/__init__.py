"""Import from Unleash: client-features documents to Flagstaff snapshots, and the context mapping.

``import_unleash(document)`` returns the snapshot and a per-flag report of what could not be carried over.
"""

from flagstaff.unleash.bucketing import unleash as unleash_bucketer
from flagstaff.unleash.context import to_flagstaff_context
from flagstaff.unleash.importer import ImportResult, import_unleash
from flagstaff.unleash.report import Unmapped
from flagstaff.unleash.results import feature_enabled, variant_result

__all__ = [
    "ImportResult",
    "Unmapped",
    "feature_enabled",
    "import_unleash",
    "to_flagstaff_context",
    "unleash_bucketer",
    "variant_result",
]
