"""Diagnostics never show a token, a key, a VIN or a position; what they show is snapshotted."""

from __future__ import annotations

import json

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from fleet_sim import Simulator

from .const import API_KEY, HOME, TOKEN

# The moments in the diagnostics (Unix times, the data's age), which change from run to run.
MOMENTS = props("data_time", "checked_time", "activity_time", "woke_time", "age", "at")


async def test_diagnostics_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert result == snapshot(exclude=MOMENTS)
    text = json.dumps(result)
    vin = sim.vehicle(1).vin
    for secret in (TOKEN, API_KEY, vin, sim.url, str(HOME[0]), str(HOME[1])):
        assert secret not in text
    car = result["cars"][0]
    # The moments the snapshot leaves out are there, as numbers.
    facts = car["poll_facts"]
    moments = [car["data_time"], car["checked_time"], car["age"], car["next_poll"]["at"]]
    moments += [facts["data_time"], facts["activity_time"], facts["woke_time"]]
    assert all(isinstance(moment, float) for moment in moments)
    assert car["status"] == "not_ready"
    assert car["charge"]["battery_level"] == 40
    assert car["next_poll"]["kind"] == "state"
    assert result["data"]["token"] == "**REDACTED**"
    assert result["verify_ssl"] is True


async def test_diagnostics_show_verification_off(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, config_entry: MockConfigEntry
) -> None:
    """Support can see that certificate checks are off for a self-signed custom server."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_VERIFY_SSL: False}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert await async_setup_component(hass, "diagnostics", {})
    result = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)
    assert result["verify_ssl"] is False
    assert result["data"][CONF_VERIFY_SSL] is False


async def test_diagnostics_of_an_entry_that_is_not_loaded(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A refused token leaves the entry not loaded, without a runtime: its diagnostics still
    answer, with the entry's state and what it stored (500 before)."""
    assert await async_setup_component(hass, "diagnostics", {})
    sim.token = "rotated"  # the entry's token is refused from now on
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.SETUP_ERROR
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert result["entry_state"] == "setup_error"
    assert "cars" not in result
    assert result["data"]["token"] == "**REDACTED**"
    # The store of its last loaded run: the car's last data, positions redacted.
    (car,) = result["stored"]
    assert car["car"] == 1
    assert car["state"]["charge"]["battery_level"] == 40
    text = json.dumps(result)
    for secret in (TOKEN, API_KEY, sim.vehicle(1).vin, str(HOME[0]), str(HOME[1])):
        assert secret not in text
    # Unloaded by hand as well.
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert result["entry_state"] == "not_loaded"
