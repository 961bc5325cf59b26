"""The ``unleash`` bucketing algorithm: Unleash's normalisation, so imported rollouts keep their users.

Registered into ``flagstaff.bucketing.ALGORITHMS`` when ``flagstaff`` is imported. Never change a result.
"""

from __future__ import annotations

import mmh3

from flagstaff.bucketing import ALGORITHMS, BUCKETS, Bucketer

NAME = "unleash"
STRATEGY_SEED = 0
STRATEGY_MODULUS = 100
VARIANT_SEED = 86028157
"""The seed every Unleash SDK hashes variant stickiness with."""


def unleash(salt: str, seed: int | None = None, modulus: int | None = None) -> Bucketer:
    """``murmur3_32("{salt}:{value}", seed) % modulus``, spread evenly over the 100000 buckets.

    Unleash enables a strategy when ``hash % 100 + 1 <= percentage`` (seed 0, modulus 100: the defaults) and
    picks a variant by ``hash % total_weight + 1`` (seed 86028157, modulus = the variants' total weight).
    Slot ``s`` of ``modulus`` becomes bucket ``s * 100000 // modulus``; see ``slot_threshold``.
    """
    prefix = f"{salt}:"
    hash_seed = STRATEGY_SEED if seed is None else seed
    slots = STRATEGY_MODULUS if modulus is None else modulus
    hash32 = mmh3.hash

    def bucketer(value: str) -> int:
        return (hash32(prefix + value, hash_seed, False) % slots) * BUCKETS // slots

    return bucketer


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


ALGORITHMS.setdefault(NAME, unleash)
