"""Sensors: every sensor in the three scenarios, the cost of the day, the raw charging state.

The states and registry entries are compared with syrupy snapshots (`pytest --snapshot-update`
after a wanted change, then read the new tests/snapshots/test_sensor.ambr); the figures a user
reads most (voltage, currents, the status, the cost) are also asserted one by one.
"""

from __future__ import annotations

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.tesla_wallbox.const import DOMAIN
from fleet_sim import Simulator

from .common import billed, ledger_cost, scenarios, set_up_scenario, snapshot_platform
from .conftest import advance, entity_id
from .const import MORNING, PARKED_IDLE, PV_OPTIONS


@pytest.mark.freeze_time(MORNING)
@scenarios()
async def test_sensors(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
    scenario: str,
    minutes: int,
) -> None:
    await set_up_scenario(hass, config_entry, Platform.SENSOR, freezer, sim, minutes)
    vin = sim.vehicle(1).vin

    def state(key: str) -> str:
        return hass.states.get(entity_id(hass, "sensor", vin, key)).state

    if scenario == "charging_at_home":
        # 16 A on three phases of 230 V, as the car reads it at the 10-minute poll.
        assert sim.vehicle(1).charging_state == "Charging"
        assert (state("voltage"), state("actual_current")) == ("230", "16")
        assert state("available_current") == "16"
        assert state("status") == "charging"
    elif scenario == "parked_at_home_plugged_in_idle":
        # A plugged, idle Tesla reports a couple of volts and no current, as the real car does.
        assert (state("voltage"), state("actual_current")) == ("2", "0")
        assert state("available_current") == "16"  # the wall offers it, the car idles
        assert state("status") == "ready_for_pv"
    else:
        assert sim.vehicle(1).state == "asleep"
        # Asleep since the last read: its figures still hold, and nothing was read while asleep.
        assert state("battery_level") == "70"
        asleep_since = sim.vehicle(1).timeline[-1][0]
        assert billed(sim, "data", since=asleep_since) == 0

    # The cost of the day is what the ledger billed: data reads only, in these scenarios.
    cost = hass.states.get(entity_id(hass, "sensor", vin, "api_cost_today"))
    reads = billed(sim, "data")
    assert reads >= 1
    assert billed(sim, "wake") == billed(sim, "command") == 0
    assert float(cost.state) == pytest.approx(ledger_cost(sim)) == pytest.approx(reads * 0.002)
    assert cost.attributes["data"] == reads
    assert cost.attributes["last_reset"] == "2026-06-15T00:00:00-07:00"

    await snapshot_platform(hass, er.async_get(hass), snapshot, config_entry.entry_id)


async def press(hass: HomeAssistant, entity: str) -> None:
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: entity}, blocking=True)


# 23:40 in US/Pacific: midnight comes 20 minutes in.
@pytest.mark.freeze_time("2026-06-15 06:40:00+00:00")
@pytest.mark.parametrize(("vehicle_configs", "entry_options"), [([PARKED_IDLE], PV_OPTIONS)])
async def test_cost_of_the_day_survives_a_reload_and_starts_again_at_midnight(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, dict[str, object]],
) -> None:
    vin = sim.vehicle(1).vin
    cost_id = entity_id(hass, "sensor", vin, "api_cost_today")
    refresh = entity_id(hass, "button", vin, "refresh")
    await press(hass, refresh)
    await press(hass, refresh)
    cost = hass.states.get(cost_id)
    assert billed(sim, "data") == 3  # the read at setup and two refreshes
    assert float(cost.state) == pytest.approx(0.006)
    assert cost.attributes["last_reset"] == "2026-06-14T00:00:00-07:00"

    # A reload (every options save does one) keeps the day's counts.
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    cost = hass.states.get(cost_id)
    assert billed(sim, "data") == 4
    assert float(cost.state) == pytest.approx(ledger_cost(sim)) == pytest.approx(0.008)
    assert cost.attributes["data"] == 4
    # And they are on disk, a few seconds later, for a restart.
    await advance(hass, freezer, sim, 10, step=10)
    stored = hass_storage[f"{DOMAIN}.{init_integration.entry_id}"]["data"]
    assert stored[vin]["calls"] == {"day": "2026-06-14", "counts": {"data": 4}}  # type: ignore[index]

    # Past midnight: the day's cost starts from zero, with a new last_reset.
    await advance(hass, freezer, sim, 25 * 60)
    midnight = datetime.fromisoformat("2026-06-15T00:00:00-07:00").timestamp()
    assert dt_util.now().date().isoformat() == "2026-06-15"
    await press(hass, refresh)
    cost = hass.states.get(cost_id)
    assert float(cost.state) == pytest.approx(ledger_cost(sim, since=midnight))
    assert cost.attributes["last_reset"] == "2026-06-15T00:00:00-07:00"
    # Yesterday's counts, stored, do not come back with a reload on the new day.
    yesterday = {"day": "2026-06-14", "counts": {"data": 50}}
    init_integration.runtime_data.store.set(vin, "calls", yesterday)
    before = len(sim.ledger)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    cost = hass.states.get(cost_id)
    assert float(cost.state) == pytest.approx(sum(e.price for e in sim.ledger.entries[before:]))
    assert float(cost.state) < 0.1


async def test_raw_charging_state_when_enabled(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Tesla's own charging state is disabled by default; enabled, it follows the car. The car
    number tells which HTTP API path is the car's."""
    vin = sim.vehicle(1).vin
    raw = entity_id(hass, "sensor", vin, "charging_state")
    registry = er.async_get(hass)
    assert registry.async_get(raw).disabled_by is er.RegistryEntryDisabler.INTEGRATION
    registry.async_update_entity(raw, disabled_by=None)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(raw).state == "disconnected"
    sim.vehicle(1).plug_in()
    car = init_integration.runtime_data.cars[vin]
    await car.coordinator.async_user_refresh()
    assert hass.states.get(raw).state in ("starting", "charging")
    number = hass.states.get(entity_id(hass, "sensor", vin, "car_number"))
    assert number.state == "1"
    assert number.attributes["http_api"] == "/tlwb/1"
