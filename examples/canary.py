"""A service under load for the canary walk-through in docs/releases.md: it checks a flag for every
request, reports each request and each failure with `client.track`, and fails more often when the flag is on.

    python examples/canary.py --sdk-key "$SDK_KEY" --flag new-checkout \
        --treatment-errors 0.06 --control-errors 0.02

Runs until interrupted (or `--seconds`), printing once a second what share of requests got the new variation
and how many failed on each side. Needs only the SDK (`pip install -e sdk`).
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from flagstaff import Client, LiveOptions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--sdk-key", required=True, help="a server SDK key (fs_sdk_...) of the environment")
    parser.add_argument("--flag", required=True, help="the boolean flag being rolled out")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--users", type=int, default=100_000, help="distinct user keys (default 100,000)")
    parser.add_argument("--treatment-errors", type=float, default=0.02, help="failure rate with the flag on")
    parser.add_argument("--control-errors", type=float, default=0.02, help="failure rate with the flag off")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (default: never)")
    parser.add_argument("--metrics-interval", type=float, default=1.0, help="SDK metric batches (seconds)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    client = Client(args.sdk_key, args.base_url, options=LiveOptions(metrics_interval=args.metrics_interval))
    if not client.wait_until_ready(10):
        print(f"no flag data from {args.base_url}: {client.status()}", file=sys.stderr)
        return 1
    started = last_report = time.monotonic()
    done = 0
    served = {True: 0, False: 0}
    failed = {True: 0, False: 0}
    try:
        while not args.seconds or time.monotonic() - started < args.seconds:
            context = {"key": f"user-{rng.randrange(args.users)}"}
            on = client.is_enabled(args.flag, context)
            client.track("request", context)
            served[on] += 1
            if rng.random() < (args.treatment_errors if on else args.control_errors):
                client.track("error", context)
                failed[on] += 1
            now = time.monotonic()
            if now - last_report >= 1.0:
                total = served[True] + served[False]
                print(
                    f"{now - started:6.0f} s  new variation for {100 * served[True] / max(total, 1):5.1f}% "
                    f"of {total} requests  failures: new {failed[True]}, old {failed[False]}",
                    flush=True,
                )
                served, failed, last_report = {True: 0, False: 0}, {True: 0, False: 0}, now
            # Paced by the clock: sleeping 1/rate after each request would also wait out the request's own
            # time (and the sleep's overshoot), and serve well below --rate.
            done += 1
            ahead = done / args.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
