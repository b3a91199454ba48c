"""Bluetooth end to end: Home Assistant's real bluetooth integration, a simulated proxy next to the
simulator's car (tests/bluetooth.py, fleet_sim/ha_radio.py), the real tesla-fleet-api
VehicleBluetooth, and the cloud (the simulator's Fleet API) when Bluetooth cannot serve.

Nothing of the library is patched. The only stand-ins: the host's adapters (tests/bluetooth.py)
and, in the pairing tests, our own waits (how long the car waits for the key card), made short.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox import ble_client, ble_link, flow_bluetooth
from custom_components.tesla_wallbox.ble_link import KEY_STORE_VERSION
from custom_components.tesla_wallbox.const import CONF_BLUETOOTH, DOMAIN
from custom_components.tesla_wallbox.models import Car
from fleet_sim import Simulator, VehicleConfig
from fleet_sim.ha_radio import SimRadio
from fleet_sim.vcp import public_point

from .conftest import entity_id
from .const import HOME

pytestmark = pytest.mark.skipif(
    not ble_client.supported(), reason="this tesla-fleet-api has no usable Bluetooth vehicle"
)

# Plugged in at home, not charging. The car's protocol clock is the wall clock: the library signs
# with time.time().
PARKED = VehicleConfig(
    latitude=HOME[0],
    longitude=HOME[1],
    plugged_in=True,
    auto_start_on_plug=False,
    battery_level=50.0,
    protocol_clock="wall",
)
BILLED = ("data", "command", "wake")


@pytest.fixture
def vehicle_configs() -> list[VehicleConfig]:
    return [PARKED]


@pytest.fixture
def ble_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def store_key(
    hass_storage: dict[str, Any], entry: MockConfigEntry, key: ec.EllipticCurvePrivateKey
) -> None:
    """The entry's own Bluetooth key, as an earlier pairing left it in HA's storage."""
    name = ble_link.key_store_key(entry.entry_id)
    data = {"pem": ble_link.key_pem(key)}
    hass_storage[name] = {
        "version": KEY_STORE_VERSION,
        "minor_version": 1,
        "key": name,
        "data": data,
    }


async def set_up(
    hass: HomeAssistant, entry: MockConfigEntry, bluetooth: dict[str, str] | None = None
) -> None:
    """Set the entry up, with these cars paired over Bluetooth ({vin: address}) in its options."""
    entry.add_to_hass(hass)
    if bluetooth is not None:
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_BLUETOOTH: bluetooth}
        )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def paired(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim: Simulator,
    sim_radio: SimRadio,
    config_entry: MockConfigEntry,
    ble_key: ec.EllipticCurvePrivateKey,
) -> MockConfigEntry:
    """The entry with car 1 paired over Bluetooth (its key in the car), set up."""
    store_key(hass_storage, config_entry, ble_key)
    sim.vehicle(1).pair_key(ble_key.public_key())
    await set_up(hass, config_entry, {sim.vehicle(1).vin: sim.ble(1).address})
    assert config_entry.state is ConfigEntryState.LOADED
    return config_entry


def the_car(entry: MockConfigEntry, sim: Simulator) -> Car:
    car: Car = entry.runtime_data.cars[sim.vehicle(1).vin]
    return car


def cloud_billed(sim: Simulator) -> dict[str, int]:
    return {kind: sim.ledger.count(kind, transport="cloud") for kind in BILLED}


async def status(client: TestClient) -> dict[str, Any]:
    response = await client.get("/tlwb/1/status")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_at_home_data_and_commands_go_over_bluetooth_for_free(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    paired: MockConfigEntry,
) -> None:
    car = the_car(paired, sim)
    vin = car.vin
    ble = sim.ble(1)
    # The first poll read the car over Bluetooth: nothing billed went to the cloud.
    assert cloud_billed(sim) == {"data": 0, "command": 0, "wake": 0}
    assert car.coordinator.data.charge is not None
    assert car.coordinator.data.charge.battery_level == 50
    assert "vehicle_data" in [request.kind for request in ble.requests]

    await hass.services.async_call(
        "switch",
        "turn_on",
        {ATTR_ENTITY_ID: entity_id(hass, "switch", vin, "charging")},
        blocking=True,
    )
    await car.controller.async_set_amps(10)
    sim.advance(30)
    assert sim.vehicle(1).charging_state == "Charging"
    assert sim.vehicle(1).charge_current_request == 10
    # Over Bluetooth the car got them signed with our key, and nothing billed went to the cloud.
    assert [record.signed for record in sim.vehicle(1).commands] == [True, True]
    assert cloud_billed(sim) == {"data": 0, "command": 0, "wake": 0}
    assert sim.ledger.cost() == 0.0

    body = await status(await hass_client())
    assert body["data_path"] == "bluetooth"
    assert body["command_path"] == "bluetooth"
    assert body["bluetooth"] == {"address": ble.address, "in_range": True}
    assert hass.states.get(entity_id(hass, "binary_sensor", vin, "bluetooth")).state == STATE_ON
    cost = hass.states.get(entity_id(hass, "sensor", vin, "api_cost_today"))
    assert float(cost.state) == 0.0
    assert cost.attributes["bluetooth_data"] >= 1
    assert cost.attributes["bluetooth_command"] == 2


async def test_out_of_range_the_cloud_serves_and_bluetooth_takes_over_again(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    sim_radio: SimRadio,
    paired: MockConfigEntry,
) -> None:
    car = the_car(paired, sim)
    sensor = entity_id(hass, "binary_sensor", car.vin, "bluetooth")
    sim_radio.lose(sim.ble(1))
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_OFF

    await car.coordinator.async_user_refresh()
    await car.controller.async_set_amps(12)
    assert sim.vehicle(1).charge_current_request == 12
    assert cloud_billed(sim) == {"data": 1, "command": 1, "wake": 0}
    body = await status(await hass_client())
    assert (body["data_path"], body["command_path"]) == ("cloud", "cloud")
    assert body["bluetooth"]["in_range"] is False

    sim_radio.find(sim.ble(1))
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_ON
    await car.coordinator.async_user_refresh()
    await car.controller.async_set_amps(8)
    assert sim.vehicle(1).charge_current_request == 8
    assert cloud_billed(sim) == {"data": 1, "command": 1, "wake": 0}
    body = await status(await hass_client())
    assert (body["data_path"], body["command_path"]) == ("bluetooth", "bluetooth")


async def test_a_lost_link_falls_back_to_the_cloud(
    hass: HomeAssistant, sim: Simulator, paired: MockConfigEntry
) -> None:
    """Home Assistant still has the car's last advertisement, but the car does not answer (it
    drove off a moment ago, the proxy is busy): the cloud serves the read and the command."""
    car = the_car(paired, sim)
    sim.ble(1).in_range = False
    assert car.bluetooth_in_range  # HA has not noticed yet

    await car.coordinator.async_user_refresh()
    await car.controller.async_set_amps(11)
    assert sim.vehicle(1).charge_current_request == 11
    assert cloud_billed(sim) == {"data": 1, "command": 1, "wake": 0}
    assert car.coordinator.client.data_path == "cloud"
    assert car.coordinator.data.last_error is None


async def test_a_car_asleep_is_seen_over_bluetooth_and_woken_for_free(
    hass: HomeAssistant, sim: Simulator, paired: MockConfigEntry
) -> None:
    car = the_car(paired, sim)
    ble = sim.ble(1)
    sim.vehicle(1).fall_asleep()
    before = len(ble.requests)

    # A poll asks the security computer (it answers while the car sleeps), reads nothing and
    # wakes nothing.
    await car.coordinator.async_refresh()
    assert sim.vehicle(1).state == "asleep"
    kinds = [request.kind for request in ble.requests[before:]]
    assert "vehicle_status" in kinds
    assert "wake" not in kinds
    assert "vehicle_data" not in kinds
    assert len(sim.ledger.entries) == sim.ledger.count(transport="bluetooth") + sum(
        1 for entry in sim.ledger.entries if entry.transport == "cloud" and entry.price == 0
    )

    # A command wakes it over Bluetooth (free), then goes through.
    await car.controller.async_start()
    sim.advance(30)
    assert sim.vehicle(1).charging_state == "Charging"
    assert "wake" in [request.kind for request in ble.requests[before:]]
    assert cloud_billed(sim) == {"data": 0, "command": 0, "wake": 0}
    assert sim.ledger.cost() == 0.0


async def test_setup_without_home_assistants_bluetooth_uses_the_cloud(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim: Simulator,
    config_entry: MockConfigEntry,
    ble_key: ec.EllipticCurvePrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store_key(hass_storage, config_entry, ble_key)
    await set_up(hass, config_entry, {sim.vehicle(1).vin: sim.ble(1).address})
    car = the_car(config_entry, sim)
    assert car.bluetooth is None
    assert car.coordinator.client.local is None
    assert sim.ledger.count("data", transport="cloud") == 1
    assert "Home Assistant's Bluetooth integration is not loaded" in caplog.text
    # No Bluetooth entity for a car that has no Bluetooth path.
    assert (
        er.async_get(hass).async_get_entity_id("binary_sensor", DOMAIN, f"{car.vin}_bluetooth")
        is None
    )


# ----- pairing in the options -------------------------------------------------------------------


async def _bluetooth_step(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "bluetooth"}
    )


async def _pair(hass: HomeAssistant, entry: MockConfigEntry, vin: str) -> dict[str, Any]:
    """Pick the car in the Bluetooth step; wait for the pairing to end; the flow's next result."""
    result = await _bluetooth_step(hass, entry)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"vin": vin})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "pair"
    await hass.async_block_till_done()
    return await hass.config_entries.options.async_configure(result["flow_id"])


@pytest.fixture
def short_pairing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our waits for the key card, in tenths of a second rather than minutes."""
    monkeypatch.setattr(flow_bluetooth, "PAIR_TIMEOUT", 0.5)
    monkeypatch.setattr(ble_client, "PAIR_POLL", 0.05)


@pytest.mark.usefixtures("sim_radio", "short_pairing")
async def test_pairing_with_a_key_card_tap(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    ble = sim.ble(1)
    ble.auto_tap = True  # the user sits in the car and taps the card when it asks
    assert sim.vehicle(1).paired_keys == []

    result = await _pair(hass, init_integration, vin)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options[CONF_BLUETOOTH] == {vin: ble.address}
    await hass.async_block_till_done()  # the entry reloads with its Bluetooth path
    assert len(sim.vehicle(1).paired_keys) == 1
    car = the_car(init_integration, sim)
    assert car.bluetooth == ble.address
    assert hass.states.get(entity_id(hass, "binary_sensor", vin, "bluetooth")).state == STATE_ON
    # The key the car knows now is the one the entry keeps: commands over BLE go through.
    await car.controller.async_set_amps(9)
    assert sim.vehicle(1).charge_current_request == 9
    assert car.coordinator.client.command_path == "bluetooth"
    assert sim.ledger.count("command", transport="cloud") == 0


@pytest.mark.usefixtures("sim_radio", "short_pairing")
async def test_pairing_waits_for_the_tap_and_says_when_none_came(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    result = await _pair(hass, init_integration, vin)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "bluetooth"
    assert result["errors"] == {"base": "pairing_timeout"}
    assert sim.vehicle(1).paired_keys == []
    assert CONF_BLUETOOTH not in init_integration.options

    # The car still waits for the card (it asked once): a late tap pairs the key, and the next
    # attempt finds it paired without asking again.
    assert sim.ble(1).pairing_pending
    assert sim.ble(1).tap_key_card()
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"vin": vin})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options[CONF_BLUETOOTH] == {vin: sim.ble(1).address}


@pytest.mark.usefixtures("short_pairing")
async def test_a_key_the_car_knows_needs_no_tap(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim: Simulator,
    sim_radio: SimRadio,
    config_entry: MockConfigEntry,
    ble_key: ec.EllipticCurvePrivateKey,
) -> None:
    store_key(hass_storage, config_entry, ble_key)
    sim.vehicle(1).pair_key(ble_key.public_key())
    await set_up(hass, config_entry)

    result = await _pair(hass, config_entry, sim.vehicle(1).vin)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert sim.vehicle(1).paired_keys == [public_point(ble_key.public_key())]
    assert "pair" not in [request.kind for request in sim.ble(1).requests]


@pytest.mark.usefixtures("short_pairing")
async def test_a_car_out_of_range_is_not_found(
    hass: HomeAssistant, sim: Simulator, sim_radio: SimRadio, init_integration: MockConfigEntry
) -> None:
    sim_radio.lose(sim.ble(1))
    result = await _bluetooth_step(hass, init_integration)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"vin": sim.vehicle(1).vin}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "car_not_found"}
    assert result["description_placeholders"]["name"] == sim.ble(1).name
    assert sim.ble(1).requests == []


async def test_turning_bluetooth_off_for_a_car(
    hass: HomeAssistant, sim: Simulator, paired: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    sensor = entity_id(hass, "binary_sensor", vin, "bluetooth")
    assert hass.states.get(sensor) is not None
    result = await _bluetooth_step(hass, paired)
    assert sim.ble(1).address in result["description_placeholders"]["paired"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"vin": vin, "turn_off": True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert paired.options[CONF_BLUETOOTH] == {}
    await hass.async_block_till_done()
    car = the_car(paired, sim)
    assert car.coordinator.client.local is None
    assert er.async_get(hass).async_get(sensor) is None
    await car.coordinator.async_user_refresh()
    assert car.coordinator.client.data_path == "cloud"


async def test_the_bluetooth_step_needs_home_assistants_bluetooth(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await _bluetooth_step(hass, init_integration)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bluetooth_unavailable"


async def test_removing_the_entry_forgets_its_bluetooth_key(
    hass: HomeAssistant, hass_storage: dict[str, Any], paired: MockConfigEntry
) -> None:
    name = ble_link.key_store_key(paired.entry_id)
    assert name in hass_storage
    assert await hass.config_entries.async_remove(paired.entry_id)
    await hass.async_block_till_done()
    assert name not in hass_storage


@pytest.mark.usefixtures("sim_radio")
async def test_a_car_of_no_entry_is_refused_and_nothing_changes(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    options = dict(init_integration.options)
    result = await _bluetooth_step(hass, init_integration)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {"vin": "5YJ3E1EA0NOTOURS"}
        )
    assert dict(init_integration.options) == options
    assert sim.ble(1).requests == []
