"""The buttons: wake up and refresh (what they do: tests/test_control.py, tests/test_sensor.py).

The states and registry entries are compared with a syrupy snapshot (tests/snapshots/), in one
scenario: they are the same in all three.
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
from .const import MORNING


@pytest.mark.freeze_time(MORNING)
@scenarios("parked_at_home_plugged_in_idle")
async def test_buttons(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
    scenario: str,
    minutes: int,
) -> None:
    await set_up_scenario(hass, config_entry, Platform.BUTTON, freezer, sim, minutes)
    await snapshot_platform(hass, er.async_get(hass), snapshot, config_entry.entry_id)
