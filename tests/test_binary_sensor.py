"""Binary sensors: plugged in, at the PV location, charging enabled, in the three scenarios.

The states and registry entries are compared with syrupy snapshots (tests/snapshots/).
"""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from fleet_sim import Simulator

from .common import scenarios, set_up_scenario, snapshot_platform
from .conftest import entity_id
from .const import MORNING


@pytest.mark.freeze_time(MORNING)
@scenarios()
async def test_binary_sensors(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
    scenario: str,
    minutes: int,
) -> None:
    await set_up_scenario(hass, config_entry, Platform.BINARY_SENSOR, freezer, sim, minutes)
    if scenario == "asleep_away":
        assert sim.vehicle(1).state == "asleep"
        at_pv = hass.states.get(
            entity_id(hass, "binary_sensor", sim.vehicle(1).vin, "at_pv_location")
        )
        assert at_pv.state == "off"
    await snapshot_platform(hass, er.async_get(hass), snapshot, config_entry.entry_id)
