"""Setting up and unloading an entry against the simulator."""

from __future__ import annotations

from typing import Any

from homeassistant.components.websocket_api import DOMAIN as WS_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_PV_ZONE,
    CONF_URL,
    DOMAIN,
)
from custom_components.tesla_wallbox.storage import CarNumbers
from fleet_sim import Simulator, VehicleConfig

from .conftest import car_device, entity_id
from .const import API_KEY, HOME


async def test_setup_and_unload(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    vin = sim.vehicle(1).vin
    device = car_device(hass, entry, vin)
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


CHARGING_AT_47 = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        battery_level=47.0,
        plugged_in=True,
        charge_limit_soc=50,
    )
]


@pytest.mark.parametrize("vehicle_configs", [CHARGING_AT_47])
@pytest.mark.parametrize(
    "entry_options",
    [{CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_ALLOW_LOW_TARGET: True}],
)
async def test_soft_target_passed_while_down_stops_at_setup(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry, hass_storage: dict
) -> None:
    """The target of 45 % was passed while HA was down: the car is stopped right at setup."""
    vin = sim.vehicle(1).vin
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}",
        "data": {vin: {"soft_target": 45}},
    }
    assert sim.vehicle(1).charging_state in ("Starting", "Charging")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [record.name for record in sim.vehicle(1).commands] == ["charge_stop"]
    assert sim.vehicle(1).charging_state == "Stopped"
    assert sim.vehicle(1).battery_level < 47.1  # no charging interval went by first
    car = config_entry.runtime_data.cars[vin]
    assert car.controller.soft_target == 45
    assert car.controller.last_command is not None
    assert car.controller.last_command.name == "stop"


async def test_stale_device_can_be_removed_a_configured_car_cannot(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    assert await async_setup_component(hass, "config", {})
    registry = dr.async_get(hass)
    entry = init_integration
    car = car_device(hass, entry, sim.vehicle(1).vin)
    assert car is not None
    # A car that is no longer part of the entry left its device behind.
    stale = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "5YJ3SOLDCAR000001")}
    )
    client = await hass_ws_client(hass)

    # The frontend's delete: "remove" since Home Assistant 2026.10 (a device has one entry),
    # before that "remove_config_entry" (now deprecated). Both ask the integration first.
    handlers = hass.data[WS_DOMAIN]
    if "config/device_registry/remove" in handlers:
        command = {"type": "config/device_registry/remove"}
    else:
        command = {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry.entry_id,
        }

    async def remove(device_id: str) -> dict[str, Any]:
        await client.send_json_auto_id({**command, "device_id": device_id})
        response: dict[str, Any] = await client.receive_json()
        return response

    response = await remove(car.id)
    assert response["success"] is False
    assert registry.async_get(car.id) is not None
    response = await remove(stale.id)
    assert response["success"] is True
    assert registry.async_get(stale.id) is None
    assert entry.state is ConfigEntryState.LOADED


async def _listed_numbers(hass_client: ClientSessionGenerator) -> dict[str, int]:
    client = await hass_client()
    response = await client.get("/tlwb")
    assert response.status == 200
    return {car["vin"]: car["id"] for car in (await response.json())["cars"]}


async def _stored_numbers(hass: HomeAssistant, vins: list[str]) -> dict[str, int]:
    """The numbers as a fresh instance reads them from storage (not the cached one)."""
    fresh = CarNumbers(hass)
    return {vin: await fresh.async_number(vin) for vin in vins}


@pytest.mark.parametrize("vehicle_configs", [[VehicleConfig(), VehicleConfig()]])
async def test_car_numbers_survive_reload_and_reconfigure(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    hass_storage: dict,
    hass_client: ClientSessionGenerator,
) -> None:
    first, second = list(sim.vehicles)
    # The second car was numbered first, by an earlier entry: numbers are not list positions.
    hass_storage["tesla_wallbox.car_numbers"] = {
        "version": 1,
        "minor_version": 1,
        "key": "tesla_wallbox.car_numbers",
        "data": {second: 1},
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    expected = {first: 2, second: 1}
    assert await _listed_numbers(hass_client) == expected

    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert await _listed_numbers(hass_client) == expected
    assert await _stored_numbers(hass, [second, first]) == expected

    sim.token = "rotated"
    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url, CONF_TOKEN: "rotated"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.data[CONF_TOKEN] == "rotated"
    assert await _listed_numbers(hass_client) == expected
    assert await _stored_numbers(hass, [second, first]) == expected
    assert hass_storage["tesla_wallbox.car_numbers"]["data"] == expected
