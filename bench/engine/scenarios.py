"""The benchmark's flags, segment and contexts, described once, independently of any SDK.

Each adapter in `engine.sdks` translates these shapes into its SDK's own document format; nothing here knows
about an SDK, so every SDK is asked the same questions about the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN_FLAG_KEY = "s4-does-not-exist"
SEGMENT_KEY = "beta-testers"
ROTATING_KEYS = 10_000
SEGMENT_SIZE = 1_000
COUNTRIES = ("NL", "BE", "DE", "FR", "ES", "IT", "PT", "AT", "DK", "SE")
EMAIL_SUFFIX = "@corp.example"
ENTERPRISE_PLAN = "enterprise"
MIN_APP_VERSION = "2.3.0"


@dataclass(frozen=True, slots=True)
class Person:
    """One evaluation context: a key plus the attributes S3's rules look at."""

    key: str
    country: str = "US"
    email: str = ""
    plan: str = "free"
    app_version: str = "2.1.0"

    def attributes(self) -> dict[str, str]:
        return {
            "country": self.country,
            "email": self.email,
            "plan": self.plan,
            "app_version": self.app_version,
        }


@dataclass(frozen=True, slots=True)
class OnFlag:
    """S1: a boolean flag that is on for everyone, without any targeting."""

    key: str


@dataclass(frozen=True, slots=True)
class PercentFlag:
    """S2: a boolean flag serving `true` to `percent` of the contexts, bucketed by key."""

    key: str
    percent: int


@dataclass(frozen=True, slots=True)
class TargetedFlag:
    """S3: five rules serving `true`, tried in order, then a rollout of `fallthrough_percent` to `true`.

    The rules: country in `COUNTRIES`; email ends with `EMAIL_SUFFIX`; plan equals `ENTERPRISE_PLAN`;
    app_version >= `MIN_APP_VERSION` (semantic versioning); the context key is in the segment `SEGMENT_KEY`.
    """

    key: str
    fallthrough_percent: int = 25


@dataclass(frozen=True, slots=True)
class SplitFlag:
    """S5: a string flag splitting contexts over `variants`, given as (value, percent) pairs."""

    key: str
    variants: tuple[tuple[str, int], ...]


Flag = OnFlag | PercentFlag | TargetedFlag | SplitFlag


@dataclass(frozen=True, slots=True)
class FlagSet:
    """Everything one SDK instance loads: flags plus the one segment that targeted flags share."""

    flags: tuple[Flag, ...]
    segment_members: tuple[str, ...]


S1 = OnFlag("s1-boolean-on")
S2 = PercentFlag("s2-rollout-10", percent=10)
S3 = TargetedFlag("s3-five-rules")
S5 = SplitFlag("s5-three-variants", variants=(("red", 50), ("green", 30), ("blue", 20)))


def segment_members() -> tuple[str, ...]:
    """Every tenth rotating user, so the segment's 1,000 keys are spread over the rotating key space."""
    return tuple(f"user-{i}" for i in range(0, ROTATING_KEYS, ROTATING_KEYS // SEGMENT_SIZE))


def scenario_flags() -> FlagSet:
    return FlagSet(flags=(S1, S2, S3, S5), segment_members=segment_members())


def targeted_flags(count: int) -> FlagSet:
    """`count` S3-shaped flags sharing one segment: the data set of the init-time and memory measurement."""
    return FlagSet(
        flags=tuple(TargetedFlag(f"s3-shaped-{i:05d}") for i in range(count)),
        segment_members=segment_members(),
    )


def rotating_people() -> list[Person]:
    """10,000 users that match none of S3's first four rules (a tenth of them are in the segment)."""
    return [Person(key=f"user-{i}", email=f"user-{i}@example.com") for i in range(ROTATING_KEYS)]


def segment_people() -> list[Person]:
    """The segment's members: S3's rules 1-4 do not match them, rule 5 does."""
    return [Person(key=key, email=f"{key}@example.com") for key in segment_members()]


def outsiders(count: int = 4_000) -> list[Person]:
    """Contexts that match no S3 rule, so only the fallthrough rollout decides."""
    return [Person(key=f"guest-{i}", email=f"guest-{i}@example.com") for i in range(count)]


def rule_probes(per_rule: int = 200) -> dict[str, list[Person]]:
    """For each of S3's rules 1-4, contexts outside the segment that match only that rule.

    The version rule is probed at its boundary (2.3.0 itself) and with a minor version that sorts wrongly as a
    string (2.10.0), so an SDK that compares versions loosely is caught.
    """
    return {
        "country in": [Person(key=f"probe1-{i}", country=COUNTRIES[i % 10]) for i in range(per_rule)],
        "email ends_with": [Person(key=f"probe2-{i}", email=f"p{i}{EMAIL_SUFFIX}") for i in range(per_rule)],
        "plan equals": [Person(key=f"probe3-{i}", plan=ENTERPRISE_PLAN) for i in range(per_rule)],
        "app_version semver_gte": [
            Person(key=f"probe4-{i}", app_version=("2.3.0", "2.10.0")[i % 2]) for i in range(per_rule)
        ],
    }
