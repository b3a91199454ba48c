"""Falling asleep after the quiet time, and the recorded state timeline."""

from __future__ import annotations

import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import Simulator
from fleet_sim.vehicle import START_DELAY

from .const import START


async def test_falls_asleep_after_quiet_time(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.advance(899)
    assert (await car.vehicle())["response"]["state"] == "online"
    # Reading the vehicle object neither wakes the car nor resets the timer.
    sim.advance(1)
    assert (await car.vehicle())["response"]["state"] == "asleep"
    assert sim.vehicle(1).timeline == [(START, "online"), (START + 900, "asleep")]


@pytest.mark.parametrize("activity", ["vehicle_data", "command", "wake_up"])
async def test_activity_resets_sleep_timer(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi], activity: str
) -> None:
    sim.advance(600)
    if activity == "vehicle_data":
        await car.vehicle_data(["charge_state"])
    elif activity == "command":
        await car.set_charging_amps(10)
    else:
        await car.wake_up()
    sim.advance(899)
    assert sim.vehicle(1).state == "online"
    sim.advance(1)
    assert sim.vehicle(1).state == "asleep"


async def test_no_sleep_while_charging_then_sleep_after_complete(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.set_battery_level(79)
    vehicle.plug_in()
    # 1 % of 75 kWh = 0.75 kWh at 11.04 kW: 244.565 s after the start delay.
    charge_seconds = 0.75 / 11.04 * 3600
    sim.advance(START_DELAY + charge_seconds + 899)
    assert vehicle.charging_state == "Complete"
    assert vehicle.state == "online"
    sim.advance(1)
    assert vehicle.state == "asleep"
    asleep_since = vehicle.timeline[-1][0]
    assert asleep_since == pytest.approx(START + START_DELAY + charge_seconds + 900)


async def test_long_charge_keeps_car_awake(sim: Simulator) -> None:
    vehicle = sim.vehicle(1)
    vehicle.set_battery_level(10)
    vehicle.plug_in()
    sim.advance(4 * 3600)
    assert vehicle.state == "online"
    assert vehicle.charging_state == "Charging"
    assert vehicle.asleep_seconds() == 0


async def test_plug_in_wakes_sleeping_car(sim: Simulator) -> None:
    vehicle = sim.vehicle(1)
    sim.advance(1000)
    assert vehicle.state == "asleep"
    vehicle.plug_in()
    assert vehicle.state == "online"
    assert vehicle.charging_state == "Starting"
    vehicle.fall_asleep()
    assert vehicle.charging_state == "Stopped"
    vehicle.unplug()
    assert vehicle.state == "online"


async def test_asleep_seconds_from_timeline(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    sim.advance(900 + 3600)  # asleep at +900 for an hour
    await car.wake_up()
    sim.advance(20)  # online at +4520
    sim.advance(900 + 100)  # asleep again at +5420, 100 s so far
    assert vehicle.asleep_seconds() == pytest.approx(3600 + 20 + 100)
    assert vehicle.asleep_seconds(since=START + 5000) == pytest.approx(100)
    assert vehicle.asleep_seconds(until=START + 1900) == pytest.approx(1000)
    assert vehicle.asleep_seconds(since=START + 100, until=START + 800) == 0
    states = [state for _, state in vehicle.timeline]
    assert states == ["online", "asleep", "online", "asleep"]


async def test_offline_car_keeps_charging_out_of_reach(sim: Simulator) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in()
    vehicle.go_offline()
    sim.advance(START_DELAY + 3600)
    assert vehicle.state == "offline"
    assert vehicle.energy_added_kwh == pytest.approx(11.04)
