"""Diagnostics never show a token, a key, a VIN or a position."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from fleet_sim import Simulator

from .conftest import API_KEY, HOME, TOKEN


async def test_diagnostics_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(result)
    vin = sim.vehicle(1).vin
    for secret in (TOKEN, API_KEY, vin, sim.url, str(HOME[0]), str(HOME[1])):
        assert secret not in text
    car = result["cars"][0]
    assert car["status"] == "not_ready"
    assert car["charge"]["battery_level"] == 40
    assert car["next_poll"]["kind"] == "state"
    assert result["data"]["token"] == "**REDACTED**"
