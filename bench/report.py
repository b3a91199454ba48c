"""Markdown tables from the JSON results."""

from __future__ import annotations

from typing import Any

POLICY_NAMES = {
    "tesla_wallbox": "Tesla Wallbox (defaults)",
    "tesla_wallbox teslemetry_stream": "Tesla Wallbox on Teslemetry, the car streaming (defaults)",
    "tesla_wallbox bluetooth": "Tesla Wallbox, Bluetooth in range at home (defaults)",
    "naive_30s": "(a) naive: vehicle_data every 30 s when online",
    "ha_core_tesla_fleet": "(b) like HA core tesla_fleet: state check + vehicle_data every 600 s",
}


def _name(policy: str, options: dict[str, Any] | None = None) -> str:
    if policy in POLICY_NAMES:
        return POLICY_NAMES[policy]
    shown = ", ".join(f"{key} {value}" for key, value in (options or {}).items())
    return f"Tesla Wallbox ({shown})" if shown else policy


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f} %"


def day_table(result: dict[str, Any]) -> str:
    """One row per policy: requests, cost, sleep, energy, age."""
    lines = [
        "| Policy | vehicle_data | commands | wake_up | state checks (free) | Bluetooth (free) "
        "| cost (USD) "
        "| asleep (h) | asleep / could sleep | PV / grid (kWh) | status age mean / max (s) "
        "| data age charging mean / max (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        categories = run["ledger"]["categories"]
        sleep = run["sleep"]
        energy = run["energy"]
        age = run["client"]["age_s"]
        charging = run["client"].get("data_age_charging_s", {})
        lines.append(
            f"| {_name(run['policy'], run.get('options'))} "
            f"| {categories['data']['count']} | {categories['command']['count']} "
            f"| {categories['wake']['count']} | {categories['state']['count']} "
            f"| {run['ledger'].get('bluetooth', {}).get('count', 0)} "
            f"| {run['ledger']['total']['cost']:.3f} "
            f"| {sleep['asleep_h']:.1f} | {sleep['asleep_share_of_eligible'] * 100:.1f} % "
            f"| {energy['pv_kwh']:.1f} / {energy['grid_kwh']:.2f} "
            f"| {_number(age.get('mean'), 0)} / {_number(age.get('max'), 0)} "
            f"| {_number(charging.get('mean'), 0)} / {_number(charging.get('max'), 0)} |"
        )
    return "\n".join(lines)


def targets_table(result: dict[str, Any]) -> str:
    """The issue's targets, for each of our runs."""
    lines = ["| Run | Target | Measured | Met |", "|---|---|---:|:---:|"]
    labels = {
        "cost_usd": "cost of the day (USD)",
        "cheaper_than_ha_core": "cheaper than (b)",
        "asleep_share_of_eligible": "asleep while it could sleep",
        "stream_data_reads": "vehicle_data in the day",
        "stream_data_age_charging_max_s": "data age while charging, max (s)",
        "bluetooth_cost_usd": "cost of the day in Bluetooth range (USD)",
        "bluetooth_cloud_requests": "cloud requests in the day",
    }
    runs = {run["policy"]: run for run in result["runs"]}
    for policy, targets in result["targets"].items():
        name = _name(policy, runs[policy].get("options"))
        for key, target in targets.items():
            value = target["value"]
            shown = f"{value * 100:.1f} %" if key == "asleep_share_of_eligible" else str(value)
            if key == "cheaper_than_ha_core":
                shown = "nothing billed" if value is None else f"{value}x"
            lines.append(
                f"| {name} | {labels[key]} {target['target']} | {shown} "
                f"| {'yes' if target['met'] else 'no'} |"
            )
    return "\n".join(lines)


def http_table(result: dict[str, Any]) -> str:
    """Throughput and latency per endpoint and test."""
    lines = [
        "| Endpoint | Test | offered (req/s) | throughput (req/s) | p50 (ms) | p99 (ms) | errors "
        "| load client CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    paths = {"status": "`GET /tlwb/1/status`", "goe_status": "`GET /tlwb/1/goe/{key}/api/status`"}
    for row in result["results"]:
        latency = row.get("latency_ms", {})
        lines.append(
            f"| {paths.get(row['endpoint'], row['endpoint'])} | {row['test']} "
            f"| {_number(row.get('offered_rps'), 0)} | {_number(row.get('throughput_rps'), 0)} "
            f"| {_number(latency.get('p50'), 2)} | {_number(latency.get('p99'), 2)} "
            f"| {row.get('errors', '-')} | {_share(row.get('client_cpu_share'))} |"
        )
    during = result["tesla_requests_during_load"]["total"]
    lines.append("")
    lines.append(
        f"Tesla API requests while the load ran: {during['count']} "
        f"({during['billed']} billable, USD {during['cost']:.3f})."
    )
    if not result.get("goe_endpoint"):
        lines.append("The go-e endpoint did not answer; it is measured once it exists.")
    return "\n".join(lines)


def latency_table(result: dict[str, Any]) -> str:
    """The command latency distribution and where the time goes (real seconds)."""
    rows = [
        ("`control?1` until the car reports Charging", result["to_charging_s"]),
        ("HTTP answer (`&wait=60`)", result["http_answer_s"]),
        ("overhead beyond the scaled wake delay", result["overhead_beyond_wake_s"]),
        (
            "overhead beyond the scaled wake and start delays",
            result["overhead_beyond_wake_and_start_s"],
        ),
        (
            "of which: car online until charge_start sent (wake-wait loop)",
            result["breakdown_s"]["online_to_charge_start_sent"],
        ),
        ("request until wake_up sent", result["breakdown_s"]["request_to_wake_up_sent"]),
    ]
    lines = [
        "| Real seconds | min | p50 | p90 | p99 | max | mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, values in rows:
        lines.append(
            f"| {label} | {values['min']:.3f} | {values['p50']:.3f} | {values['p90']:.3f} "
            f"| {values['p99']:.3f} | {values['max']:.3f} | {values['mean']:.3f} |"
        )
    return "\n".join(lines)


def machine_line(machine: dict[str, Any]) -> str:
    """One line about the machine."""
    return (
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB RAM, "
        f"{machine['os']}, Python {machine['python']}, Home Assistant {machine['homeassistant']}, "
        f"tesla-fleet-api {machine['tesla_fleet_api']}; load average at start "
        f"{' / '.join(str(value) for value in machine['load_average_1_5_15'])}"
    )


def render(results: dict[str, dict[str, Any]]) -> str:
    """All sections present in results (keys: day, http, latency, plan)."""
    parts: list[str] = []
    if "day" in results:
        day = results["day"]
        parts += [
            "### A simulated day",
            "",
            day_table(day),
            "",
            targets_table(day),
            "",
            f"Ran in {day['wall_s']} s on {machine_line(day['machine'])}.",
        ]
    if "http" in results:
        http = results["http"]
        parts += [
            "",
            "### HTTP load (real Home Assistant)",
            "",
            http_table(http),
            "",
            f"Ran in {http['wall_s']} s on {machine_line(http['machine'])}.",
        ]
    if "latency" in results:
        latency = results["latency"]
        parts += [
            "",
            f"### Command latency ({latency['runs']} runs, car asleep, wake delay "
            f"{latency['wake_delay_sim_s']:.0f} s simulated, speed "
            f"{latency['speed_range'][0]}-{latency['speed_range'][1]})",
            "",
            latency_table(latency),
            "",
            f"Ran in {latency['wall_s']} s on {machine_line(latency['machine'])}.",
        ]
        if "signing" in latency:
            from bench.signing import signing_table

            parts += [
                "",
                f"### Signed commands ({latency['signing']['runs']} runs, the same run)",
                "",
                signing_table(latency["signing"]),
            ]
    if "plan" in results:
        from bench.plan_week import plan_table

        week = results["plan"]
        parts += [
            "",
            f"### A week with a departure plan ({week['days']} days and on to the next "
            f"departure; {week['battery_kwh']:.0f} kWh, {week['power_kw']:.0f} kW, target "
            f"{week['target_soc']:.0f} %, day-ahead price plus "
            f"{week['fee_eur_per_kwh']:.2f} EUR/kWh)",
            "",
            plan_table(week),
            "",
            f"Ran in {week['wall_s']} s on {machine_line(week['machine'])}.",
        ]
    return "\n".join(parts) + "\n"
