"""The simulated day every policy is measured on: one car, one household, one outside client.

Pure and deterministic (no Home Assistant): the integration's run (bench/day_test.py) and the
baselines (bench/baselines.py) take their times, car and household from here, so all of them see
exactly the same day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fleet_sim import VehicleConfig
from fleet_sim.pv import HOUR_S, Trace, clear_day, house_load
from fleet_sim.vehicle import SimVehicle

TOKEN: Final = "bench-fleet-token"
# Home Assistant's test instance lives here (pytest-homeassistant-custom-component), zone.home too.
HOME: Final = (32.87336, -117.22743)
# A fixed summer day; the traces depend only on the time of day.
DAY_DATE: Final = "2026-06-21"
DAY_S: Final = 24 * HOUR_S
# The run starts the evening before, so that the integration has read the car once (as it would
# have on any earlier day) and the client sees data from the first second of the day.
WARMUP_S: Final = 2 * HOUR_S
CLIENT_PERIOD_S: Final = 10.0
SLEEP_AFTER_S: Final = 900.0
WAKE_DELAY_S: Final = 20.0


@dataclass(frozen=True, slots=True)
class DayPlan:
    """When things happen, in seconds after midnight of the measured day."""

    online_at: float = 7 * HOUR_S  # the car wakes by itself (the owner opens the app)
    plug_at: float = 9 * HOUR_S  # plugged in at home (this wakes it)
    pv_from: float = 9 * HOUR_S  # charge mode pv
    pv_until: float = 17 * HOUR_S  # charge mode back to manual
    unplug_at: float = 18 * HOUR_S
    start_soc: float = 30.0
    target_soc: int = 80


PLAN: Final = DayPlan()


def vehicle_config() -> VehicleConfig:
    """The car at the start of the warm-up: at home, unplugged, online, 30 %, limit 80 %.

    auto_start_on_plug is off, as in a PV set-up where the car must not start charging from the
    grid by itself the moment it is plugged in (the project's PV tests use the same).
    """
    return VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        battery_level=PLAN.start_soc,
        charge_limit_soc=PLAN.target_soc,
        plugged_in=False,
        auto_start_on_plug=False,
    )


def asleep_at_midnight(car: SimVehicle) -> bool:
    """The scenario's car sleeps overnight; returns whether it had to be put to sleep.

    A policy that kept the car awake through the warm-up evening (the baselines read it too often
    for it to fall asleep) still starts the measured day with a sleeping car. That favours such a
    policy: without it the car would be awake and billed all night.
    """
    if car.state == "asleep":
        return False
    car.fall_asleep()
    return True


@dataclass(frozen=True, slots=True)
class Household:
    """A clear summer day on a 9 kW (AC peak) roof and a family home's load, in 10 s samples."""

    pv: Trace
    house: Trace

    @classmethod
    def clear(cls) -> Household:
        """The clear-day trace and the default house load (seed 1)."""
        return cls(pv=clear_day(), house=house_load())

    def grid_w(self, t_of_day: float, car_w: float) -> float:
        """The grid meter (positive import) at a time of day with the car drawing car_w."""
        return self.house.at(t_of_day) + car_w - self.pv.at(t_of_day)

    def surplus_w(self, t_of_day: float) -> float:
        """PV production the house does not use: what the car could take without the grid."""
        return max(0.0, self.pv.at(t_of_day) - self.house.at(t_of_day))


@dataclass(slots=True)
class EnergySplit:
    """The car's charged energy split into what PV surplus covered and what came from the grid."""

    pv_kwh: float = 0.0
    grid_kwh: float = 0.0

    def add(self, charged_kwh: float, surplus_w: float, seconds: float) -> None:
        """Book one step: the surplus covers the charge up to its own energy in that step."""
        from_pv = min(charged_kwh, surplus_w * seconds / HOUR_S / 1000.0)
        self.pv_kwh += from_pv
        self.grid_kwh += charged_kwh - from_pv

    @property
    def total_kwh(self) -> float:
        """All of it."""
        return self.pv_kwh + self.grid_kwh
