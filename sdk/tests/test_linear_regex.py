"""Tests for flagstaff.linear_regex: parity with ``re.search`` and ReDoS immunity."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flagstaff import linear_regex
from flagstaff.linear_regex import (
    MAX_PATTERN_LENGTH,
    LinearPattern,
    UnsupportedPattern,
    compile_pattern,
)

PARITY_CASES: list[tuple[str, str]] = [
    # literals and escapes
    ("abc", "xxabcxx"),
    ("abc", "ab"),
    ("", ""),
    ("", "anything"),
    (r"a\.b", "a.b"),
    (r"a\.b", "axb"),
    (r"\t\n", "x\t\ny"),
    (r"\x41\u00e9", "Aé"),
    ("café", "un café"),
    # dot
    ("a.c", "abc"),
    ("a.c", "a\nc"),
    ("(?s)a.c", "a\nc"),
    ("(?s:a.)c", "a\nc"),
    # character classes
    ("[abc]", "xxb"),
    ("[abc]", "xyz"),
    ("[a-f0-9]+$", "deadbeef"),
    ("[a-f0-9]+$", "deadbeefg"),
    ("[^abc]", "abc"),
    ("[^abc]", "abcd"),
    ("[^a]", "a"),
    ("[]a]", "]"),
    ("[a-]", "-"),
    (r"[\d.]+", "1.5"),
    (r"[^\W\d]", "123_"),
    (r"[^\W\d]", "123"),
    # categories
    (r"\d", "abc5"),
    (r"\d", "abc"),
    (r"\d", "٣"),
    (r"\D", "123"),
    (r"\w+", "héllo"),
    (r"\W", "abc_1"),
    (r"\s", "a b"),
    (r"\s", "a\u00a0b"),
    (r"\S", "   "),
    # alternation and groups
    ("cat|dog", "hotdog"),
    ("cat|dog", "bird"),
    ("a(b|c)d", "acd"),
    ("a(?:b|cd|)e", "ae"),
    ("(?P<name>ab)+c", "ababc"),
    ("(?:x|y|z)(?:1|22|333)$", "y333"),
    ("(?:x|y|z)(?:1|22|333)$", "y3333x"),
    # quantifiers, greedy and lazy
    ("ab*c", "ac"),
    ("ab+c", "ac"),
    ("ab?c", "abbc"),
    ("ab*?c", "abbbc"),
    ("ab+?c", "abc"),
    ("ab??c", "ac"),
    ("a{3}", "aa"),
    ("a{3}", "aaa"),
    ("^a{2,3}$", "aaaa"),
    ("^a{2,}$", "aaaaaa"),
    ("^a{,2}$", "aaa"),
    ("^(?:ab){1,2}?$", "abab"),
    ("^(?:a|b){0}c", "c"),
    ("(?:)*x", "x"),
    ("(a*)*b", "aab"),
    ("(a?){3}a{3}", "aaa"),
    # anchors
    ("^abc", "abcd"),
    ("^abc", "xabc"),
    ("abc$", "xabc"),
    ("abc$", "abc\n"),
    ("abc$", "abc\n\n"),
    (r"abc\Z", "abc\n"),
    (r"\Aabc", "abc"),
    (r"\Aabc", "\nabc"),
    ("(?m)^abc", "x\nabc"),
    ("(?m)abc$", "abc\nx"),
    ("^$", ""),
    ("^$", "\n"),
    ("(?m)^$", "a\n\nb"),
    ("$", "x"),
    (r"\bcat\b", "a cat!"),
    (r"\bcat\b", "concatenate"),
    (r"\Bcat\B", "concatenate"),
    (r"\b", ""),
    (r"\B", ""),
    (r"\B", "a"),
    (r"\bé", "café é"),
    (r"(?a)\bé", "é"),
    (r"(?a)\w", "é"),
    (r"(?a)\d", "٣"),
    # ignore case, inline and scoped
    ("(?i)hello", "HeLLo world"),
    ("(?i)[a-c]+$", "ABC"),
    ("(?i)[^a]", "A"),
    ("(?i:ab)C", "ABC"),
    ("(?i:ab)C", "ABc"),
    ("(?i)k", "\u212a"),
    ("(?i)s", "\u017f"),
    ("(?i)ß", "SS"),
    ("(?i)\u03c3", "\u03c2"),
    ("(?ia)k", "\u212a"),
    ("(?i)x(?-i:y)", "XY"),
    ("(?i)x(?-i:y)", "Xy"),
    # verbose syntax is the parser's business
    ("(?x) a b  # comment\n c", "abc"),
    # a realistic email rule
    (r"^[\w.+-]+@(?:[a-z0-9-]+\.)+(?:com|org)$", "jane.doe+flags@mail.example.com"),
    (r"^[\w.+-]+@(?:[a-z0-9-]+\.)+(?:com|org)$", "jane.doe@example.net"),
]


@pytest.mark.parametrize(("pattern", "text"), PARITY_CASES)
def test_matches_re_search(pattern: str, text: str) -> None:
    expected = re.search(pattern, text) is not None
    assert compile_pattern(pattern).search(text) is expected


@pytest.mark.parametrize(
    ("pattern", "text"),
    [("hello", "HELLO"), ("[a-z]+", "ABC"), ("k", "\u212a"), ("é", "É"), ("x", "y")],
)
def test_ignore_case_argument(pattern: str, text: str) -> None:
    expected = re.search(pattern, text, re.IGNORECASE) is not None
    assert compile_pattern(pattern, ignore_case=True).search(text) is expected


def test_pattern_is_reusable_and_reports_itself() -> None:
    compiled = compile_pattern("b+c", ignore_case=True)
    assert isinstance(compiled, LinearPattern)
    outcomes = [compiled.search(text) for text in ("abbc", "ac", "BC", "abbc")]
    assert outcomes == [True, False, True, True]
    assert "b+c" in repr(compiled)


_ATOMS = st.sampled_from([*"abA.^$", "[ab]", "[^a]", "[a-c]", *(rf"\{c}" for c in "wWsdbBAZ"), "(?:)"])
_QUANTIFIERS = st.sampled_from(["*", "+", "?", "*?", "+?", "??", "{2}", "{0,2}", "{1,3}?", "{2,}"])


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map("".join),
        st.tuples(children, children).map("|".join),
        children.map(lambda inner: f"({inner})"),
        st.tuples(children, _QUANTIFIERS).map(lambda pq: f"(?:{pq[0]}){pq[1]}"),
    )


_PATTERNS = st.recursive(_ATOMS, _extend, max_leaves=8)
_FLAGS = st.sampled_from(["", "(?i)", "(?m)", "(?s)", "(?a)", "(?ims)"])


@settings(max_examples=600, deadline=None)
@given(flags=_FLAGS, body=_PATTERNS, text=st.text(alphabet="abAc _1\né\u212a", max_size=12))
@example(flags="", body="(?:a|ab)(?:c|bcd)(?:d*)$", text="abcd")
@example(flags="(?m)", body="^(?:b)+$", text="a\nbb\n")
def test_generated_patterns_agree_with_re(flags: str, body: str, text: str) -> None:
    pattern = flags + body
    try:
        reference = re.compile(pattern)
    except re.error:
        with pytest.raises(UnsupportedPattern, match="invalid pattern"):
            compile_pattern(pattern)
        return
    assert compile_pattern(pattern).search(text) is (reference.search(text) is not None)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("(a+)+$", "a" * 50_000 + "b", False),
        ("(a+)+$", "a" * 50_000, True),
        ("(a|aa)*c", "a" * 50_000, False),
        ("(a|aa)*b", "a" * 50_000 + "b", True),
        ("(x+x+)+y", "x" * 50_000, False),
        (r"^(\w+\s?)*$", "word " * 10_000 + "!", False),
        ("(.*a){20}", "a" * 19 + "b" * 50_000, False),
        ("(?:" * 150 + "a" + ")+" * 150 + "$", "a" * 50_000 + "b", False),
        ("(?:" * 150 + "a" + ")*" * 150 + "b", "a" * 50_000, False),
    ],
)
def test_hostile_patterns_finish(pattern: str, text: str, expected: bool) -> None:
    # The re module would effectively hang on these; completing at all is the test.
    assert compile_pattern(pattern).search(text) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(a)\1", "backreferences are not supported"),
        (r"(?P<x>a)(?P=x)", "backreferences are not supported"),
        ("a(?=b)", "lookahead assertions are not supported"),
        ("a(?!b)", "negative lookahead assertions are not supported"),
        ("(?<=a)b", "lookbehind assertions are not supported"),
        ("(?<!a)b", "negative lookbehind assertions are not supported"),
        ("(a)?(?(1)b|c)", "conditional groups"),
        ("a*+", "possessive quantifiers are not supported"),
        ("(?>ab)", "atomic groups"),
        ("a{1001}", "repetition count 1001 exceeds the limit of 1000"),
        ("a{2,5000}", "repetition count 5000 exceeds"),
        ("(?:a{100}){100}", "counted repetitions expand it beyond"),
        ("a" * (MAX_PATTERN_LENGTH + 1), "longer than the limit of 1000 characters"),
        ("(ab", "invalid pattern: missing )"),
        ("a**", "invalid pattern: multiple repeat"),
        ("[z-a]", "invalid pattern: bad character range"),
    ],
)
def test_unsupported_constructs_are_rejected(pattern: str, message: str) -> None:
    with pytest.raises(UnsupportedPattern, match=re.escape(message)):
        compile_pattern(pattern)


def test_unsupported_pattern_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="backreferences"):
        compile_pattern(r"(a)\1")


def test_patterns_at_the_limits_are_accepted() -> None:
    assert compile_pattern("a" * MAX_PATTERN_LENGTH).search("a" * MAX_PATTERN_LENGTH)
    assert compile_pattern("^a{1000}$").search("a" * 1000)
    assert not compile_pattern("^a{1000}$").search("a" * 999)


def test_deep_nesting_is_rejected_or_handled() -> None:
    # Python's parser recurses per group, so whether this depth fits the stack
    # depends on the caller; either outcome is fine, a RecursionError is not.
    pattern = "(" * 499 + "a" + ")" * 499
    try:
        compiled = compile_pattern(pattern)
    except UnsupportedPattern as exc:
        assert "nests groups too deeply" in str(exc)
    else:
        assert compiled.search("xa")


def test_results_survive_cache_clearing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A tiny budget forces the tables to be dropped mid-search, over and over.
    monkeypatch.setattr(linear_regex, "_CACHE_BUDGET", 4)
    for pattern, text in PARITY_CASES:
        expected = re.search(pattern, text) is not None
        assert compile_pattern(pattern).search(text) is expected, (pattern, text)


# -- what the engine reads of re._parser, CPython's private parser ------
# If a Python release reshapes any of this, these tests name the change; the parity tests above would fail
# too, but less clearly. Every opcode the builder dispatches on appears here with the argument it reads.
PARSER = importlib.import_module("re._parser")


def _shape(value: Any) -> Any:
    """A parse tree as plain tuples: opcodes (and MAXREPEAT, the at-codes, the categories) by name."""
    name = getattr(value, "name", None)
    if name is not None:
        return name
    if isinstance(value, list | tuple) or type(value).__name__ == "SubPattern":
        return tuple(_shape(item) for item in value)
    return value


@pytest.mark.parametrize(
    ("pattern", "shape"),
    [
        ("a", (("LITERAL", 97),)),
        ("[^a]", (("NOT_LITERAL", 97),)),
        (".", (("ANY", None),)),
        (r"[^a-c\d]", (("IN", (("NEGATE", None), ("RANGE", (97, 99)), ("CATEGORY", "CATEGORY_DIGIT"))),)),
        ("ab|c", (("BRANCH", (None, ((("LITERAL", 97), ("LITERAL", 98)), (("LITERAL", 99),)))),)),
        ("(a)", (("SUBPATTERN", (1, 0, 0, (("LITERAL", 97),))),)),
        ("(?i:a)", (("SUBPATTERN", (None, re.IGNORECASE, 0, (("LITERAL", 97),))),)),
        ("a{2,5}", (("MAX_REPEAT", (2, 5, (("LITERAL", 97),))),)),
        ("a*?", (("MIN_REPEAT", (0, "MAXREPEAT", (("LITERAL", 97),))),)),
        (r"^\A$\Z\b\B", tuple(("AT", f"AT_{at}") for at in
         ("BEGINNING", "BEGINNING_STRING", "END", "END_STRING", "BOUNDARY", "NON_BOUNDARY"))),
        ("(?=a)", (("ASSERT", (1, (("LITERAL", 97),))),)),
        ("(?<!a)", (("ASSERT_NOT", (-1, (("LITERAL", 97),))),)),
    ],
)  # fmt: skip
def test_the_parser_gives_the_tree_shapes_the_engine_reads(pattern: str, shape: object) -> None:
    assert _shape(PARSER.parse(pattern, 0)) == shape


@pytest.mark.parametrize(
    ("pattern", "opcode"),
    [(r"(a)\1", "GROUPREF"), ("(a)(?(1)b|c)", "GROUPREF_EXISTS"), ("a*+", "POSSESSIVE_REPEAT"),
     ("(?>a)", "ATOMIC_GROUP")],
)  # fmt: skip
def test_the_parser_names_the_constructs_the_engine_refuses(pattern: str, opcode: str) -> None:
    assert opcode in [name for name, _ in _shape(PARSER.parse(pattern, 0))]


def test_the_parser_reports_flags_and_the_unbounded_repeat() -> None:
    assert PARSER.parse("(?im)a", 0).state.flags & (re.IGNORECASE | re.MULTILINE) == re.I | re.M
    assert PARSER.parse("a", re.IGNORECASE).state.flags & re.IGNORECASE
    assert isinstance(PARSER.MAXREPEAT, int) and PARSER.MAXREPEAT > MAX_PATTERN_LENGTH
