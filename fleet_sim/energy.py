"""The demo household's power meter: PV, house load and the cars charging at home, on the sim clock.

`GET /sim/energy` answers what a grid meter would read now: a clear day's PV production
(`pv.clear_day`), a family home's consumption (`pv.house_load`) and the charging power of the
simulated cars at home, combined by `pv.grid_power` (positive import, negative export). The demo
polls it with a Home Assistant `rest` sensor that feeds the PV surplus controller.

The time of day comes from the simulator's clock in a time zone, shifted by an offset, so that
the demo can show a sunny late morning whenever it is started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
import math
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .pv import DAY_S, Trace, clear_day, grid_power, house_load
from .vehicle import SimVehicle

DEFAULT_PEAK_W: Final = 9_000.0
DEFAULT_SEED: Final = 1
# A car counts as "at home" within this distance of the meter's position.
DEFAULT_RADIUS_M: Final = 200.0
EARTH_RADIUS_M: Final = 6_371_000.0
MAX_PEAK_W: Final = 100_000.0
UTC_ZONE: Final = ZoneInfo("UTC")


class EnergyQueryError(ValueError):
    """A query parameter of /sim/energy is missing its partner, malformed or out of range."""


@dataclass(frozen=True, slots=True)
class EnergyQuery:
    """What the meter is asked for: where home is, its clock, and the size of its PV array."""

    time_zone: ZoneInfo = UTC_ZONE
    offset_s: float = 0.0
    home: tuple[float, float] | None = None
    radius_m: float = DEFAULT_RADIUS_M
    peak_w: float = DEFAULT_PEAK_W
    seed: int = DEFAULT_SEED

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> EnergyQuery:
        """Read the query string; raise EnergyQueryError for anything it cannot use."""
        known = {"time_zone", "offset", "latitude", "longitude", "radius", "peak_w", "seed"}
        unknown = set(params) - known
        if unknown:
            raise EnergyQueryError(f"unknown parameters: {', '.join(sorted(unknown))}")
        zone_name = params.get("time_zone", "UTC")
        try:
            time_zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise EnergyQueryError(f"unknown time_zone {zone_name!r}") from None
        home: tuple[float, float] | None = None
        if ("latitude" in params) != ("longitude" in params):
            raise EnergyQueryError("latitude and longitude go together")
        if "latitude" in params:
            latitude = _number(params, "latitude", -90.0, 90.0)
            longitude = _number(params, "longitude", -180.0, 180.0)
            home = (latitude, longitude)
        seed = _number(params, "seed", 0, 2**31, DEFAULT_SEED)
        if not seed.is_integer():
            raise EnergyQueryError("seed must be an integer")
        return cls(
            time_zone=time_zone,
            offset_s=_number(params, "offset", -DAY_S, DAY_S, 0.0),
            home=home,
            radius_m=_number(params, "radius", 0.0, EARTH_RADIUS_M, DEFAULT_RADIUS_M),
            peak_w=_number(params, "peak_w", 0.0, MAX_PEAK_W, DEFAULT_PEAK_W),
            seed=int(seed),
        )


def _number(
    params: Mapping[str, str],
    name: str,
    low: float,
    high: float,
    default: float | None = None,
) -> float:
    text = params.get(name)
    if text is None:
        assert default is not None  # only latitude/longitude have none, and they are checked
        return default
    try:
        value = float(text)
    except ValueError:
        raise EnergyQueryError(f"{name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise EnergyQueryError(f"{name} must be between {low:g} and {high:g}")
    return value


@dataclass(frozen=True, slots=True)
class EnergyReading:
    """The meter's reading at one moment, all powers in W (grid: positive import)."""

    time: float
    time_of_day_s: float
    pv_w: float
    house_w: float
    car_w: float
    grid_w: float
    cars_at_home: int

    def as_json(self) -> dict[str, Any]:
        """The reading for the admin API, powers to 0.1 W."""
        minutes = int(self.time_of_day_s // 60)
        return {
            "time": self.time,
            "time_of_day": f"{minutes // 60:02d}:{minutes % 60:02d}",
            "pv_w": round(self.pv_w, 1),
            "house_w": round(self.house_w, 1),
            "car_w": round(self.car_w, 1),
            "grid_w": round(self.grid_w, 1),
            "cars_at_home": self.cars_at_home,
        }


@dataclass(frozen=True, slots=True)
class Household:
    """One day of PV production and house load, repeated every day."""

    pv: Trace
    house: Trace


@lru_cache(maxsize=8)
def household(peak_w: float = DEFAULT_PEAK_W, seed: int = DEFAULT_SEED) -> Household:
    """The day's traces for a PV array of peak_w (built once per size and seed)."""
    return Household(pv=clear_day(peak_w=peak_w), house=house_load(seed=seed))


def time_of_day(epoch: float, time_zone: ZoneInfo) -> float:
    """Seconds since local midnight at the epoch time ``epoch`` in ``time_zone``."""
    local = datetime.fromtimestamp(epoch, UTC).astimezone(time_zone)
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points in metres."""
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def cars_at_home(
    vehicles: Iterable[SimVehicle], home: tuple[float, float] | None, radius_m: float
) -> list[SimVehicle]:
    """The cars behind the meter: all of them without a home, else those within radius_m."""
    if home is None:
        return list(vehicles)
    return [v for v in vehicles if distance_m(home, (v.latitude, v.longitude)) <= radius_m]


def reading(now: float, vehicles: Iterable[SimVehicle], query: EnergyQuery) -> EnergyReading:
    """What the meter reads at sim time ``now``."""
    day = household(query.peak_w, query.seed)
    seconds = time_of_day(now + query.offset_s, query.time_zone)
    home_cars = cars_at_home(vehicles, query.home, query.radius_m)
    pv_w, house_w = day.pv.at(seconds), day.house.at(seconds)
    car_w = sum(vehicle.charge_power_w for vehicle in home_cars)
    return EnergyReading(
        time=now,
        time_of_day_s=seconds,
        pv_w=pv_w,
        house_w=house_w,
        car_w=car_w,
        grid_w=grid_power(pv_w, house_w, car_w),
        cars_at_home=len(home_cars),
    )
