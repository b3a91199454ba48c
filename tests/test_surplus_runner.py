"""PV surplus charging in Home Assistant: the modes, the PV location, the soft target, restarts.

The grid sensor is a plain HA state the test sets every 10 s from a small plant: house load plus
the simulated car's real charging power minus the PV production. The car is the simulator's.
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_GRID_SENSOR,
    CONF_PV_ZONE,
)
from fleet_sim import Simulator

from .conftest import advance, entity_id
from .const import API_KEY, AWAY, GRID_SENSOR, PLUGGED_AT_HOME

PV_OPTIONS = {CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_GRID_SENSOR: GRID_SENSOR}
pytestmark = pytest.mark.parametrize("vehicle_configs", [[PLUGGED_AT_HOME]])


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The grid sensor is configured."""
    return PV_OPTIONS


def set_grid(hass: HomeAssistant, watts: float, unit: str = "W") -> None:
    hass.states.async_set(
        GRID_SENSOR, str(round(watts, 3)), {"unit_of_measurement": unit, "device_class": "power"}
    )


async def run_plant(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    seconds: float,
    *,
    pv_w: float,
    house_w: float = 400.0,
) -> None:
    """Let time pass with the grid sensor following PV, the house and the car's real draw."""
    for _ in range(int(seconds // 10)):
        set_grid(hass, house_w + sim.vehicle(1).charge_power_w - pv_w)
        await advance(hass, freezer, sim, 10, step=10)


async def set_mode(hass: HomeAssistant, sim: Simulator, mode: str) -> None:
    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {
            ATTR_ENTITY_ID: entity_id(hass, "select", sim.vehicle(1).vin, "charge_mode"),
            ATTR_OPTION: mode,
        },
        blocking=True,
    )


def pv_state(hass: HomeAssistant, sim: Simulator) -> tuple[str, dict[str, Any]]:
    state = hass.states.get(entity_id(hass, "sensor", sim.vehicle(1).vin, "pv_state"))
    assert state is not None
    return state.state, dict(state.attributes)


def commands(sim: Simulator) -> list[tuple[str, dict[str, object]]]:
    return [(record.name, record.body) for record in sim.vehicle(1).commands]


async def test_manual_mode_never_acts(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    select = entity_id(hass, "select", sim.vehicle(1).vin, "charge_mode")
    assert hass.states.get(select).state == "manual"
    await run_plant(hass, freezer, sim, 600, pv_w=8000)
    assert commands(sim) == []
    state, attributes = pv_state(hass, sim)
    assert state == "idle"
    assert attributes["reason_code"] == "manual_mode"
    surplus = hass.states.get(entity_id(hass, "sensor", sim.vehicle(1).vin, "pv_surplus"))
    assert float(surplus.state) == pytest.approx(8000 - 400 - 100, abs=1)


async def test_pv_mode_follows_the_surplus(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await set_mode(hass, sim, "pv")
    await run_plant(hass, freezer, sim, 120, pv_w=1500)  # too little for 5 A on three phases
    assert commands(sim) == []
    assert pv_state(hass, sim)[0] == "waiting"

    await run_plant(hass, freezer, sim, 300, pv_w=6500)
    # It starts at what the surplus has carried for a while (5 A, the sun came only now), then
    # raises once the command interval allows.
    assert commands(sim) == [
        ("set_charging_amps", {"charging_amps": 5}),
        ("charge_start", {}),
        ("set_charging_amps", {"charging_amps": 8}),
    ]
    assert sim.vehicle(1).charging_state == "Charging"
    amps = sim.vehicle(1).charge_current_request
    assert amps == (6500 - 400 - 100) // 690  # 8 A: what the surplus carries, no more
    assert pv_state(hass, sim)[0] == "charging"
    # Importing hardly anything while charging from PV.
    assert 400 + sim.vehicle(1).charge_power_w - 6500 <= 0

    # More sun: the current follows, with few commands.
    await run_plant(hass, freezer, sim, 900, pv_w=10000)
    assert sim.vehicle(1).charge_current_request == 13
    assert len(commands(sim)) <= 5

    # The sun goes: lower to the minimum, then stop after the disable delay.
    await run_plant(hass, freezer, sim, 600, pv_w=500)
    assert sim.vehicle(1).charging_state == "Stopped"
    assert commands(sim)[-1] == ("charge_stop", {})
    assert pv_state(hass, sim)[0] in ("waiting", "paused")
    status = hass.states.get(entity_id(hass, "sensor", sim.vehicle(1).vin, "status"))
    assert status.state == "stopped"


async def test_min_pv_fast_and_off(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await set_mode(hass, sim, "min_pv")
    await run_plant(hass, freezer, sim, 60, pv_w=0)
    assert sim.vehicle(1).charge_current_request == 5
    assert sim.vehicle(1).charging_state in ("Starting", "Charging")
    await set_mode(hass, sim, "fast")
    await run_plant(hass, freezer, sim, 60, pv_w=0)
    assert sim.vehicle(1).charge_current_request == 16
    await set_mode(hass, sim, "off")
    await run_plant(hass, freezer, sim, 30, pv_w=9000)
    assert sim.vehicle(1).charging_state == "Stopped"
    assert pv_state(hass, sim)[0] == "off"


async def test_away_from_pv_location_waits(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    sim.vehicle(1).move(*AWAY)
    car = init_integration.runtime_data.cars[sim.vehicle(1).vin]
    await car.coordinator.async_user_refresh()
    await set_mode(hass, sim, "pv")
    await run_plant(hass, freezer, sim, 300, pv_w=9000)
    assert commands(sim) == []
    assert pv_state(hass, sim)[0] == "not_at_pv_location"


async def test_grid_sensor_unavailable_or_in_kw(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await set_mode(hass, sim, "pv")
    hass.states.async_set(GRID_SENSOR, "unavailable")
    await advance(hass, freezer, sim, 120, step=10)
    state, attributes = pv_state(hass, sim)
    assert (state, attributes["reason_code"]) == ("waiting", "grid_unavailable")
    for _ in range(12):
        set_grid(hass, -5.0, unit="kW")
        await advance(hass, freezer, sim, 10, step=10)
    assert ("charge_start", {}) in commands(sim)
    hass.states.async_set(GRID_SENSOR, "not a number", {"unit_of_measurement": "W"})
    await advance(hass, freezer, sim, 30, step=10)
    assert pv_state(hass, sim)[1]["reason_code"] in (
        "grid_unavailable",
        "disable_delay",
        "min_current",
    )


@pytest.mark.parametrize("entry_options", [{**PV_OPTIONS, CONF_ALLOW_LOW_TARGET: True}])
async def test_pv_respects_the_soft_target(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    await car.controller.async_set_target(42)
    await set_mode(hass, sim, "pv")
    await run_plant(hass, freezer, sim, 3600, pv_w=12000)
    assert 42 <= sim.vehicle(1).battery_level < 43.5
    assert sim.vehicle(1).charging_state == "Stopped"
    assert pv_state(hass, sim)[0] == "complete"
    starts = [name for name, _ in commands(sim)].count("charge_start")
    assert starts == 1  # no restart once the target is reached


async def test_mode_survives_restart(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    await set_mode(hass, sim, "min_pv")
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    select = entity_id(hass, "select", sim.vehicle(1).vin, "charge_mode")
    assert hass.states.get(select).state == "min_pv"


async def test_failed_pv_command_backs_off(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    sim.faults.add(status=503, path="/command/", count=None)
    await set_mode(hass, sim, "fast")
    await run_plant(hass, freezer, sim, 600, pv_w=0)
    failed = [entry for entry in sim.ledger.entries if "/command/" in entry.path]
    # Backing off from a failure: a handful of attempts in ten minutes, not one every 30 s.
    assert 1 <= len(failed) <= 5
    sim.faults.clear()
    await run_plant(hass, freezer, sim, 1200, pv_w=0)
    assert sim.vehicle(1).charging_state == "Charging"


async def test_not_a_finite_number_counts_as_no_reading(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await set_mode(hass, sim, "pv")
    hass.states.async_set(GRID_SENSOR, "nan", {"unit_of_measurement": "W"})
    await advance(hass, freezer, sim, 40, step=10)
    assert pv_state(hass, sim)[1]["reason_code"] == "grid_unavailable"


async def test_mode_change_while_a_command_waits(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The command in flight finishes; the new mode's first command follows it, not alongside."""
    import asyncio
    from dataclasses import replace

    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    sim.vehicle(1).fall_asleep()
    car.coordinator.data = replace(car.coordinator.data, connection=None)
    set_grid(hass, 0)
    await set_mode(hass, sim, "fast")  # start at 16 A: waits for the wake-up
    await asyncio.sleep(0.05)
    assert sim.ledger.count("wake") == 1
    await set_mode(hass, sim, "min_pv")  # decided while the first command waits: queued
    sim.clock.speed = 500
    for _ in range(100):
        if [r.name for r in sim.vehicle(1).commands].count("charge_start") == 2:
            break
        await asyncio.sleep(0.02)
    await hass.async_block_till_done()
    assert commands(sim) == [
        ("set_charging_amps", {"charging_amps": 16}),
        ("charge_start", {}),
        ("set_charging_amps", {"charging_amps": 5}),
        ("charge_start", {}),
    ]
    assert sim.ledger.count("wake") == 1


async def test_pv_commands_need_no_confirming_read(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The meter shows whether the car followed: a read after each current change is not paid for."""
    await set_mode(hass, sim, "fast")
    reads = sim.ledger.count("data")
    await run_plant(hass, freezer, sim, 300, pv_w=0)
    assert ("charge_start", {}) in commands(sim)
    assert sim.ledger.count("data") == reads


async def test_pv_charging_reads_rarely_and_when_the_limit_is_due(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Under PV control: one read for the car's estimate, then the predicted end, moved by the
    current the controller set since; not a read every 10 minutes."""
    car = sim.vehicle(1)
    car.set_battery_level(72.0)  # 8 % to the limit of 80 %
    await set_mode(hass, sim, "pv")
    started = sim.now()
    await run_plant(hass, freezer, sim, 1800, pv_w=6500)  # 8 A: the limit is an hour away
    assert car.charging_state == "Charging"
    await run_plant(hass, freezer, sim, 2 * 3600, pv_w=12000)  # 16 A: sooner than the estimate
    reads = [e.time for e in sim.ledger.entries if e.category == "data" and e.time > started]
    completed = next(t for t, state in car.charging_timeline if state == "Complete")
    # The first read after the start (the short interval: no estimate yet), then the end.
    assert len(reads) == 2
    assert reads[0] - started == pytest.approx(600, abs=60)
    assert 0 <= reads[1] - completed <= 180
    assert hass.states.get(entity_id(hass, "sensor", car.vin, "status")).state == "stopped"
    # No command went to the full car.
    assert not [record for record in car.commands if record.time > completed]


async def test_pv_acts_after_a_restart_while_the_car_sleeps_at_home(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The last position read before the restart still puts the car at the PV location."""
    await set_mode(hass, sim, "pv")
    await run_plant(hass, freezer, sim, 1800, pv_w=0)  # no sun: the car falls asleep
    assert sim.vehicle(1).state == "asleep"
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    vin = sim.vehicle(1).vin
    assert hass.states.get(entity_id(hass, "binary_sensor", vin, "at_pv_location")).state == "on"
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "ready_for_pv"
    # The frozen test clock only moves between steps, while the command waits for the car: the
    # simulated car answers its wake-up at once (the wake-up's delay is tested in test_control).
    sim.vehicle(1).wake_delay = 0.0
    await run_plant(hass, freezer, sim, 600, pv_w=8000)
    assert sim.ledger.count("wake") == 1
    assert ("charge_start", {}) in commands(sim)
    assert sim.vehicle(1).charging_state == "Charging"


async def test_moving_the_pv_zone_is_seen_without_a_read(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    at_pv = entity_id(hass, "binary_sensor", vin, "at_pv_location")
    assert hass.states.get(at_pv).state == "on"
    home = hass.states.get("zone.home")
    reads = sim.ledger.count("data")
    hass.states.async_set(
        "zone.home", home.state, {**home.attributes, "latitude": AWAY[0], "longitude": AWAY[1]}
    )
    await hass.async_block_till_done()
    assert hass.states.get(at_pv).state == "off"
    hass.states.async_set("zone.home", home.state, home.attributes)
    await hass.async_block_till_done()
    assert hass.states.get(at_pv).state == "on"
    assert sim.ledger.count("data") == reads


async def test_leaving_the_pv_location_mid_session(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Charging in pv mode, then unplugged and driven away: the controller waits, sends nothing."""
    await set_mode(hass, sim, "pv")
    await run_plant(hass, freezer, sim, 300, pv_w=8000)
    assert sim.vehicle(1).charging_state == "Charging"
    sent = len(commands(sim))
    sim.vehicle(1).unplug()
    car = init_integration.runtime_data.cars[sim.vehicle(1).vin]
    await car.coordinator.async_user_refresh()
    assert pv_state(hass, sim)[0] == "unplugged"
    sim.vehicle(1).move(*AWAY)
    sim.vehicle(1).plug_in()
    await car.coordinator.async_user_refresh()
    await run_plant(hass, freezer, sim, 900, pv_w=8000)
    assert pv_state(hass, sim)[0] == "not_at_pv_location"
    assert len(commands(sim)) == sent
