"""``fold`` agrees with ``re.IGNORECASE`` on every code point: the string operators agree with ``matches``."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import defaultdict

from flagstaff.ignore_case import fold

EVERY_CHARACTER = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) != "Cs"]
# Every character with a case, and every one fold or re might relate to another.
CASED = [c for c in EVERY_CHARACTER if c.lower() != c or c.upper() != c or c.casefold() != c or fold(c) != c]


def test_fold_keeps_every_character_one_character() -> None:
    assert all(len(fold(c)) == 1 for c in EVERY_CHARACTER)
    # Both sigmas fold to the final one, the group's smallest code point.
    assert fold("\u0130STANBUL \u039f\u0394\u039f\u03a3 Stra\u00dfe") == (
        "istanbul \u03bf\u03b4\u03bf\u03c2 stra\u00dfe"
    )


def test_fold_relates_exactly_the_characters_that_re_ignorecase_relates() -> None:
    haystack = "".join(CASED)
    same_fold: dict[str, set[str]] = defaultdict(set)
    for c in CASED:
        same_fold[fold(c)].add(c)
    for c in CASED:
        by_re = set(re.findall(re.escape(c), haystack, re.IGNORECASE))
        assert by_re == same_fold[fold(c)], (c, sorted(by_re ^ same_fold[fold(c)]))


def test_a_character_without_case_folds_to_itself() -> None:
    cased = set(CASED)
    assert all(fold(c) == c for c in EVERY_CHARACTER if c not in cased)


def test_fold_of_a_string_is_the_fold_of_each_character() -> None:
    # str.lower() looks at neighbours for a final sigma; fold must not, or a substring would fold differently.
    for text in ("ΑΣ", "ΣΑ", "Σ.", "ΑΣΑ", "İi", "ßẞ"):
        assert fold(text) == "".join(fold(c) for c in text)
