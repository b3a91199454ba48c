"""`python -m bench [all|day|http|latency|plan]`: run the benchmarks, write JSON, print markdown.

all (the default) runs the four parts: the simulated day with the two baselines, HTTP load on a
real Home Assistant, the command latency on a sleeping car, and a week with a departure plan.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import json
from pathlib import Path
import sys
import time
from typing import Any

from bench.machine import describe
from bench.report import render

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("day", "http", "latency", "plan")
# Variants of the defaults that the day also runs: a user option, shown for its effect on cost.
DEFAULT_VARIANTS: dict[str, dict[str, Any]] = {
    "tesla_wallbox pv_charging_interval=1800": {"pv_charging_interval": 1800},
    "tesla_wallbox pv_charging_interval=600": {"pv_charging_interval": 600},
}


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("part", nargs="?", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="shorter load runs, 5 latency runs, no option variant (a check, not a result)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="JSON",
        help="extra options for another run of the day, e.g. '{\"charging_interval\": 1800}'",
    )
    return parser


async def _run(parts: list[str], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    if "day" in parts:
        from bench.day import run_day

        variants = {} if args.quick else dict(DEFAULT_VARIANTS)
        for text in args.variant:
            options = json.loads(text)
            label = "tesla_wallbox " + " ".join(f"{k}={v}" for k, v in options.items())
            variants[label] = options
        machine = describe()
        print("part 1: the simulated day ...", file=sys.stderr, flush=True)
        results["day"] = {**await run_day(variants), "machine": machine}
    if "plan" in parts:
        from bench.plan_week import run_week

        print("part 4: a week with a departure plan ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        results["plan"] = {**run_week(), "machine": describe()}
        results["plan"]["wall_s"] = round(time.perf_counter() - started, 1)
    live = [part for part in parts if part in ("http", "latency")]
    if live:
        from bench.live import live_home_assistant, run_http, run_latency

        machine = describe()
        print("starting Home Assistant ...", file=sys.stderr, flush=True)
        async with live_home_assistant() as ha:
            if "http" in live:
                print("part 2: HTTP load ...", file=sys.stderr, flush=True)
                duration, sweep = (3.0, 1.5) if args.quick else (10.0, 3.0)
                results["http"] = {
                    **await run_http(ha, duration=duration, sweep_duration=sweep),
                    "machine": machine,
                }
            if "latency" in live:
                print("part 3: command latency ...", file=sys.stderr, flush=True)
                runs = 5 if args.quick else 20
                results["latency"] = {**await run_latency(ha, runs=runs), "machine": machine}
                print("part 3b: signed against unsigned commands ...", file=sys.stderr, flush=True)
                from bench.signing import run_signing

                results["latency"]["signing"] = await run_signing(runs=runs)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen parts; write <out>/<part>.json and <out>/summary.md; print the tables."""
    args = build_parser().parse_args(argv)
    parts = list(PARTS) if args.part == "all" else [args.part]
    started = time.perf_counter()
    results = asyncio.run(_run(parts, args))
    args.out.mkdir(parents=True, exist_ok=True)
    for part, result in results.items():
        result["quick"] = args.quick
        (args.out / f"{part}.json").write_text(json.dumps(result, indent=2) + "\n")
    # The summary shows every part that has a result in the folder, from this run or an earlier one.
    everything: dict[str, dict[str, Any]] = {}
    for part in PARTS:
        path = args.out / f"{part}.json"
        if path.exists():
            everything[part] = json.loads(path.read_text())
    markdown = render(everything)
    (args.out / "summary.md").write_text(markdown)
    print(render(results))
    print(f"total {time.perf_counter() - started:.0f} s; results in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
