"""Unleash's hashing parameters, as the importer writes them into rollouts of the ``unleash`` algorithm.

The algorithm itself is one of the SDK's own (``flagstaff.bucketing.unleash``), so imported flags evaluate
without this package being imported. Never change a result.
"""

from __future__ import annotations

from flagstaff.bucketing import BUCKETS, UNLEASH_ALGORITHM, UNLEASH_STRATEGY_MODULUS, UNLEASH_STRATEGY_SEED
from flagstaff.bucketing import unleash as unleash

NAME = UNLEASH_ALGORITHM
STRATEGY_SEED = UNLEASH_STRATEGY_SEED
STRATEGY_MODULUS = UNLEASH_STRATEGY_MODULUS
VARIANT_SEED = 86028157
"""The seed every Unleash SDK hashes variant stickiness with."""


def slot_threshold(slots: int, modulus: int) -> int:
    """The bucket threshold below which exactly the first ``slots`` of ``modulus`` slots fall.

    Slot ``s`` sits at bucket ``floor(s * 100000 / modulus)``; the threshold is one past the bucket of slot
    ``slots - 1``, which every later slot's bucket reaches because ``100000 / modulus >= 1``.
    """
    if slots <= 0:
        return 0
    if slots >= modulus:
        return BUCKETS
    return (slots - 1) * BUCKETS // modulus + 1
