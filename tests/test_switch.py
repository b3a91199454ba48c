"""The charging switch in the three scenarios (what it does: tests/test_control.py).

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
async def test_switches(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
    scenario: str,
    minutes: int,
) -> None:
    await set_up_scenario(hass, config_entry, Platform.SWITCH, freezer, sim, minutes)
    charging = hass.states.get(entity_id(hass, "switch", sim.vehicle(1).vin, "charging"))
    assert charging.state == ("on" if scenario == "charging_at_home" else "off")
    await snapshot_platform(hass, er.async_get(hass), snapshot, config_entry.entry_id)
