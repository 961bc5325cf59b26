"""How a rollout guard behaves as the rollout runner applies it: a seeded simulation, offline, of traffic
going through a stepped rollout while the guard judges the cumulative counts every second.

    .venv/bin/python bench/release_bench.py      # or: make bench-release

Prints markdown tables, recorded in bench/README.md and docs/releases.md: how often a healthy treatment
is rolled back (false rollbacks), how long a bad one (3x, 2x the control's error rate) takes to be rolled
back, how often one near the guard's ratio (1.4x, 1.5x) is, and how often one look at the edge of the null
trips against the nominal rate. A reading, not a test: nothing fails.

The model. N requests per second reach the flag; the rollout serves the treatment to a share of them that
follows the steps (1, 5, 10, 25, 50, 100 % by default), each held for the dwell. Each request fails with the
base rate p (the control), or p times the multiplier (the treatment, once it has turned bad). The SDKs report
their counts once per flush interval, so a check at second T sees the requests made up to T - flush; the
runner checks every second and calls `app.services.guards.judge` on the cumulative counts since the start, as
the runner does. The first check that trips is the rollback. Request counts follow the traffic exactly (the
fractions carried over); failures are drawn exactly, as geometric gaps between failing requests.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.services.guards import GuardPolicy, Sample, judge

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import commit, machine


@dataclass(frozen=True, slots=True)
class Rollout:
    traffic: float
    """Requests per second on the flag, both sides together."""
    steps: tuple[float, ...] = (0.01, 0.05, 0.10, 0.25, 0.50, 1.0)
    dwell_seconds: int = 300
    base_rate: float = 0.01
    flush_seconds: int = 5
    check_seconds: int = 1
    multiplier: float = 1.0
    """The treatment's error rate over the control's once it has turned bad; 1.0 is a healthy treatment."""
    bad_from_seconds: int = 0

    @property
    def seconds(self) -> int:
        return self.dwell_seconds * len(self.steps)


class FailingRequests:
    """Which of one side's requests fail: the gap to the next failing request is geometric, so that the
    failures among n requests are drawn in time proportional to the failures, not to n."""

    def __init__(self, rate: float, rng: random.Random) -> None:
        self.rng = rng
        self.failures = 0
        self.rate = rate
        self.next_failure = self._gap()

    def set_rate(self, rate: float, requests_so_far: int) -> None:
        # The geometric gap forgets the past, so drawing afresh from here is exact.
        self.rate = rate
        self.next_failure = requests_so_far + self._gap()

    def count_up_to(self, requests: int) -> int:
        while self.next_failure <= requests:
            self.failures += 1
            self.next_failure += self._gap()
        return self.failures

    def _gap(self) -> int:
        if self.rate <= 0:
            return 1 << 62
        if self.rate >= 1:
            return 1
        return int(math.log(1.0 - self.rng.random()) / math.log1p(-self.rate)) + 1


def time_to_rollback(rollout: Rollout, policy: GuardPolicy, seed: int) -> float | None:
    """Seconds from the treatment turning bad (or, when healthy, from the start) to the check that trips;
    None when the rollout completes without one."""
    rng = random.Random(seed)
    rates = (
        rollout.base_rate * (rollout.multiplier if rollout.bad_from_seconds == 0 else 1.0),
        rollout.base_rate,
    )
    treatment = FailingRequests(rates[0], rng)
    control = FailingRequests(rates[1], rng)
    # Expected requests so far, per side; the counts are their integer parts.
    expected_t = expected_c = 0.0
    history: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)]
    last_judged = None
    ratio = policy.ratio
    for second in range(rollout.seconds + rollout.flush_seconds):
        if second < rollout.seconds:
            if second == rollout.bad_from_seconds > 0:
                treatment.set_rate(rollout.base_rate * rollout.multiplier, int(expected_t))
            share = rollout.steps[second // rollout.dwell_seconds]
            expected_t += rollout.traffic * share
            expected_c += rollout.traffic * (1.0 - share)
            n_t, n_c = int(expected_t), int(expected_c)
            history.append((treatment.count_up_to(n_t), n_t, control.count_up_to(n_c), n_c))
        check = second + 1
        if check % rollout.check_seconds or check < rollout.flush_seconds:
            continue
        seen = history[min(check - rollout.flush_seconds, len(history) - 1)]
        if seen == last_judged:
            continue  # the same counts give the same verdict
        last_judged = seen
        x_t, n_t, x_c, n_c = seen
        # A treatment no worse than `ratio` times the control as observed has z <= 0, below every threshold
        # (confidence >= 0.5): skipping judge there changes no decision and saves most of the calls.
        if n_t == 0 or n_c == 0 or x_t * n_c <= ratio * x_c * n_t:
            continue
        if judge(policy, Sample(x_t, n_t), Sample(x_c, n_c)).tripped:
            return float(check - rollout.bad_from_seconds)
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    runs: int
    times: list[float]
    """Seconds to rollback of the runs rolled back."""

    @property
    def share(self) -> float:
        return len(self.times) / self.runs

    def quantile(self, q: float) -> float | None:
        """The q-quantile over all runs, a run never rolled back counting as never: None past those."""
        ordered = sorted(self.times)
        rank = math.ceil(q * self.runs)
        return ordered[rank - 1] if 0 < rank <= len(ordered) else None


def simulate(rollout: Rollout, policy: GuardPolicy, runs: int, seed: int) -> Outcome:
    # Each run's seed depends on its scenario's figures, so that adding a scenario changes no other.
    base = random.Random(repr((seed, rollout, policy))).getrandbits(32)
    times = [time_to_rollback(rollout, policy, base * 1_000_003 + run) for run in range(runs)]
    return Outcome(runs, [found for found in times if found is not None])


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def interval(successes: int, runs: int) -> str:
    """A 95 % Wilson interval, so that a rate of 0 out of 1,000 reads as what it is: below about 0.4 %."""
    z = 1.96
    centre = (successes + z * z / 2) / (runs + z * z)
    half = z * math.sqrt(successes * (runs - successes) / runs + z * z / 4) / (runs + z * z)
    return f"{100 * max(centre - half, 0):.1f}-{100 * min(centre + half, 1):.1f} %"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "not rolled back"
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.1f} min"


def false_rollbacks(base: Rollout, policy: GuardPolicy, args: argparse.Namespace) -> None:
    print("### 1. False rollbacks: a healthy treatment (its error rate equal to the control's)\n")
    print(
        f"{args.runs} seeded rollouts per row; the share rolled back at some check, with its 95 % interval.\n"
    )
    print("| requests/s | confidence | min_sample | z threshold | rolled back | 95 % interval |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for confidence in args.confidences:
        for min_sample in args.min_samples:
            for traffic in args.traffic:
                guard = replace(policy, confidence=confidence, min_sample=min_sample)
                outcome = simulate(replace(base, traffic=traffic), guard, args.runs, args.seed)
                threshold = judge(guard, Sample(0, 0), Sample(0, 0)).threshold
                found = len(outcome.times)
                print(
                    f"| {traffic:,.0f} | {confidence} | {min_sample} | {threshold:.2f} | "
                    f"{percent(outcome.share)} ({found}) | {interval(found, args.runs)} |"
                )
    print()


def detection(base: Rollout, policy: GuardPolicy, args: argparse.Namespace) -> None:
    since = (
        f"{base.bad_from_seconds} s into the rollout" if base.bad_from_seconds else "the start of the rollout"
    )
    print(f"### 2. Detection: a treatment that is bad from {since}\n")
    print(f"Seconds from {since} to the rollback, over all runs (median, 95th percentile).\n")
    print("| requests/s | treatment | rolled back | median | p95 | share when rolled back (median) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for multiplier in args.bad:
        for traffic in args.traffic:
            rollout = replace(base, traffic=traffic, multiplier=multiplier)
            outcome = simulate(rollout, policy, args.detection_runs, args.seed)
            median = outcome.quantile(0.5)
            step = (
                None
                if median is None
                else rollout.steps[
                    min(
                        int(median + rollout.bad_from_seconds) // rollout.dwell_seconds,
                        len(rollout.steps) - 1,
                    )
                ]
            )
            print(
                f"| {traffic:,.0f} | {multiplier:g}x | {percent(outcome.share)} | {duration(median)} | "
                f"{duration(outcome.quantile(0.95))} | {'-' if step is None else f'{100 * step:g} %'} |"
            )
    print()


def below_ratio(base: Rollout, policy: GuardPolicy, args: argparse.Namespace) -> None:
    print(f"### 3. Near the ratio: a treatment worse than the control by about ratio = {policy.ratio:g}\n")
    print(
        "Share of rollouts rolled back, and when (seconds from the start, median over those rolled back).\n"
    )
    print("| requests/s | treatment | rolled back | 95 % interval | median time when rolled back |")
    print("| ---: | ---: | ---: | --- | ---: |")
    for multiplier in args.near:
        for traffic in args.traffic:
            rollout = replace(base, traffic=traffic, multiplier=multiplier)
            outcome = simulate(rollout, policy, args.runs, args.seed)
            found = len(outcome.times)
            median = statistics.median(outcome.times) if outcome.times else None
            print(
                f"| {traffic:,.0f} | {multiplier:g}x | {percent(outcome.share)} ({found}) | "
                f"{interval(found, args.runs)} | {'-' if median is None else duration(median)} |"
            )
    print()


# (treatment observations, control observations, control error rate): a rollout's first steps (a small
# treatment beside a large control), equal halves, few failures and many.
ONE_LOOK_CASES = [
    (200, 20_000, 0.01),
    (300, 30_000, 0.0005),
    (1_000, 100_000, 0.01),
    (200, 200, 0.02),
    (1_000, 1_000, 0.004),
    (300, 3_000, 0.05),
    (200, 2_000, 0.2),
    (20_000, 20_000, 0.01),
]


def one_look(policy: GuardPolicy, args: argparse.Namespace) -> None:
    print(
        f"### 4. One look on the edge of the null: the treatment at exactly ratio = {policy.ratio:g} times\n"
    )
    print(
        f"{args.draws:,} seeded draws per row, judged once with min_sample 1: how often the test trips, "
        "where a calibrated test trips 1 - confidence of the time.\n"
    )
    print(
        "| treatment n | control n | control rate | trips at 0.99 (nominal 1 %) | at 0.999 (nominal 0.1 %) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    guards = [replace(policy, min_sample=1, confidence=c) for c in (0.99, 0.999)]
    for n_t, n_c, rate in ONE_LOOK_CASES:
        rng = random.Random(repr((args.seed, n_t, n_c, rate)))
        tripped = [0, 0]
        for _ in range(args.draws):
            treatment = Sample(FailingRequests(rate * policy.ratio, rng).count_up_to(n_t), n_t)
            control = Sample(FailingRequests(rate, rng).count_up_to(n_c), n_c)
            for index, guard in enumerate(guards):
                tripped[index] += judge(guard, treatment, control).tripped
        print(
            f"| {n_t:,} | {n_c:,} | {100 * rate:g} % | {100 * tripped[0] / args.draws:.2f} % | "
            f"{100 * tripped[1] / args.draws:.3f} % |"
        )
    print()


def numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1000, help="seeded rollouts per row of tables 1 and 3")
    parser.add_argument("--detection-runs", type=int, default=400, help="seeded rollouts per row of table 2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--traffic", type=numbers, default=[10.0, 100.0, 1000.0], help="requests/s, e.g. 10,100"
    )
    parser.add_argument("--base-rate", type=float, default=0.01, help="the control's error rate")
    parser.add_argument("--steps", type=numbers, default=[1, 5, 10, 25, 50, 100], help="percent, in order")
    parser.add_argument("--dwell", type=int, default=300, help="seconds each step is held")
    parser.add_argument("--flush", type=int, default=5, help="SDK flush interval, seconds")
    parser.add_argument("--confidence", type=float, default=None, help="the guard's (default: its default)")
    parser.add_argument("--min-sample", type=int, default=None, help="the guard's (default: its default)")
    parser.add_argument("--confidences", type=numbers, default=None, help="table 1: default and two others")
    parser.add_argument("--min-samples", type=lambda text: [int(v) for v in numbers(text)], default=None)
    parser.add_argument(
        "--bad-from", type=int, default=0, help="tables 2-3: seconds before the treatment turns bad"
    )
    parser.add_argument("--bad", type=numbers, default=[3.0, 2.0], help="table 2's multipliers")
    parser.add_argument("--near", type=numbers, default=[1.4, 1.5], help="table 3's multipliers")
    parser.add_argument("--draws", type=int, default=20_000, help="draws per row of table 4")
    parser.add_argument(
        "--only", choices=["1", "2", "3", "4"], action="append", help="print only these tables"
    )
    args = parser.parse_args(argv)
    defaults = GuardPolicy()
    policy = replace(
        defaults,
        confidence=args.confidence or defaults.confidence,
        min_sample=args.min_sample or defaults.min_sample,
    )
    args.confidences = args.confidences or [policy.confidence, 0.99, 0.9999]
    args.min_samples = args.min_samples or [policy.min_sample]
    base = Rollout(
        traffic=args.traffic[0],
        steps=tuple(step / 100 for step in args.steps),
        dwell_seconds=args.dwell,
        base_rate=args.base_rate,
        flush_seconds=args.flush,
        bad_from_seconds=args.bad_from,
    )
    started = time.monotonic()
    print("## Rollout guard: false rollbacks and detection (seeded simulation)\n")
    print(f"- Commit {commit()}; {machine()}")
    print(
        f"- Guard: ratio {policy.ratio:g}, confidence {policy.confidence}, min_sample "
        f"{policy.min_sample}; control error rate {100 * base.base_rate:g} %"
    )
    print(
        f"- Steps {', '.join(f'{100 * s:g}' for s in base.steps)} %, {base.dwell_seconds} s each "
        f"({base.seconds / 60:g} min, the guard judging through the last step); "
        f"SDK flush {base.flush_seconds} s, "
        f"a check every {base.check_seconds} s on the cumulative counts; seed {args.seed}\n"
    )
    tables = args.only or ["1", "2", "3", "4"]
    if "1" in tables:
        false_rollbacks(base, policy, args)
    if "2" in tables:
        detection(base, policy, args)
    if "3" in tables:
        below_ratio(base, policy, args)
    if "4" in tables:
        one_look(policy, args)
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
