"""The battery level between two reads, projected from the car's time-to-full."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.tesla_wallbox.projection import LevelProjection

from .common import charge


def test_level_projection_from_the_cars_time_to_full() -> None:
    data = charge(
        charging_state="Charging",
        battery_level=30,
        charge_limit_soc=50,
        minutes_to_full_charge=100,
        charger_actual_current=16,
    )
    projection = LevelProjection.from_charge(data, 1000.0)
    assert projection is not None
    assert projection.time_of(40) == pytest.approx(1000 + 50 * 60)
    assert projection.time_of(30) == 1000.0
    assert projection.level_at(1000 + 50 * 60) == pytest.approx(40)
    assert projection.level_at(500.0) == 30  # never before the read
    # Under a minute to go, the car says 0 minutes: one minute is assumed.
    almost = replace(data, battery_level=49, minutes_to_full_charge=0)
    assert LevelProjection.from_charge(almost, 0.0) == LevelProjection(0.0, 49.0, 16.0, 960.0)


@pytest.mark.parametrize(
    "fields",
    [
        {"charging_state": "Stopped"},  # not charging
        {"charger_actual_current": 0},  # Starting: no current yet
        {"minutes_to_full_charge": 0},  # no estimate yet, far from the limit
        {"minutes_to_full_charge": None},
        {"battery_level": 50},  # at the limit
        {"charge_limit_soc": None},
    ],
)
def test_level_projection_needs_an_estimate(fields: dict[str, object]) -> None:
    data = charge(
        **{
            "charging_state": "Charging",
            "battery_level": 30,
            "charge_limit_soc": 50,
            "minutes_to_full_charge": 100,
            "charger_actual_current": 16,
            **fields,
        }
    )
    assert LevelProjection.from_charge(data, 1000.0) is None


def test_level_projection_follows_a_new_current() -> None:
    # 16 A: 10 % in 3000 s. After 1500 s (35 %) the current halves: the rest takes twice as long.
    projection = LevelProjection(at=0.0, level=30.0, amps=16.0, amp_seconds_per_percent=4800.0)
    slower = projection.with_amps(1500.0, 8.0)
    assert slower.level == pytest.approx(35.0)
    assert slower.time_of(40) == pytest.approx(1500 + 3000)
    assert projection.time_of(40) == pytest.approx(3000)
    stopped = slower.with_amps(2000.0, 0.0)
    assert stopped.time_of(40) is None
    assert stopped.time_of(30) == 2000.0  # already above it
    assert slower.with_amps(2000.0, -3.0).amps == 0.0
