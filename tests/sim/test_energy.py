"""The demo's grid meter: GET /sim/energy and the model behind it (fleet_sim.energy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from fleet_sim import SimClock, Simulator, VehicleConfig
from fleet_sim.energy import (
    EnergyQuery,
    EnergyQueryError,
    cars_at_home,
    distance_m,
    household,
    reading,
    time_of_day,
)
from fleet_sim.pv import HOUR_S, clear_day, grid_power, house_load

BERLIN = ZoneInfo("Europe/Berlin")
HOME = (52.52, 13.405)
# 2025-06-15 10:00 in Berlin (CEST, UTC+2): a sunny summer morning.
MORNING = datetime(2025, 6, 15, 10, 0, tzinfo=BERLIN).timestamp()


async def get_energy(
    session: aiohttp.ClientSession, sim: Simulator, query: str = "", *, status: int = 200
) -> Any:
    async with session.get(f"{sim.url}/sim/energy{query}") as response:
        assert response.status == status, await response.text()
        return await response.json()


def test_time_of_day_follows_the_zone_and_daylight_saving() -> None:
    assert time_of_day(MORNING, BERLIN) == 10 * HOUR_S
    assert time_of_day(MORNING, ZoneInfo("UTC")) == 8 * HOUR_S
    winter = datetime(2025, 1, 15, 10, 0, 30, tzinfo=BERLIN).timestamp()
    assert time_of_day(winter, ZoneInfo("UTC")) == 9 * HOUR_S + 30


def test_distance_is_great_circle_metres() -> None:
    assert distance_m(HOME, HOME) == 0.0
    # One degree of latitude is about 111.2 km everywhere.
    assert distance_m((52.0, 13.0), (53.0, 13.0)) == pytest.approx(111_195, rel=1e-3)
    # Antipodes: half the circumference, without a math domain error from rounding.
    assert distance_m((0.0, 0.0), (0.0, 180.0)) == pytest.approx(20_015_087, rel=1e-3)


def test_household_traces_are_built_once_per_size_and_seed() -> None:
    assert household(9_000.0, 1) is household(9_000.0, 1)
    small = household(4_500.0, 1)
    assert small.pv.peak() == pytest.approx(household(9_000.0, 1).pv.peak() / 2)
    assert small.house == house_load(seed=1)
    assert household(9_000.0, 2).house != small.house


def test_reading_combines_pv_house_and_only_the_cars_at_home() -> None:
    sim = Simulator(
        clock=SimClock(start=MORNING, speed=0),
        vehicles=[
            VehicleConfig(latitude=HOME[0], longitude=HOME[1]),
            VehicleConfig(latitude=HOME[0] + 0.18, longitude=HOME[1]),
        ],
    )
    home_car, away_car = sim.vehicle(1), sim.vehicle(2)
    home_car.plug_in()
    away_car.plug_in()
    sim.advance(60)  # both are past Starting and charge at 11.04 kW
    query = EnergyQuery(time_zone=BERLIN, home=HOME)
    meter = reading(sim.now(), sim.vehicles.values(), query)
    at = 10 * HOUR_S + 60
    assert meter.time_of_day_s == at
    assert meter.pv_w == pytest.approx(clear_day().at(at))
    assert meter.house_w == pytest.approx(house_load().at(at))
    assert meter.car_w == pytest.approx(11_040.0)
    assert meter.cars_at_home == 1
    assert meter.grid_w == pytest.approx(grid_power(meter.pv_w, meter.house_w, 11_040.0))
    # Without a home position every car is behind the meter.
    everyone = reading(sim.now(), sim.vehicles.values(), EnergyQuery(time_zone=BERLIN))
    assert everyone.car_w == pytest.approx(22_080.0)
    assert cars_at_home(sim.vehicles.values(), HOME, radius_m=50_000.0) == [home_car, away_car]


def test_offset_moves_the_meter_to_another_time_of_day() -> None:
    sim = Simulator(clock=SimClock(start=MORNING, speed=0), vehicles=0)
    night = reading(sim.now(), [], EnergyQuery(time_zone=BERLIN, offset_s=-8 * HOUR_S))
    assert night.time_of_day_s == 2 * HOUR_S
    assert night.pv_w == 0.0
    assert night.grid_w == pytest.approx(night.house_w)
    assert night.as_json()["time_of_day"] == "02:00"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"color": "red"}, "unknown parameters: color"),
        ({"time_zone": "Mars/Olympus"}, "unknown time_zone"),
        ({"time_zone": "../etc"}, "unknown time_zone"),
        ({"latitude": "52"}, "go together"),
        ({"longitude": "13"}, "go together"),
        ({"latitude": "north", "longitude": "13"}, "latitude must be a number"),
        ({"latitude": "91", "longitude": "13"}, "latitude must be between -90 and 90"),
        ({"offset": "nan"}, "offset must be between"),
        ({"offset": "100000"}, "offset must be between"),
        ({"radius": "-1"}, "radius must be between"),
        ({"peak_w": "1e9"}, "peak_w must be between"),
        ({"seed": "1.5"}, "seed must be an integer"),
    ],
)
def test_query_rejects_what_it_cannot_use(params: dict[str, str], message: str) -> None:
    with pytest.raises(EnergyQueryError, match=message):
        EnergyQuery.parse(params)


def test_query_defaults_and_full_parse() -> None:
    assert EnergyQuery.parse({}) == EnergyQuery()
    query = EnergyQuery.parse(
        {
            "time_zone": "Europe/Berlin",
            "offset": "-3600",
            "latitude": "52.52",
            "longitude": "13.405",
            "radius": "500",
            "peak_w": "6000",
            "seed": "3",
        }
    )
    assert query == EnergyQuery(
        time_zone=BERLIN, offset_s=-3600.0, home=HOME, radius_m=500.0, peak_w=6000.0, seed=3
    )


async def test_energy_route_reads_the_meter_at_the_sim_clock(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    clock = SimClock(start=MORNING, speed=0)
    configs = [VehicleConfig(latitude=HOME[0], longitude=HOME[1], plugged_in=True)]
    async with Simulator(clock=clock, vehicles=configs) as sim:
        home = "time_zone=Europe/Berlin&latitude=52.52&longitude=13.405"
        before = await get_energy(session, sim, f"?{home}")
        assert before["time_of_day"] == "10:00"
        assert before["time"] == MORNING
        assert before["car_w"] == 0.0
        assert before["cars_at_home"] == 1
        assert before["grid_w"] == pytest.approx(before["house_w"] - before["pv_w"], abs=0.11)
        assert before["grid_w"] < -3_000  # a sunny morning exports

        async with session.post(f"{sim.url}/sim/vehicles/1/plug_in") as response:
            assert response.status == 200
        sim.advance(30 * 60)
        after = await get_energy(session, sim, f"?{home}&offset=3600")
        assert after["time_of_day"] == "11:30"
        assert after["car_w"] == pytest.approx(11_040.0)
        assert after["grid_w"] == pytest.approx(
            after["house_w"] + after["car_w"] - after["pv_w"], abs=0.21
        )

        error = await get_energy(session, sim, "?time_zone=Nowhere", status=400)
        assert error == {"error": "unknown time_zone 'Nowhere'"}
