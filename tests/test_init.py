"""Setting up and unloading an entry against the simulator."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox.const import DOMAIN
from fleet_sim import Simulator

from .conftest import entity_id


async def test_setup_and_unload(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    vin = sim.vehicle(1).vin
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, vin)})
    assert device is not None
    assert device.name == sim.vehicle(1).display_name
    assert device.serial_number == vin
    status = hass.states.get(entity_id(hass, "sensor", vin, "status"))
    assert status is not None
    assert status.state == "not_ready"  # online, unplugged
    battery = hass.states.get(entity_id(hass, "sensor", vin, "battery_level"))
    assert battery is not None
    assert battery.state == "40"
    assert sim.ledger.count("data") == 1  # the first read, and nothing else

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_raw_charging_state_when_enabled(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    from homeassistant.helpers import entity_registry as er

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


async def test_remove_entry_forgets_stored_data(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, hass_storage: dict
) -> None:
    key = f"{DOMAIN}.{init_integration.entry_id}"
    car = next(iter(init_integration.runtime_data.cars.values()))
    await init_integration.runtime_data.store.async_set_now(car.vin, "soft_target", None)
    assert key in hass_storage
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_car_numbers_are_stable(hass: HomeAssistant, hass_storage: dict) -> None:
    from custom_components.tesla_wallbox.models import car_numbers

    numbers = car_numbers(hass)
    assert await numbers.async_number("VIN-A") == 1
    assert await numbers.async_number("VIN-B") == 2
    assert await numbers.async_number("VIN-A") == 1
    assert car_numbers(hass) is numbers
    assert hass_storage["tesla_wallbox.car_numbers"]["data"] == {"VIN-A": 1, "VIN-B": 2}
