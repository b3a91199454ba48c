"""Part 1: the simulated day, for the integration and for the two baselines, in one run.

The integration's day runs in a Home Assistant test instance, in its own pytest session
(bench/day_test.py); the baselines then replay its charging commands with their own polling.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.baselines import BASELINES, ReplayCommand, run_baseline

ROOT = Path(__file__).resolve().parent.parent
DAY_TEST = Path(__file__).resolve().parent / "day_test.py"

# The targets the simulated day is judged against.
TARGET_COST_USD = 0.10
TARGET_CHEAPER_THAN_CORE = 5.0
TARGET_ASLEEP_SHARE = 0.95
# And a car that streams (Teslemetry): no vehicle_data in the day, data this fresh while charging.
TARGET_STREAM_DATA_READS = 0
TARGET_STREAM_DATA_AGE_S = 5.0
STREAM_RUN = "tesla_wallbox teslemetry_stream"
# And a car in Bluetooth range at home all day: nothing billed, nothing through the cloud.
TARGET_BLUETOOTH_COST_USD = 0.0
TARGET_BLUETOOTH_CLOUD_REQUESTS = 0
BLUETOOTH_RUN = "tesla_wallbox bluetooth"


def run_integration_day(
    options: dict[str, Any], label: str, backend: str = "custom", *, bluetooth: bool = False
) -> dict[str, Any]:
    """The integration's day, in a fresh pytest session; its JSON result."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "day.json"
        env = {
            **os.environ,
            "BENCH_DAY_OUT": str(out),
            "BENCH_DAY_OPTIONS": json.dumps(options),
            "BENCH_DAY_LABEL": label,
            "BENCH_DAY_BACKEND": backend,
            "BENCH_DAY_BLUETOOTH": "1" if bluetooth else "",
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(DAY_TEST),
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--no-header",
        ]
        completed = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0 or not out.exists():
            sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
            raise RuntimeError(f"the simulated day ({label}) failed")
        result: dict[str, Any] = json.loads(out.read_text())
    # Measured here: freezegun stops the clocks inside the test session.
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def _cost(result: dict[str, Any]) -> float:
    return float(result["ledger"]["total"]["cost"])


def judge(ours: dict[str, Any], core: dict[str, Any]) -> dict[str, Any]:
    """The three targets for one of our runs (and, for a car that streams, two more)."""
    cost = _cost(ours)
    # Nothing billed: cheaper than any policy that is (None: no ratio to show).
    ratio = round(_cost(core) / cost, 2) if cost else None
    asleep = float(ours["sleep"]["asleep_share_of_eligible"])
    streamed: dict[str, Any] = {}
    if ours.get("backend") == "teslemetry":
        reads = int(ours["ledger"]["categories"]["data"]["count"])
        age = float(ours["client"]["data_age_charging_s"].get("max", float("inf")))
        streamed = {
            "stream_data_reads": {
                "value": reads,
                "target": f"== {TARGET_STREAM_DATA_READS}",
                "met": reads == TARGET_STREAM_DATA_READS,
            },
            "stream_data_age_charging_max_s": {
                "value": age,
                "target": f"< {TARGET_STREAM_DATA_AGE_S}",
                "met": age < TARGET_STREAM_DATA_AGE_S,
            },
        }
    if ours.get("bluetooth"):
        cloud = int(ours["cloud_requests"])
        streamed = {
            "bluetooth_cost_usd": {
                "value": cost,
                "target": f"== {TARGET_BLUETOOTH_COST_USD:.2f}",
                "met": cost == TARGET_BLUETOOTH_COST_USD,
            },
            "bluetooth_cloud_requests": {
                "value": cloud,
                "target": f"== {TARGET_BLUETOOTH_CLOUD_REQUESTS}",
                "met": cloud == TARGET_BLUETOOTH_CLOUD_REQUESTS,
            },
        }
    return {
        "cost_usd": {
            "value": cost,
            "target": f"<= {TARGET_COST_USD}",
            "met": cost <= TARGET_COST_USD,
        },
        "cheaper_than_ha_core": {
            "value": ratio,
            "target": f">= {TARGET_CHEAPER_THAN_CORE}x",
            "met": ratio is None or ratio >= TARGET_CHEAPER_THAN_CORE,
        },
        "asleep_share_of_eligible": {
            "value": asleep,
            "target": f">= {TARGET_ASLEEP_SHARE}",
            "met": asleep >= TARGET_ASLEEP_SHARE,
        },
        **streamed,
    }


async def run_day(variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The integration with its default options, the same on Teslemetry with the car streaming
    and with the car in Bluetooth range (and any variants), then the baselines."""
    started = time.perf_counter()
    runs = [run_integration_day({}, "tesla_wallbox")]
    runs.append(run_integration_day({}, STREAM_RUN, backend="teslemetry"))
    runs.append(run_integration_day({}, BLUETOOTH_RUN, bluetooth=True))
    runs += [run_integration_day(options, label) for label, options in variants.items()]
    reference = runs[0]
    commands = [
        ReplayCommand(command["time"], command["name"], command["body"])
        for command in reference["commands"]
    ]
    baselines = [
        await run_baseline(poller, reference["midnight"], commands) for poller in BASELINES
    ]
    core = next(run for run in baselines if run["policy"] == "ha_core_tesla_fleet")
    return {
        "part": "day",
        "runs": [*runs, *baselines],
        "targets": {run["policy"]: judge(run, core) for run in runs},
        "wall_s": round(time.perf_counter() - started, 1),
    }
