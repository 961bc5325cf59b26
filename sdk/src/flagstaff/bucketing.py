"""Consistent hashing of a context into a rollout bucket (the published contract in docs/bucketing.md).

Pure functions only: changing any result here moves real users between variations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import mmh3

from flagstaff.json_values import valid_text

BUCKETS = 100_000
"""Buckets per rollout: weights are thousandths of a percent, so 100% == 100_000."""

MISSING_VALUE_BUCKET = BUCKETS - 1
"""Where a context without the bucketing attribute lands: the last bucket, i.e. outside every partial rollout.

It gets the rollout's last variation with a non-zero weight (a 100% rollout still serves everyone), never a
random
one, so an anonymous request cannot flip between variations.
"""

DEFAULT_ALGORITHM = "mmh3-v1"

Bucketer = Callable[[str], int]
"""value -> bucket in [0, BUCKETS), for one salt."""

BucketerFactory = Callable[[str, "int | None", "int | None"], Bucketer]
"""(salt, seed, modulus) -> Bucketer: built once per rollout, so per-call work is only the hash.

``seed`` and ``modulus`` are the rollout's optional parameters; an algorithm that has none ignores them.
"""


def mmh3_v1(salt: str, seed: int | None = None, modulus: int | None = None) -> Bucketer:
    """``mmh3-v1``: ``(murmur3_32("{salt}:{value}", seed=0) * 100_000) >> 32``; ignores seed and modulus."""
    prefix = f"{salt}:"
    hash32 = mmh3.hash

    def bucketer(value: str) -> int:
        return (hash32(prefix + value, 0, False) * BUCKETS) >> 32

    return bucketer


UNLEASH_ALGORITHM = "unleash"
UNLEASH_STRATEGY_SEED = 0
UNLEASH_STRATEGY_MODULUS = 100


def unleash(salt: str, seed: int | None = None, modulus: int | None = None) -> Bucketer:
    """``unleash``: ``murmur3_32("{salt}:{value}", seed) % modulus``, spread evenly over the 100000 buckets.

    Unleash's normalisation, so rollouts imported from Unleash keep their users (docs/bucketing.md). Unleash
    enables a strategy when ``hash % 100 + 1 <= percentage`` (seed 0, modulus 100: the defaults) and picks a
    variant by ``hash % total_weight + 1`` (seed 86028157, modulus = the variants' total weight). Slot ``s``
    of ``modulus`` becomes bucket ``s * 100000 // modulus``.
    """
    prefix = f"{salt}:"
    hash_seed = UNLEASH_STRATEGY_SEED if seed is None else seed
    slots = UNLEASH_STRATEGY_MODULUS if modulus is None else modulus
    hash32 = mmh3.hash

    def bucketer(value: str) -> int:
        return (hash32(prefix + value, hash_seed, False) % slots) * BUCKETS // slots

    return bucketer


def bucket(salt: str, value: str) -> int:
    """The ``mmh3-v1`` bucket of ``value`` under ``salt``: an integer in ``[0, 100_000)``.

    Raises ``ValueError`` for text that is not valid Unicode (see ``hashable``)."""
    if not (hashable(salt) and hashable(value)):
        raise ValueError("salt and value must be valid Unicode (no lone surrogates)")
    return mmh3_v1(salt)(value)


def hashable(text: str) -> bool:
    """Whether ``text`` is valid Unicode. JSON can carry a lone surrogate (``"\\ud800"``), which has no UTF-8
    form, and mmh3 crashes the whole process on it instead of raising: such text is never hashed."""
    return valid_text(text)


ALGORITHMS: Mapping[str, BucketerFactory] = MappingProxyType(
    {DEFAULT_ALGORITHM: mmh3_v1, UNLEASH_ALGORITHM: unleash}
)
"""Every algorithm a rollout may name, fixed here: evaluating a flag never depends on what else was imported.
Existing entries never change; new behaviour gets a new name."""


def bucket_value(value: object) -> str | None:
    """The string a context attribute is hashed as, or ``None`` if it cannot be bucketed."""
    if isinstance(value, str):
        return value if hashable(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None
