"""Shapes real cars answer with (recorded in tests/fixtures/vehicle_data), through the library:
a DC fast charge, cached data of a car that is not online, a token without the location scope,
and the one-or-three-phase supply of a Tesla's on-board charger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import VehicleOffline
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import FastCharger, SimClock, Simulator, SimVehicle, VehicleConfig
from fleet_sim.vehicle import START_DELAY

from .const import START, TOKEN
from .test_admin import admin


async def charge_state(car: VehicleFleet[TeslaFleetApi]) -> dict[str, Any]:
    data = await car.vehicle_data(["charge_state"])
    section: dict[str, Any] = data["response"]["charge_state"]
    return section


async def test_a_dc_fast_charge_reads_like_a_supercharger(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    """As recorded (TeslaLib's "While SuperCharging", TeslaPy's CCS example): fast_charger_present
    and its type, the DC voltage, no AC current, no phases, whole kW; energy added as usual."""
    vehicle = sim.vehicle(1)
    vehicle.move(47.0, 8.6)  # a Supercharger: away from home
    vehicle.plug_in_dc(FastCharger(power_kw=120.0, voltage=377.0, charger_type="Supercharger"))
    sim.advance(START_DELAY)
    sim.advance(600)
    state = await charge_state(car)
    assert state["charging_state"] == "Charging"
    assert state["fast_charger_present"] is True
    assert (state["fast_charger_type"], state["fast_charger_brand"]) == ("Supercharger", "Tesla")
    assert state["charger_voltage"] == 377
    assert (state["charger_actual_current"], state["charger_pilot_current"]) == (0, 0)
    assert state["charger_phases"] is None
    assert state["charger_power"] == 120
    assert state["charge_energy_added"] == pytest.approx(20.0, abs=0.01)  # 120 kW, 10 minutes
    assert vehicle.fast_charger == FastCharger(120.0, 377.0, "Supercharger")
    # The AC settings stay for the next charge at home.
    assert (state["charge_current_request"], state["charge_current_request_max"]) == (16, 16)
    vehicle.unplug()
    state = await charge_state(car)
    assert state["fast_charger_present"] is False
    assert state["charging_state"] == "Disconnected"
    assert vehicle.fast_charger is None
    vehicle.plug_in()
    sim.advance(START_DELAY)
    state = await charge_state(car)
    assert (state["fast_charger_present"], state["charger_phases"]) == (False, 2)
    assert state["charge_energy_added"] == 0


async def test_a_dc_charge_stops_at_the_limit(sim: Simulator) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in_dc()
    # 30 % of 75 kWh at the default 150 kW: 540 s after the start delay.
    sim.advance(START_DELAY + 541)
    assert vehicle.charging_state == "Complete"
    assert vehicle.charge_power_w == 0
    assert vehicle.charge_state()["charger_voltage"] == 2
    with pytest.raises(ValueError, match="positive"):
        vehicle.plug_in_dc(FastCharger(power_kw=0))


@pytest.fixture
async def cached_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A car whose vehicle_data answers with cached data while it is not online."""
    clock = SimClock(start=START, speed=0)
    configs = [VehicleConfig(cached_data=True, plugged_in=True, auto_start_on_plug=False)]
    async with Simulator(clock=clock, vehicles=configs, token=TOKEN) as simulator:
        yield simulator


async def test_cached_data_of_a_car_that_is_not_online(
    cached_sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """Tesla's vehicle_data docs: it "may return cached data if the vehicle is offline" (a 2023
    report: teslamotors/vehicle-command#10). The answer carries the car's state now and the
    sections of its last online answer; it does not keep the car awake."""
    api = TeslaFleetApi(session, access_token=TOKEN, server=cached_sim.url)
    vehicle = cached_sim.vehicle(1)
    car = VehicleFleet(api, vehicle.vin)
    live = (await car.vehicle_data(["charge_state", "location_data"]))["response"]
    assert live["state"] == "online"
    cached_sim.advance(600)
    vehicle.fall_asleep()
    cached = (await car.vehicle_data(["charge_state", "location_data"]))["response"]
    assert cached["state"] == "asleep"
    assert cached["charge_state"] == live["charge_state"]
    assert cached["drive_state"] == live["drive_state"]
    assert cached["charge_state"]["timestamp"] < cached_sim.now() * 1000
    vehicle.go_offline()
    cached = (await car.vehicle_data(["charge_state"]))["response"]
    assert (cached["state"], "drive_state" in cached) == ("offline", False)
    assert vehicle.state == "offline"
    assert cached_sim.ledger.count("data") == 3  # answered, so billed like any answer


async def test_no_cached_data_before_a_first_online_answer(socket_enabled: None) -> None:
    clock = SimClock(start=START, speed=0)
    configs = [VehicleConfig(cached_data=True, state="asleep")]
    async with (
        Simulator(clock=clock, vehicles=configs, token=TOKEN) as simulator,
        aiohttp.ClientSession() as session,
    ):
        api = TeslaFleetApi(session, access_token=TOKEN, server=simulator.url)
        with pytest.raises(VehicleOffline):
            await VehicleFleet(api, simulator.vehicle(1).vin).vehicle_data(["charge_state"])


async def test_without_the_location_scope_there_is_no_drive_state(
    socket_enabled: None,
) -> None:
    """Reported on the Fleet API (teslamotors/fleet-telemetry#460): without the vehicle_location
    scope vehicle_data leaves drive_state out, location_data or not."""
    clock = SimClock(start=START, speed=0)
    async with (
        Simulator(
            clock=clock, vehicles=[VehicleConfig(location_scope=False)], token=TOKEN
        ) as simulator,
        aiohttp.ClientSession() as session,
    ):
        api = TeslaFleetApi(session, access_token=TOKEN, server=simulator.url)
        car = VehicleFleet(api, simulator.vehicle(1).vin)
        data = (await car.vehicle_data(["charge_state", "drive_state", "location_data"]))[
            "response"
        ]
        assert "drive_state" not in data
        assert data["charge_state"]["charging_state"] == "Disconnected"


def test_a_tesla_takes_one_phase_or_three() -> None:
    clock = SimClock(start=START, speed=0)
    with pytest.raises(ValueError, match="1 or 3"):
        SimVehicle(VehicleConfig(supply_phases=2), clock=clock)
    vehicle = SimVehicle(VehicleConfig(), clock=clock)
    with pytest.raises(ValueError, match="1 or 3"):
        vehicle.set_wall_charger(16, supply_phases=2)


async def test_plug_in_dc_over_http(sim: Simulator, session: aiohttp.ClientSession) -> None:
    body = {"power_kw": 50, "voltage": 400, "charger_type": "CHAdeMO"}
    await admin(session, sim, "POST", "/sim/vehicles/1/plug_in_dc", body)
    snapshot = sim.vehicle(1).snapshot()
    assert snapshot["fast_charger"] == {
        "power_kw": 50.0,
        "voltage": 400.0,
        "charger_type": "CHAdeMO",
        "brand": "Tesla",
    }
    assert snapshot["charging_state"] == "Starting"
    for bad in ({"power_kw": -1}, {"voltage": "high"}, {"charger_type": 3}):
        await admin(session, sim, "POST", "/sim/vehicles/1/unplug")
        before = sim.vehicle(1).snapshot()
        await admin(session, sim, "POST", "/sim/vehicles/1/plug_in_dc", bad, status=400)
        assert sim.vehicle(1).snapshot() == before
