"""Charge physics and the charge_state fields, read through the library."""

from __future__ import annotations

from typing import Any

import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import Simulator, VehicleConfig
from fleet_sim.vehicle import START_DELAY

from .const import START


async def charge_state(car: VehicleFleet[TeslaFleetApi]) -> dict[str, Any]:
    """The charge_state section the car reports now."""
    data = await car.vehicle_data(["charge_state"])
    section: dict[str, Any] = data["response"]["charge_state"]
    return section


async def test_one_hour_at_16a_three_phase(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in()
    sim.advance(START_DELAY)
    assert (await charge_state(car))["charging_state"] == "Charging"
    sim.advance(3600)
    state = await charge_state(car)
    # 3 phases x 230 V x 16 A = 11.04 kW for one hour.
    assert state["charge_energy_added"] == pytest.approx(11.04, abs=0.005)
    assert vehicle.energy_added_kwh == pytest.approx(11.04)
    assert vehicle.battery_level == pytest.approx(50 + 11.04 / 75 * 100)
    assert state["battery_level"] == 64
    assert state["usable_battery_level"] == 64
    assert state["charger_power"] == 11
    assert state["charger_actual_current"] == 16
    assert state["charger_voltage"] == 230
    assert state["charger_phases"] == 2  # the real API's quirk on three phases
    assert state["conn_charge_cable"] == "IEC"
    assert state["charge_port_latch"] == "Engaged"
    assert state["fast_charger_present"] is False
    assert state["charge_miles_added_rated"] == pytest.approx(11.04 * 4, abs=0.1)
    # 80 % - 64.72 % of 75 kWh at 11.04 kW: 1.04 h.
    assert state["time_to_full_charge"] == pytest.approx(1.04, abs=0.01)
    assert state["minutes_to_full_charge"] == 62
    assert state["timestamp"] == int(sim.now() * 1000)


async def test_charge_stops_at_limit_with_complete(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in()
    # 30 % of 75 kWh = 22.5 kWh at 11.04 kW: 7336.96 s after the start delay.
    sim.advance(START_DELAY + 7336)
    assert vehicle.charging_state == "Charging"
    sim.advance(1)
    state = await charge_state(car)
    assert state["charging_state"] == "Complete"
    assert state["battery_level"] == 80
    assert vehicle.battery_level == 80.0
    assert state["charge_energy_added"] == 22.5
    assert state["charger_power"] == 0
    assert state["charger_actual_current"] == 0
    assert state["charger_phases"] is None
    assert state["charger_voltage"] == 2
    assert state["time_to_full_charge"] == 0
    completed_at = vehicle.charging_timeline[-1]
    assert completed_at[1] == "Complete"
    assert completed_at[0] == pytest.approx(START + START_DELAY + 22.5 / 11.04 * 3600)
    sim.advance(3600)
    assert vehicle.battery_level == 80.0


async def test_raising_limit_resumes_complete_but_not_stopped(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.set_battery_level(80)
    vehicle.plug_in()
    assert vehicle.charging_state == "Complete"
    await car.set_charge_limit(90)
    sim.advance(START_DELAY)
    assert (await charge_state(car))["charging_state"] == "Charging"

    await car.charge_stop()
    await car.set_charge_limit(95)
    sim.advance(60)
    assert (await charge_state(car))["charging_state"] == "Stopped"


async def test_single_phase_and_pilot_limit(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in(wall_max_amps=10, supply_phases=1, supply_voltage=240)
    sim.advance(START_DELAY)
    state = await charge_state(car)
    assert state["charger_phases"] == 1
    assert state["charger_actual_current"] == 10
    assert state["charger_pilot_current"] == 10
    assert state["charge_current_request"] == 10
    assert state["charger_voltage"] == 240
    assert state["charger_power"] == 2  # 2.4 kW rounds to 2
    assert vehicle.charge_power_w == 2400
    # The wall charger can change mid-charge; the car follows its pilot.
    vehicle.set_wall_charger(32, supply_phases=3, supply_voltage=230)
    await car.set_charging_amps(32)
    state = await charge_state(car)
    assert state["charger_actual_current"] == 32
    assert state["charger_phases"] == 2
    assert state["charger_power"] == 22
    vehicle.set_wall_charger(16)
    assert (await charge_state(car))["charge_current_request"] == 16
    assert vehicle.charge_power_w == 11040


async def test_lowering_the_wall_max_keeps_a_single_phase_supply(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in(wall_max_amps=32, supply_phases=1, supply_voltage=240)
    sim.advance(START_DELAY)
    vehicle.set_wall_charger(10)
    state = await charge_state(car)
    assert state["charge_current_request_max"] == 10
    assert state["charger_actual_current"] == 10
    assert state["charger_phases"] == 1
    assert state["charger_voltage"] == 240
    assert vehicle.charge_power_w == 2400  # 1 x 240 V x 10 A, not 3 x 230 V x 10 A
    assert vehicle.snapshot()["wall_charger"] == {
        "max_amps": 10,
        "supply_phases": 1,
        "supply_voltage": 240.0,
    }
    # Only the fields given change.
    vehicle.set_wall_charger(16, supply_voltage=230)
    assert vehicle.snapshot()["wall_charger"] == {
        "max_amps": 16,
        "supply_phases": 1,
        "supply_voltage": 230.0,
    }


async def test_plug_in_resets_session_energy_and_unplug_disconnects(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in()
    sim.advance(START_DELAY + 1800)
    first = vehicle.energy_added_kwh
    assert first == pytest.approx(5.52)
    vehicle.unplug()
    state = await charge_state(car)
    assert state["charging_state"] == "Disconnected"
    assert state["conn_charge_cable"] == "<invalid>"
    assert state["charge_port_latch"] == "Disengaged"
    assert state["charge_port_door_open"] is False
    assert state["charger_voltage"] == 0
    assert state["charger_pilot_current"] == 0
    assert state["charge_energy_added"] == pytest.approx(5.52)  # kept until the next plug-in
    vehicle.plug_in()
    assert (await charge_state(car))["charge_energy_added"] == 0
    sim.advance(START_DELAY + 1800)
    assert vehicle.energy_added_kwh == pytest.approx(5.52)
    assert vehicle.energy_total_kwh == pytest.approx(11.04)


async def test_plugging_in_while_plugged_starts_a_new_session(sim: Simulator) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in()
    sim.advance(START_DELAY + 600)
    vehicle.plug_in()
    assert vehicle.energy_added_kwh == 0
    assert vehicle.charging_state == "Starting"
    assert [s for _, s in vehicle.charging_timeline] == [
        "Disconnected",
        "Starting",
        "Charging",
        "Disconnected",
        "Starting",
    ]


async def test_power_loss_goes_to_no_power_and_recovers(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    vehicle.plug_in()
    sim.advance(START_DELAY + 60)
    vehicle.set_power_available(False)
    level = vehicle.battery_level
    sim.advance(600)
    state = await charge_state(car)
    assert state["charging_state"] == "NoPower"
    assert state["charger_power"] == 0
    assert vehicle.battery_level == level
    assert vehicle.power_available is False
    # A start request while there is no power is accepted and waits for power.
    answer = await car.charge_start()
    assert answer["response"]["result"] is True
    assert vehicle.charging_state == "NoPower"
    vehicle.set_power_available(True)
    assert vehicle.charging_state == "Starting"
    sim.advance(START_DELAY)
    assert vehicle.charging_state == "Charging"
    vehicle.set_power_available(False)
    assert (await car.charge_stop())["response"]["result"] is True
    assert vehicle.charging_state == "Stopped"


async def test_plug_in_without_power_ends_in_no_power(sim: Simulator) -> None:
    vehicle = sim.vehicle(1)
    vehicle.set_power_available(False)
    vehicle.plug_in()
    sim.advance(START_DELAY)
    assert vehicle.charging_state == "NoPower"


async def test_auto_start_off_and_full_battery_on_plug(sim: Simulator) -> None:
    manual = sim.add_vehicle(VehicleConfig(auto_start_on_plug=False))
    manual.plug_in()
    assert manual.charging_state == "Stopped"
    full = sim.add_vehicle(VehicleConfig(battery_level=85))
    full.plug_in()
    assert full.charging_state == "Complete"


async def test_configured_as_plugged_in(sim: Simulator) -> None:
    charging = sim.add_vehicle(VehicleConfig(plugged_in=True, charge_current_request=8))
    assert charging.charging_state == "Starting"
    assert charging.charge_current_request == 8
    sleeping = sim.add_vehicle(VehicleConfig(plugged_in=True, state="asleep"))
    assert sleeping.charging_state == "Stopped"
    assert sleeping.charge_state()["conn_charge_cable"] == "IEC"


async def test_charge_port_colors_follow_state(sim: Simulator) -> None:
    vehicle = sim.vehicle(1)
    colors = [vehicle.charge_state()["charge_port_color"]]
    vehicle.plug_in()
    colors.append(vehicle.charge_state()["charge_port_color"])
    sim.advance(START_DELAY)
    vehicle.set_power_available(False)
    colors.append(vehicle.charge_state()["charge_port_color"])
    vehicle.set_battery_level(80)
    vehicle.set_power_available(True)
    sim.advance(START_DELAY)
    colors.append(vehicle.charge_state()["charge_port_color"])
    assert colors == ["Off", "FlashingGreen", "Red", "Green"]
