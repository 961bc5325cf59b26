"""Linear-time regular expressions for the ``matches`` clause operator.

Owns parsing (with Python's own regex parser) and NFA simulation; it must never backtrack, so a search costs
O(len(pattern) * len(text)) whatever the input.

The parser is ``re._parser``, the one ``re.compile`` uses: private, but it makes the syntax, flags and errors
exactly Python's, with no second parser to drift from ``re``. Read of it: ``parse``, ``MAXREPEAT``,
``state.flags`` and the tree of ``(opcode, argument)`` pairs, by ``opcode.name``. A Python release that
changes these shows it at once, not as wrong matches: a missing name fails ``import flagstaff`` naming
``re._parser``, an unknown opcode is refused as ``UnsupportedPattern``, and ``tests/test_linear_regex.py``
pins every shape read here. See "Regular expressions" in docs/flag-format.md.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

__all__ = ["MAX_PATTERN_LENGTH", "MAX_REPEAT_COUNT", "LinearPattern", "UnsupportedPattern", "compile_pattern"]

MAX_PATTERN_LENGTH: Final = 1000
MAX_REPEAT_COUNT: Final = 1000
# Search cost grows with the automaton size, so counted repeats such as
# (a{100}){100} must not be allowed to expand into a huge machine.
MAX_STATES: Final = 3000
# Caches are per pattern and cleared when they reach this many stored state
# ids: adversarial text can then cost speed, never unbounded memory.
_CACHE_BUDGET: Final = 1 << 18


# Private, so no type stubs describe it: imported by name (see the module docstring for why it is used).
_PARSER: Final = importlib.import_module("re._parser")
_MAXREPEAT: Final = int(_PARSER.MAXREPEAT)

# Facts about a text position; an assertion state passes iff its bit is set.
_BOS: Final = 1  # \A, and ^ without MULTILINE
_BOL: Final = 2  # ^ with MULTILINE
_EOS: Final = 4  # \Z
_EOS_NL: Final = 8  # $ without MULTILINE: the end, or before a final newline
_EOL: Final = 16  # $ with MULTILINE
_WORD_U: Final = 32  # \b, Unicode word characters
_NOT_WORD_U: Final = 64  # \B, Unicode
_WORD_A: Final = 128  # \b under the ASCII flag
_NOT_WORD_A: Final = 256  # \B under the ASCII flag
_BOUNDARY_U: Final = _WORD_U | _NOT_WORD_U
_BOUNDARY_A: Final = _WORD_A | _NOT_WORD_A

_CHAR: Final = 0
_SPLIT: Final = 1
_ASSERT: Final = 2
_MATCH: Final = 3

# Python's sre refuses both \b and \B on an empty string (up to 3.13), so
# mirror whatever the running interpreter does instead of hard-coding it.
_BOUNDARY_ON_EMPTY: Final = re.search(r"\B", "") is not None

_CATEGORIES: Final = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}

CharTest = Callable[[str], object]


class UnsupportedPattern(ValueError):
    """The pattern is invalid, or uses a construct that cannot run in linear time."""


def _escape(code: int) -> str:
    # \U escapes survive inside and outside classes regardless of the character.
    return f"\\U{code:08x}"


def _class_source(items: Iterable[Any]) -> str:
    parts: list[str] = []
    for op, av in items:
        match str(op.name):
            case "NEGATE":
                parts.insert(0, "^")
            case "LITERAL":
                parts.append(_escape(av))
            case "RANGE":
                parts.append(f"{_escape(av[0])}-{_escape(av[1])}")
            case "CATEGORY":
                parts.append(_CATEGORIES[str(av.name)])
            case other:
                raise UnsupportedPattern(f"character class item {other} is not supported")
    return "[" + "".join(parts) + "]"


def _any_char(char: str) -> bool:
    return True


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _is_ascii_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _context(text: str, pos: int, needed: int) -> int:
    """Return the assertion bits (restricted to ``needed``) that hold at ``pos``."""
    end = len(text)
    before = text[pos - 1] if pos else ""
    after = text[pos] if pos < end else ""
    ctx = 0
    if pos == 0:
        ctx |= _BOS | _BOL
    elif before == "\n":
        ctx |= _BOL
    if pos == end:
        ctx |= _EOS | _EOS_NL | _EOL
    elif after == "\n":
        ctx |= _EOL | (_EOS_NL if pos == end - 1 else 0)
    if end or _BOUNDARY_ON_EMPTY:
        if needed & _BOUNDARY_U:
            ctx |= _WORD_U if _is_word(before) != _is_word(after) else _NOT_WORD_U
        if needed & _BOUNDARY_A:
            ascii_edge = _is_ascii_word(before) != _is_ascii_word(after)
            ctx |= _WORD_A if ascii_edge else _NOT_WORD_A
    return ctx & needed


class _Builder:
    """Thompson construction, built back to front so each piece knows its successor."""

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.out1: list[int] = []
        self.out2: list[int] = []
        self.arg: list[int] = []
        self.test: list[CharTest] = []
        self.needed = 0
        self.match = self.add(_MATCH)

    def add(
        self, kind: int, out1: int = -1, out2: int = -1, *, arg: int = 0, test: CharTest = _any_char
    ) -> int:
        if len(self.kind) >= MAX_STATES:
            raise UnsupportedPattern(
                f"pattern is too large: counted repetitions expand it beyond {MAX_STATES} states"
            )
        self.kind.append(kind)
        self.out1.append(out1)
        self.out2.append(out2)
        self.arg.append(arg)
        self.test.append(test)
        return len(self.kind) - 1

    def atom(self, source: str, flags: int) -> CharTest:
        # Single-character matching is delegated to re so case folding and the
        # Unicode categories agree with Python exactly; one character cannot
        # backtrack, so this keeps the linear bound.
        return re.compile(source, flags & (re.IGNORECASE | re.ASCII)).fullmatch

    def sequence(self, items: Iterable[Any], nxt: int, flags: int) -> int:
        for op, av in reversed(list(items)):
            nxt = self.item(str(op.name), av, nxt, flags)
        return nxt

    def item(self, name: str, av: Any, nxt: int, flags: int) -> int:
        match name:
            case "LITERAL" if not flags & re.IGNORECASE:
                return self.add(_CHAR, nxt, test=chr(av).__eq__)
            case "LITERAL":
                return self.add(_CHAR, nxt, test=self.atom(_escape(av), flags))
            case "NOT_LITERAL":
                return self.add(_CHAR, nxt, test=self.atom(f"[^{_escape(av)}]", flags))
            case "ANY":
                test: CharTest = _any_char if flags & re.DOTALL else "\n".__ne__
                return self.add(_CHAR, nxt, test=test)
            case "IN":
                return self.add(_CHAR, nxt, test=self.atom(_class_source(av), flags))
            case "BRANCH":
                starts = [self.sequence(alt, nxt, flags) for alt in av[1]]
                start = starts.pop()
                for alt_start in reversed(starts):
                    start = self.add(_SPLIT, alt_start, start)
                return start
            case "SUBPATTERN":
                _group, add_flags, del_flags, body = av
                return self.sequence(body, nxt, (flags | add_flags) & ~del_flags)
            case "MAX_REPEAT" | "MIN_REPEAT":
                low, high, body = av
                return self.repeat(int(low), int(high), body, nxt, flags)
            case "AT":
                return self.anchor(str(av.name), nxt, flags)
            case "GROUPREF":
                raise UnsupportedPattern("backreferences are not supported")
            case "GROUPREF_EXISTS":
                raise UnsupportedPattern("conditional groups (?(id)yes|no) are not supported")
            case "ASSERT" | "ASSERT_NOT":
                kind = "lookahead" if av[0] > 0 else "lookbehind"
                sign = "" if name == "ASSERT" else "negative "
                raise UnsupportedPattern(f"{sign}{kind} assertions are not supported")
            case "POSSESSIVE_REPEAT":
                raise UnsupportedPattern("possessive quantifiers are not supported")
            case "ATOMIC_GROUP":
                raise UnsupportedPattern("atomic groups (?>...) are not supported")
        raise UnsupportedPattern(f"regex construct {name} is not supported")

    def repeat(self, low: int, high: int, body: Any, nxt: int, flags: int) -> int:
        for count in (low, high):
            if count != _MAXREPEAT and count > MAX_REPEAT_COUNT:
                raise UnsupportedPattern(f"repetition count {count} exceeds the limit of {MAX_REPEAT_COUNT}")
        if high == _MAXREPEAT:
            # One shared copy serves both x* and x+, so nested (x+)+ stays linear in size.
            loop = self.add(_SPLIT, out2=nxt)
            self.out1[loop] = self.sequence(body, loop, flags)
            start = self.out1[loop] if low else loop
            low = max(low - 1, 0)
        else:
            start = nxt
            for _ in range(high - low):
                start = self.add(_SPLIT, self.sequence(body, start, flags), nxt)
        for _ in range(low):
            start = self.sequence(body, start, flags)
        return start

    def anchor(self, name: str, nxt: int, flags: int) -> int:
        multiline = bool(flags & re.MULTILINE)
        ascii_only = bool(flags & re.ASCII)
        bits = {
            "AT_BEGINNING": _BOL if multiline else _BOS,
            "AT_BEGINNING_STRING": _BOS,
            "AT_END": _EOL if multiline else _EOS_NL,
            "AT_END_STRING": _EOS,
            "AT_BOUNDARY": _WORD_A if ascii_only else _WORD_U,
            "AT_NON_BOUNDARY": _NOT_WORD_A if ascii_only else _NOT_WORD_U,
        }
        if name not in bits:
            raise UnsupportedPattern(f"anchor {name} is not supported")
        self.needed |= bits[name]
        return self.add(_ASSERT, nxt, arg=bits[name])


class LinearPattern:
    """A compiled pattern; ``search`` never backtracks.

    Safe to share between threads: the lazily filled tables only ever receive
    complete entries, and a lost race merely recomputes one.
    """

    def __init__(
        self, pattern: str, builder: _Builder, start: int, *, ignore_case: bool, literal: str | None = None
    ) -> None:
        self.pattern = pattern
        self.ignore_case = ignore_case
        self._literal = literal
        self._kind, self._out1, self._out2 = builder.kind, builder.out1, builder.out2
        self._arg, self._test, self._needed = builder.arg, builder.test, builder.needed
        self._start, self._match = start, builder.match
        self._char_states = [state for state, kind in enumerate(builder.kind) if kind == _CHAR]
        # A search that can only begin at offset 0 may stop once no thread lives.
        self._anchored = self._kind[start] == _ASSERT and self._arg[start] == _BOS
        # Lazily built tables, all bounded by _spend. _follow maps a context to
        # the closure after each character state (and after the start, key -1).
        self._follow: dict[int, dict[int, frozenset[int]]] = {}
        self._accepting: dict[str, frozenset[int]] = {}
        self._pairs: dict[str, int] = {}
        self._transitions: dict[tuple[frozenset[int], str, int], frozenset[int]] = {}
        self._cached = 0

    def __repr__(self) -> str:
        return f"LinearPattern({self.pattern!r}, ignore_case={self.ignore_case})"

    def search(self, text: str) -> bool:
        """Return True if the pattern matches anywhere in ``text``, like ``re.search``."""
        if self._literal is not None:
            return self._literal in text
        needed, match, anchored = self._needed, self._match, self._anchored
        ctx = _context(text, 0, needed) if needed else 0
        current = self._start_set(ctx)
        transitions, pairs, inner_end = self._transitions, self._pairs, len(text) - 1
        # Away from the ends a context depends only on the two adjacent characters,
        # and on nothing at all when the pattern only anchors to the string's ends.
        by_pair = needed & ~(_BOS | _EOS | _EOS_NL)
        for pos, char in enumerate(text, 1):
            if match in current:
                return True
            if anchored and not current:
                return False
            if pos >= inner_end:
                ctx = _context(text, pos, needed) if needed else 0
            elif by_pair:
                pair = text[pos - 1 : pos + 1]
                ctx = pairs.get(pair, -1)
                if ctx < 0:
                    ctx = pairs[pair] = _context(text, pos, needed)
                    self._spend(0)
            else:
                ctx = 0
            key = (current, char, ctx)
            following = transitions.get(key)
            if following is None:
                following = self._step(current, char, ctx)
                self._spend(len(following))
                transitions[key] = following
            current = following
        return match in current

    def _step(self, current: frozenset[int], char: str, ctx: int) -> frozenset[int]:
        accepting = self._accepting.get(char)
        if accepting is None:
            test = self._test
            accepting = frozenset(state for state in self._char_states if test[state](char))
            self._spend(len(accepting))
            self._accepting[char] = accepting
        follow = self._follow_for(ctx)
        live = current & accepting
        # The set-at-a-time path stays in C; a miss fills the table and retries.
        try:
            parts = list(map(follow.__getitem__, live))
        except KeyError:
            for state in live:
                if state not in follow:
                    follow[state] = self._closure(self._out1[state], ctx)
            parts = list(map(follow.__getitem__, live))
        if not self._anchored:
            parts.append(self._start_set(ctx))
        return frozenset().union(*parts)

    def _follow_for(self, ctx: int) -> dict[int, frozenset[int]]:
        follow = self._follow.get(ctx)
        if follow is None:
            follow = self._follow[ctx] = {}
        return follow

    def _start_set(self, ctx: int) -> frozenset[int]:
        follow = self._follow_for(ctx)
        found = follow.get(-1)
        if found is None:
            found = follow[-1] = self._closure(self._start, ctx)
        return found

    def _closure(self, state: int, ctx: int) -> frozenset[int]:
        """States reachable from ``state`` without consuming input, given ``ctx``."""
        kind, out1, out2, arg = self._kind, self._out1, self._out2, self._arg
        seen: set[int] = set()
        result: list[int] = []
        stack = [state]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if kind[current] == _SPLIT:
                stack.append(out2[current])
                stack.append(out1[current])
            elif kind[current] == _ASSERT:
                if ctx & arg[current]:
                    stack.append(out1[current])
            else:
                result.append(current)
        self._spend(len(result))
        return frozenset(result)

    def _spend(self, size: int) -> None:
        self._cached += size + 1
        if self._cached > _CACHE_BUDGET:
            self._follow.clear()
            self._accepting.clear()
            self._pairs.clear()
            self._transitions.clear()
            self._cached = 0


def compile_pattern(pattern: str, *, ignore_case: bool = False) -> LinearPattern:
    """Compile ``pattern`` (Python syntax) or raise ``UnsupportedPattern``."""
    if not isinstance(pattern, str):
        raise UnsupportedPattern("pattern must be a string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise UnsupportedPattern(f"pattern is longer than the limit of {MAX_PATTERN_LENGTH} characters")
    try:
        parsed = _PARSER.parse(pattern, re.IGNORECASE if ignore_case else 0)
        flags = int(parsed.state.flags)
        items = list(parsed)
        builder = _Builder()
        if not flags & re.IGNORECASE and all(str(op.name) == "LITERAL" for op, _ in items):
            literal = "".join(chr(av) for _, av in items)
            return LinearPattern(pattern, builder, builder.match, ignore_case=ignore_case, literal=literal)
        start = builder.sequence(items, builder.match, flags)
    except re.error as exc:
        raise UnsupportedPattern(f"invalid pattern: {exc}") from exc
    except RecursionError as exc:
        raise UnsupportedPattern("pattern nests groups too deeply") from exc
    except OverflowError as exc:
        raise UnsupportedPattern(f"repetition count is too large: {exc}") from exc
    return LinearPattern(pattern, builder, start, ignore_case=ignore_case)
