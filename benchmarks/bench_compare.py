"""Wall-clock time of `counterpoise compare` on the built-in digits-lt.

Runs the command line as a user would (a fresh process each time, import time included), the
default run (every strategy, 3 seeds) and the `--quick` run, and prints a markdown table.

    python benchmarks/bench_compare.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(args: list[str]) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "counterpoise", "compare", *args, "--out", out],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - start
        return seconds, json.loads((Path(out) / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, torch threads as default\n")
    print(
        f"| run | strategies x seeds | wall time (best of {args.repeats}) "
        "| training time in results.json |"
    )
    print("|---|---:|---:|---:|")
    for flags in ([], ["--quick"]):
        best, payload = min((run(flags) for _ in range(args.repeats)), key=lambda r: r[0])
        runs = len(payload["strategies"]) * payload["settings"]["seeds"]
        print(
            f"| `{' '.join(['counterpoise compare', *flags])}` | {len(payload['strategies'])} x "
            f"{payload['settings']['seeds']} = {runs} | {best:.1f} s | "
            f"{payload['timings']['total_seconds']:.1f} s |"
        )


if __name__ == "__main__":
    main()
