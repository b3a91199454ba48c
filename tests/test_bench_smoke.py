"""The benchmark's pieces run (bench/): a baseline day, the load client, the report.

No timing is asserted here: speed is measured by scripts/bench, not by tests. The integration's
own simulated day (bench/day_test.py) and the real-Home-Assistant parts run in scripts/bench.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bench.__main__ import build_parser
from bench.baselines import CoreTeslaFleetPoller, NaivePoller, ReplayCommand, run_baseline
from bench.day import judge
from bench.load import open_loop, parse_wrk
from bench.metrics import ledger_summary, percentile, request_times, sleep_report
from bench.report import render
from bench.scenario import PLAN
from fleet_sim import Simulator
from fleet_sim.ledger import Ledger

MIDNIGHT = 1_782_025_200.0  # 2026-06-21 00:00 in US/Pacific

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8123/tlwb/1/status
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.31ms    4.02ms  61.20ms   80.00%
    Req/Sec     4.39k   310.12     4.90k    71.00%
  Latency Distribution
     50%    6.59ms
     75%    9.07ms
     90%   13.65ms
     99%  205.58us
  43700 requests in 10.00s, 40.12MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   4368.63
Transfer/sec:      4.01MB
"""


@pytest.fixture
def commands() -> list[ReplayCommand]:
    """A start and one current change after the plug-in, as the integration would send."""
    plugged = MIDNIGHT + PLAN.plug_at
    return [
        ReplayCommand(plugged + 60, "set_charging_amps", {"charging_amps": 8}),
        ReplayCommand(plugged + 60, "charge_start", {}),
        ReplayCommand(plugged + 1800, "set_charging_amps", {"charging_amps": 12}),
    ]


async def test_baselines_live_through_the_day(
    socket_enabled: None, commands: list[ReplayCommand]
) -> None:
    core = await run_baseline(CoreTeslaFleetPoller, MIDNIGHT, commands)
    naive = await run_baseline(NaivePoller, MIDNIGHT, commands)
    for result in (core, naive):
        assert result["commands_failed"] == 0
        assert result["ledger"]["categories"]["command"]["count"] == 3
        # Asleep from midnight until it woke at 07:00, and never again: reads keep it awake.
        assert result["sleep"]["asleep_h"] == pytest.approx(PLAN.online_at / 3600)
        assert result["energy"]["total_kwh"] > 0
        assert result["soc_end"] == PLAN.target_soc
    core_reads = core["ledger"]["categories"]["data"]["count"]
    naive_reads = naive["ledger"]["categories"]["data"]["count"]
    # From 07:00 to midnight: one read per poll period.
    assert core_reads == 17 * 6
    assert naive_reads == 17 * 120
    assert core["client"]["age_s"]["max"] < 600
    targets = judge(core, core)
    assert targets["cheaper_than_ha_core"]["value"] == 1.0
    markdown = render(
        {"day": {"runs": [core, naive], "targets": {}, "wall_s": 1.0, "machine": _machine()}}
    )
    assert "(b) like HA core tesla_fleet" in markdown
    assert "| 102 | 3 | 0 |" in markdown


async def test_open_loop_client_counts_every_answer(socket_enabled: None) -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        result = await open_loop(
            session, f"{sim.url}/status", label="sim", rate=200.0, duration=0.25
        )
    assert (result.completed, result.errors) == (50, 0)
    assert result.statuses == {200: 50}
    assert len(result.latencies_ms) == 50
    assert result.as_dict()["latency_ms"]["count"] == 50


def test_wrk_report_is_parsed() -> None:
    result = parse_wrk(WRK_OUTPUT, label="status", duration=10)
    assert result.throughput_rps == pytest.approx(4368.63)
    assert result.completed == 43700
    assert result.errors == 3
    assert result.wrk_latency_ms == {"p50": 6.59, "p75": 9.07, "p90": 13.65, "p99": 0.206}


def test_sleep_report_excuses_what_no_poller_can_avoid() -> None:
    # Asleep 0-1000, woken by a plug-in at 1000, charging 1100-2000, asleep again from 4000.
    report = sleep_report(
        window=(0.0, 5000.0),
        timeline=[(0.0, "asleep"), (1000.0, "online"), (4000.0, "asleep")],
        charging_timeline=[(0.0, "Disconnected"), (1100.0, "Charging"), (2000.0, "Complete")],
        wake_events=[1000.0],
        sleep_after=900.0,
    )
    assert report.charging_s == 900.0
    # Forced awake: 1000-1900 (plug-in), 1100-2000 (charging), 2000-2900 (wind-down).
    assert report.forced_awake_s == 1900.0
    assert report.eligible_s == 3100.0
    # 2900-4000 awake without a reason: read by someone.
    assert report.asleep_share_of_eligible == pytest.approx(2000.0 / 3100.0)
    assert report.asleep_share_of_not_charging == pytest.approx(2000.0 / 4100.0)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5


def test_command_line() -> None:
    args = build_parser().parse_args(["day", "--quick", "--variant", '{"charging_interval": 900}'])
    assert (args.part, args.quick, args.variant) == ("day", True, ['{"charging_interval": 900}'])


def _machine() -> dict[str, Any]:
    return {
        "cpus": 2,
        "cpu_model": "test",
        "memory_gib": 1.0,
        "os": "Linux",
        "python": "3.13.0",
        "homeassistant": "2026.2.3",
        "tesla_fleet_api": "1",
        "load_average_1_5_15": [0.0, 0.0, 0.0],
    }


async def test_signing_rows_measure_each_kind_of_command(socket_enabled: None) -> None:
    """Part 3b runs the real clients: the handshake costs one request more, once per client."""
    from bench.signing import KINDS, run_signing, signing_table

    result = await run_signing(runs=2)
    assert result["requests"] == {
        "unsigned": 1,
        "signed_first": 2,
        "signed_next": 1,
        "proxy_first": 2,
        "proxy_next": 1,
    }
    assert result["signed_commands_seen_by_the_car"] == 2 * 4
    assert all(result["seconds"][name]["count"] == 2 for name in KINDS)
    assert "handshake included" in signing_table(result)


def test_a_week_with_a_departure_plan() -> None:
    """Part 4 runs the integration's planner over the simulated week; its table is rendered."""
    from bench.plan_week import run_week

    result = run_week(days=2)
    runs = result["runs"]
    assert set(runs) == {"plug_in", "pv_night", "plan"}
    # Monday and Tuesday, and on to Wednesday's departure.
    assert [run["departures"] for run in runs.values()] == [3, 3, 3]
    assert runs["plan"]["reachable_met"] == runs["plan"]["reachable"] == 3
    assert runs["plan"]["cost_eur"] < runs["plug_in"]["cost_eur"]
    # The same energy reaches the car in each: the comparison is of price, not of quantity.
    totals = {round(run["grid_kwh"] + run["pv_kwh"], 1) for run in runs.values()}
    assert len(totals) == 1
    markdown = render({"plan": {**result, "wall_s": 0.1, "machine": _machine()}})
    assert "### A week with a departure plan" in markdown
    assert "| Tesla Wallbox plan mode |" in markdown


def test_a_day_over_bluetooth_counts_the_cloud_apart() -> None:
    """Bluetooth exchanges are free and counted apart; one the car answered wakes it (the sleep
    report's wake events), a silent one does not; the Bluetooth run is judged by its cloud."""
    ledger = Ledger()
    ledger.record(time=1.0, method="GET", path="/api/1/vehicles/1/vehicle_data", status=200)
    ledger.record_bluetooth(
        time=5.0, vin="V", domain="vcsec", kind="wake", category="wake", answered=True
    )
    ledger.record_bluetooth(
        time=6.0,
        vin="V",
        domain="infotainment",
        kind="vehicle_data",
        category="data",
        answered=False,
    )
    summary = ledger_summary(ledger.entries)
    assert summary["categories"]["data"]["count"] == 1
    assert summary["categories"]["wake"]["count"] == 0
    assert summary["bluetooth"] == {"count": 2}
    assert summary["total"]["count"] == 1
    assert request_times(ledger.entries, {"wake", "data"}) == [ledger.entries[0].time, 5.0]

    core = {"ledger": {"total": {"cost": 0.2}}, "sleep": {"asleep_share_of_eligible": 0.4}}
    ours = {
        "ledger": {"total": {"cost": 0.0}},
        "sleep": {"asleep_share_of_eligible": 0.99},
        "bluetooth": True,
        "cloud_requests": 1,
    }
    targets = judge(ours, core)
    assert targets["cheaper_than_ha_core"] == {"value": None, "target": ">= 5.0x", "met": True}
    assert targets["bluetooth_cost_usd"]["met"] is True
    assert targets["bluetooth_cloud_requests"] == {"value": 1, "target": "== 0", "met": False}
