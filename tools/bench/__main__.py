"""``python -m tools.bench`` (``make bench``): run the benchmark and print its table."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import tools.bench
from warehouse.paths import PROJECT_DIR, Paths

from .measure import STEPS, Bench
from .steps import run_steps
from .table import format_table, table
from .workers import WORKERS, worker

# --------------------------------------------------------------------------------------------
# The command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description=tools.bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--home", help="the bench's warehouse home (default var/bench-<scale>)")
    parser.add_argument("--scale", type=float, default=10.0, help="demo scale (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each step (default 3)")
    parser.add_argument("--only", help=f"comma-separated steps (default all: {','.join(STEPS)})")
    parser.add_argument(
        "--keep", action="store_true", help="leave the embedded PostgreSQL running at the end"
    )
    sub = parser.add_subparsers(dest="command")
    work = sub.add_parser("worker", help="(internal) run one measured task")
    work.add_argument("task", choices=sorted(WORKERS))
    work.add_argument("folder", type=Path)
    args = parser.parse_args(argv)

    home = Path(args.home or PROJECT_DIR / "var" / f"bench-{args.scale:g}")
    if args.command == "worker":
        os.chdir(PROJECT_DIR)  # dlt reads .dlt/config.toml from the working directory
        outcome = worker(args.task, args.folder, Paths(home.resolve()))
        Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(outcome, default=str))
        return 0

    steps = args.only.split(",") if args.only else list(STEPS)
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s) {', '.join(sorted(unknown))}; choose from {STEPS}")
    bench = Bench(home, args.scale, args.runs)
    started = time.perf_counter()
    print(
        f"bench: scale {args.scale:g}, {args.runs} run(s), home {bench.paths.home}"
        f" (step output in {bench.log})",
        flush=True,
    )
    failures: list[str] = []
    try:
        failures = run_steps(bench, steps)
    finally:
        elapsed = time.perf_counter() - started
        rows = table(bench.samples)
        text = format_table(rows)
        print(f"\nScale {args.scale:g}, median of {args.runs} run(s), {elapsed / 60:.1f} min:\n")
        print(text)
        for failure in failures:
            print(f"failed: {failure}")
        results = {
            "scale": args.scale,
            "runs": args.runs,
            "minutes": round(elapsed / 60, 1),
            "samples": {k: [asdict(s) for s in v] for k, v in bench.samples.items()},
        }
        (bench.paths.home / "bench-results.json").write_text(json.dumps(results, indent=2))
        (bench.paths.home / "bench-table.md").write_text(text + "\n")
        if not args.keep:
            from demo.postgres import stop_embedded

            stop_embedded(bench.paths.postgres)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
