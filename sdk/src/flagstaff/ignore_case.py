"""The case-insensitive comparison of the string operators, the same as the regex engine's behind ``matches``.

Characters compare one for one, exactly as Python's ``re.IGNORECASE`` compares them: two characters are equal
when their one-character lowercase forms are equal, or are lowercase letters with the same uppercase
(dotless i and i, long s and s, final and medial sigma). Never ``str.casefold``: it turns one character into
several (``ß`` into ``ss``), which no regular expression does, so ``contains`` and ``matches`` would disagree.
"""

from __future__ import annotations

from typing import Final

# U+0130 (I with a dot) is the one character whose str.lower() is two characters ("i" and a combining dot);
# its one-character lowercase, the one re.IGNORECASE uses, is "i".
_ONE_FOR_ONE: Final = {0x0130: 0x0069}

# Lowercase letters that share an uppercase with another lowercase letter, grouped; each group maps to its
# first (smallest) member. The same table as CPython's re._casefix, which re.IGNORECASE reads; a test checks
# every cased code point against re, so a new Unicode version that adds a group is caught.
_SHARED_UPPERCASE_GROUPS: Final = (
    (0x0069, 0x0131),  # i, dotless i
    (0x0073, 0x017F),  # s, long s
    (0x00B5, 0x03BC),  # micro sign, mu
    (0x0345, 0x03B9, 0x1FBE),  # ypogegrammeni, iota, prosgegrammeni
    (0x0390, 0x1FD3),  # iota with dialytika and tonos / oxia
    (0x03B0, 0x1FE3),  # upsilon with dialytika and tonos / oxia
    (0x03B2, 0x03D0),  # beta, beta symbol
    (0x03B5, 0x03F5),  # epsilon, lunate epsilon
    (0x03B8, 0x03D1),  # theta, theta symbol
    (0x03BA, 0x03F0),  # kappa, kappa symbol
    (0x03C0, 0x03D6),  # pi, pi symbol
    (0x03C1, 0x03F1),  # rho, rho symbol
    (0x03C2, 0x03C3),  # final sigma, sigma
    (0x03C6, 0x03D5),  # phi, phi symbol
    (0x0432, 0x1C80),  # Cyrillic ve, rounded ve
    (0x0434, 0x1C81),  # de, long-legged de
    (0x043E, 0x1C82),  # o, narrow o
    (0x0441, 0x1C83),  # es, wide es
    (0x0442, 0x1C84, 0x1C85),  # te, tall te, three-legged te
    (0x044A, 0x1C86),  # hard sign, tall hard sign
    (0x0463, 0x1C87),  # yat, tall yat
    (0x1C88, 0xA64B),  # unblended uk, monograph uk
    (0x1E61, 0x1E9B),  # s with dot above, long s with dot above
    (0xFB05, 0xFB06),  # ligatures long s t, s t
)
_SHARED_UPPERCASE: Final = {other: group[0] for group in _SHARED_UPPERCASE_GROUPS for other in group[1:]}


def fold(text: str) -> str:
    """``text`` with every character replaced by one representative of its case: same length, same positions.

    Two strings are equal ignoring case exactly when their folds are equal; a substring test on folds is a
    case-insensitive substring test.
    """
    if text.isascii():
        return text.lower()
    # lower() may give a final sigma where re would not care which sigma; the last table merges both.
    return text.translate(_ONE_FOR_ONE).lower().translate(_SHARED_UPPERCASE)
