"""The base entity of every platform: which entities the options give a meaning to."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox.const import (
    CONF_API_KEY,
    CONF_GRID_SENSOR,
    CONF_PV_ZONE,
    DOMAIN,
)
from fleet_sim import Simulator

from .common import set_up_with_every_entity
from .conftest import entity_id
from .const import API_KEY, GRID_SENSOR, PV_OPTIONS


@pytest.mark.parametrize(
    ("options", "absent"),
    [
        ({CONF_PV_ZONE: "zone.home"}, {("sensor", "pv_surplus")}),
        (
            {CONF_PV_ZONE: "", CONF_GRID_SENSOR: GRID_SENSOR},
            {("binary_sensor", "at_pv_location")},
        ),
    ],
    ids=["no_grid_sensor", "no_pv_location"],
)
@pytest.mark.parametrize("entry_options", [PV_OPTIONS])
async def test_entities_the_options_give_no_meaning_are_not_there(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    options: dict[str, Any],
    absent: set[tuple[str, str]],
) -> None:
    """No PV surplus without a grid sensor, no At PV location without a PV location; an entity
    the options no longer have leaves the registry at the reload, and comes back with them."""
    await set_up_with_every_entity(hass, config_entry)
    registry = er.async_get(hass)
    vin = sim.vehicle(1).vin
    every = {
        (item.domain, item.unique_id.removeprefix(f"{vin}_"))
        for item in er.async_entries_for_config_entry(registry, config_entry.entry_id)
    }
    assert absent <= every
    leaving = [entity_id(hass, domain, vin, key) for domain, key in absent]
    assert all(hass.states.get(item) is not None for item in leaving)

    hass.config_entries.async_update_entry(config_entry, options={CONF_API_KEY: API_KEY, **options})
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    now = {
        (item.domain, item.unique_id.removeprefix(f"{vin}_"))
        for item in er.async_entries_for_config_entry(registry, config_entry.entry_id)
    }
    assert now == every - absent
    for domain, key in absent:
        assert registry.async_get_entity_id(domain, DOMAIN, f"{vin}_{key}") is None
    assert all(hass.states.get(item) is None for item in leaving)

    hass.config_entries.async_update_entry(config_entry, options=PV_OPTIONS)
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert {
        (item.domain, item.unique_id.removeprefix(f"{vin}_"))
        for item in er.async_entries_for_config_entry(registry, config_entry.entry_id)
    } == every
