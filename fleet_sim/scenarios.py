"""Ready-made fleets for the command line and the demo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .vehicle import ASLEEP, VehicleConfig

DEFAULT_LATITUDE: Final = 52.52
DEFAULT_LONGITUDE: Final = 13.405
# About 20 km north: one degree of latitude is about 111 km.
DEMO_AWAY_DEGREES: Final = 0.18


def default_scenario(count: int, latitude: float, longitude: float) -> list[VehicleConfig]:
    """``count`` unplugged, online cars at 50 % parked at (latitude, longitude)."""
    return [VehicleConfig(latitude=latitude, longitude=longitude) for _ in range(count)]


def demo_scenario(count: int, latitude: float, longitude: float) -> list[VehicleConfig]:
    """Car 1 at home, plugged in at 40 % with limit 80, not charging yet (Stopped), waiting
    for someone to start it; car 2 about 20 km away, asleep. Further cars are default ones."""
    home = VehicleConfig(
        display_name="Demo Home Car",
        latitude=latitude,
        longitude=longitude,
        plugged_in=True,
        battery_level=40.0,
        charge_limit_soc=80,
        auto_start_on_plug=False,
    )
    away = VehicleConfig(
        display_name="Demo Away Car",
        latitude=latitude + DEMO_AWAY_DEGREES,
        longitude=longitude,
        state=ASLEEP,
        battery_level=65.0,
    )
    return [home, away, *default_scenario(max(count - 2, 0), latitude, longitude)]


SCENARIOS: Final[dict[str, Callable[[int, float, float], list[VehicleConfig]]]] = {
    "default": default_scenario,
    "demo": demo_scenario,
}
