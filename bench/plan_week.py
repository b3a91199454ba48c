"""Part 4: a week with a departure plan: energy cost and departures met, for three strategies.

A simple car and household model at 15-minute steps (pure, seeded, no Home Assistant): quarter-
hour day-ahead prices shaped like a central European summer (a night valley, a morning peak, the
midday solar dip, the evening peak; known from 13:00 the day before) plus a fixed grid fee, a
10 kWp roof (fleet_sim/pv.py's clear and cloudy days) and a family home's load. The car leaves and
comes back each weekday, and on the weekend. It compares:

- plug_in: charges at full power from the moment it is plugged in, to the target;
- pv_night: charges from PV surplus while at home, and tops up from the grid from 00:00 to the
  target;
- plan: the integration's planner (custom_components.tesla_wallbox.plan, the same code), made
  again every 15 minutes from the prices known then and a PV forecast that errs by up to 30 %:
  the grid in its slots, PV surplus in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
import random
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.tesla_wallbox.plan import (
    DepartureSettings,
    PlanRequest,
    PriceSlot,
    PvPeriod,
    make_plan,
)
from fleet_sim.pv import Trace, clear_day, cloudy_day, house_load

ZONE = ZoneInfo("Europe/Berlin")
WEEK_START = datetime(2026, 6, 15, tzinfo=ZONE)  # a Monday
STEP = timedelta(minutes=15)
STEP_H = 0.25
FEE = 0.10  # EUR/kWh on every kWh drawn (grid fee and levies), on top of the day-ahead price
BATTERY_KWH = 75.0
POWER_KW = 11.0  # 3 x 230 V x 16 A
MIN_PV_KW = 3 * 230 * 5 / 1000  # PV charging starts at 5 A on three phases
EFFICIENCY = 0.9
TARGET_SOC = 80.0
START_SOC = 45.0
TARGET_SAVING = 0.30  # cost at least 30 % below plug_in
# Spot price (EUR/kWh) by local hour on a sunny weekday.
HOURLY = (
    *(0.090, 0.085, 0.080, 0.078, 0.080, 0.088, 0.110, 0.140, 0.130, 0.100, 0.070, 0.050),
    *(0.030, 0.030, 0.040, 0.060, 0.090, 0.130, 0.170, 0.210, 0.190, 0.150, 0.120, 0.100),
)


@dataclass(frozen=True, slots=True)
class Trip:
    """Leaves at `leave` (local), back after `hours`, using `kwh` from the battery."""

    leave: time
    hours: float
    kwh: float


# Monday .. Sunday: commuting, a home-office Wednesday with a short trip, a weekend day out.
TRIPS = (
    Trip(time(7, 30), 10.0, 14.0),
    Trip(time(7, 30), 10.0, 16.0),
    Trip(time(13, 0), 2.0, 6.0),
    Trip(time(7, 0), 10.5, 18.0),
    Trip(time(7, 30), 11.5, 22.0),
    Trip(time(10, 0), 4.0, 12.0),
    Trip(time(9, 0), 10.0, 35.0),
)
SUNNY = (True, False, True, False, True, False, True)


@dataclass
class Result:
    """One strategy's week."""

    name: str
    cost_eur: float = 0.0
    grid_kwh: float = 0.0
    pv_kwh: float = 0.0
    departures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        met = sum(1 for d in self.departures if d["met"])
        reachable = [d for d in self.departures if d["reachable"]]
        return {
            "name": self.name,
            "cost_eur": round(self.cost_eur, 2),
            "grid_kwh": round(self.grid_kwh, 1),
            "pv_kwh": round(self.pv_kwh, 1),
            "departures": len(self.departures),
            "met": met,
            "reachable": len(reachable),
            "reachable_met": sum(1 for d in reachable if d["met"]),
            "met_share": met / len(self.departures) if self.departures else 1.0,
            "detail": self.departures,
        }


@dataclass(frozen=True)
class Week:
    """The inputs every strategy sees alike."""

    days: int
    prices: list[PriceSlot]
    pv_kw: list[float]  # mean PV power per step
    house_kw: list[float]
    forecast: list[PvPeriod]  # hourly, with its error

    def step_time(self, index: int) -> datetime:
        return (WEEK_START.astimezone(UTC) + STEP * index).astimezone(ZONE)

    def price(self, index: int) -> float:
        return self.prices[index].price

    def known_prices(self, now: datetime) -> list[PriceSlot]:
        """Today's prices, and tomorrow's from 13:00 (the day-ahead auction's results)."""
        local = now.astimezone(ZONE)
        last_day = local.date() + timedelta(days=1 if local.hour >= 13 else 0)
        return [slot for slot in self.prices if slot.start.astimezone(ZONE).date() <= last_day]


def _mean(trace: Trace, start_s: float, seconds: float) -> float:
    samples = [trace.at(start_s + t) for t in range(0, int(seconds), 60)]
    return sum(samples) / len(samples) / 1000


def build_week(days: int = 7, seed: int = 7) -> Week:
    """Prices, PV, the house and the PV forecast of the week."""
    rng = random.Random(seed)
    prices: list[PriceSlot] = []
    pv_kw: list[float] = []
    house_kw: list[float] = []
    for day in range(days):
        weekday = day % 7
        sunny = SUNNY[weekday]
        pv = clear_day(step_s=300) if sunny else cloudy_day(step_s=60, seed=seed + day)
        house = house_load(step_s=60, seed=seed + day)
        factor = (0.85 if weekday >= 5 else 1.0) * rng.uniform(0.9, 1.1)
        midnight = datetime.combine(WEEK_START.date() + timedelta(days=day), time(0), ZONE)
        for quarter in range(96):
            start = (midnight.astimezone(UTC) + STEP * quarter).astimezone(ZONE)
            hour = quarter / 4
            low, high = HOURLY[int(hour) % 24], HOURLY[(int(hour) + 1) % 24]
            spot = low + (high - low) * (hour % 1)
            if not sunny and 10 <= hour < 16:
                spot += 0.04  # less sun, a shallower midday dip
            spot = spot * factor + rng.uniform(-0.005, 0.005)
            prices.append(PriceSlot(start, start + STEP, round(spot + FEE, 4)))
            pv_kw.append(_mean(pv, quarter * 900, 900))
            house_kw.append(_mean(house, quarter * 900, 900))
    forecast: list[PvPeriod] = []
    for hour in range(days * 24):
        start = WEEK_START.astimezone(UTC) + timedelta(hours=hour)
        produced = sum(pv_kw[hour * 4 : hour * 4 + 4]) * STEP_H
        forecast.append(
            PvPeriod(start, start + timedelta(hours=1), produced * rng.uniform(0.7, 1.3))
        )
    return Week(days, prices, pv_kw, house_kw, forecast)


def _settings() -> DepartureSettings:
    return DepartureSettings(
        weekdays=tuple(trip.leave for trip in TRIPS), target_soc=int(TARGET_SOC)
    )


# A strategy: (week, step index, soc, arrived at) -> whether the grid charges at full power now.
Decide = Callable[[Week, int, float, datetime], bool]


def _plug_in(week: Week, index: int, soc: float, arrived: datetime) -> bool:
    return soc < TARGET_SOC


def _pv_night(week: Week, index: int, soc: float, arrived: datetime) -> bool:
    local = week.step_time(index)
    return soc < TARGET_SOC and local.hour < 7  # the night top-up, from 00:00


def _plan(week: Week, index: int, soc: float, arrived: datetime) -> bool:
    now = week.step_time(index)
    plan = make_plan(
        PlanRequest(
            now=now,
            departure=_settings().next_departure(now, ZONE),
            soc=soc,
            target_soc=TARGET_SOC,
            battery_kwh=BATTERY_KWH,
            power_kw=POWER_KW,
            prices=week.known_prices(now),
            pv=[period for period in week.forecast if period.end > now],
            efficiency=EFFICIENCY,
            min_power_kw=MIN_PV_KW,
        )
    )
    return plan.grid_at(now)


STRATEGIES: dict[str, tuple[str, Decide, bool]] = {
    "plug_in": ("charge at plug-in", _plug_in, False),
    "pv_night": ("PV only, top-up at night", _pv_night, True),
    "plan": ("Tesla Wallbox plan mode", _plan, True),
}


def simulate(week: Week, key: str) -> Result:
    """One strategy through the week."""
    name, decide, uses_pv = STRATEGIES[key]
    result = Result(name)
    soc, home, back_at = START_SOC, True, None
    arrival_soc = soc
    arrived = week.step_time(0)
    # The week, and on to the next departure: every strategy ends with the car at the target.
    steps = (week.days + 1) * 96
    for index in range(steps):
        if index >= week.days * 96 and not home:
            break
        now = week.step_time(index)
        trip = TRIPS[now.weekday()]
        if home and now.time() == trip.leave:
            reachable = _reachable(arrived, now, arrival_soc)
            result.departures.append(
                {
                    "time": now.isoformat(),
                    "soc": round(soc, 1),
                    "met": soc >= TARGET_SOC - 0.5,
                    "reachable": reachable,
                }
            )
            home, back_at = False, now + timedelta(hours=trip.hours)
            soc -= trip.kwh / BATTERY_KWH * 100
            continue
        if not home:
            if back_at is not None and now >= back_at:
                home, arrived, arrival_soc = True, now, soc
            else:
                continue
        room_kwh = max(0.0, (TARGET_SOC - soc) / 100 * BATTERY_KWH) / EFFICIENCY
        surplus = max(0.0, week.pv_kw[index] - week.house_kw[index])
        car_kw = 0.0
        if room_kwh > 0 and decide(week, index, soc, arrived):
            car_kw = min(POWER_KW, room_kwh / STEP_H)
        elif room_kwh > 0 and uses_pv and surplus >= MIN_PV_KW:
            car_kw = min(surplus, POWER_KW, room_kwh / STEP_H)
        if car_kw <= 0:
            continue
        from_pv = min(car_kw, surplus)
        from_grid = car_kw - from_pv
        result.pv_kwh += from_pv * STEP_H
        result.grid_kwh += from_grid * STEP_H
        result.cost_eur += from_grid * STEP_H * week.price(index)
        soc += car_kw * STEP_H * EFFICIENCY / BATTERY_KWH * 100
    return result


def _reachable(arrived: datetime, leave: datetime, arrival_soc: float) -> bool:
    """Whether full power from the arrival on could have met the target."""
    hours = (leave - arrived).total_seconds() / 3600
    needed = max(0.0, TARGET_SOC - arrival_soc) / 100 * BATTERY_KWH
    return hours * POWER_KW * EFFICIENCY >= needed - 1e-9


def run_week(days: int = 7) -> dict[str, Any]:
    """All three strategies through the same week; their results and the targets."""
    week = build_week(days + 1)
    week = Week(days, week.prices, week.pv_kw, week.house_kw, week.forecast)
    runs = {key: simulate(week, key).as_dict() for key in STRATEGIES}
    plug_in, plan = runs["plug_in"], runs["plan"]
    saving = 1 - plan["cost_eur"] / plug_in["cost_eur"] if plug_in["cost_eur"] else 0.0
    return {
        "days": days,
        "fee_eur_per_kwh": FEE,
        "battery_kwh": BATTERY_KWH,
        "power_kw": POWER_KW,
        "target_soc": TARGET_SOC,
        "runs": runs,
        "targets": {
            "reachable_departures_met": {
                "target": "all",
                "value": f"{plan['reachable_met']} of {plan['reachable']}",
                "met": plan["reachable_met"] == plan["reachable"],
            },
            "saving_vs_plug_in": {
                "target": f">= {TARGET_SAVING:.0%}",
                "value": f"{saving:.1%}",
                "met": saving >= TARGET_SAVING - 1e-9,
            },
        },
    }


def plan_table(result: dict[str, Any]) -> str:
    """One row per strategy, then the targets."""
    lines = [
        "| Strategy | energy cost (EUR) | from the grid (kWh) | from PV (kWh) | departures met |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in result["runs"].values():
        lines.append(
            f"| {run['name']} | {run['cost_eur']:.2f} | {run['grid_kwh']:.1f} "
            f"| {run['pv_kwh']:.1f} | {run['met']} of {run['departures']} "
            f"({run['met_share'] * 100:.0f} %) |"
        )
    lines += ["", "| Target | Measured | Met |", "|---|---:|:---:|"]
    labels = {
        "reachable_departures_met": "every reachable departure met",
        "saving_vs_plug_in": "energy cost below charge at plug-in",
    }
    for key, target in result["targets"].items():
        lines.append(
            f"| {labels[key]} ({target['target']}) | {target['value']} "
            f"| {'yes' if target['met'] else 'no'} |"
        )
    return "\n".join(lines)
