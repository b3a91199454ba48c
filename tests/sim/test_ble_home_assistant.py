"""The simulated car through Home Assistant's real bluetooth integration and a simulated proxy.

The real tesla-fleet-api VehicleBluetooth finds the car with
``bluetooth.async_ble_device_from_address`` and connects through ``establish_connection`` with
the ``bleak.BleakClient`` Home Assistant wraps, which picks the proxy's connector
(fleet_sim/ha_radio.py). Only the host's adapter is a stand-in (Home Assistant's test helpers).
"""

from __future__ import annotations

import bleak
from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.components import bluetooth
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.core import HomeAssistant
import pytest
from tesla_fleet_api.exceptions import BluetoothTransportError
from tesla_fleet_api.tesla.bluetooth import TeslaBluetooth
from tesla_fleet_api.tesla.vehicle.bluetooth import VehicleBluetooth
from tesla_protocol.command.vcsec_pb2 import VehicleSleepStatus_E

from fleet_sim import Simulator
from fleet_sim.ha_radio import SimRadio
from fleet_sim.vcp import public_point


def ble_vehicle(
    hass: HomeAssistant, sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> VehicleBluetooth:
    car = sim.ble(1)
    device = bluetooth.async_ble_device_from_address(hass, car.address, connectable=True)
    assert device is not None
    return VehicleBluetooth(
        TeslaBluetooth(), car.vin, key=key, device=device, keepalive_interval=None
    )


async def test_the_proxy_advertises_the_car(
    hass: HomeAssistant, sim: Simulator, sim_radio: SimRadio
) -> None:
    car = sim.ble(1)
    info = bluetooth.async_last_service_info(hass, car.address, connectable=True)
    assert info is not None
    assert info.name == car.name
    assert info.source == sim_radio.source
    assert info.connectable
    # Home Assistant knows the proxy beside the host's adapter (the test helpers' hci0).
    assert bluetooth.async_scanner_by_source(hass, sim_radio.source) is sim_radio.scanner
    assert bluetooth.async_scanner_count(hass, connectable=True) == 2
    # bleak.BleakClient is Home Assistant's wrapper while bluetooth runs.
    assert bleak.BleakClient.__module__.startswith("habluetooth")


async def test_commands_and_charge_state_through_home_assistant(
    hass: HomeAssistant, sim: Simulator, sim_radio: SimRadio
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    car = sim.vehicle(1)
    ble_car = sim.ble(1)
    ble_car.auto_tap = True
    vehicle = ble_vehicle(hass, sim, key)
    async with vehicle:
        await vehicle.pair(timeout=5, poll_interval=0.05)
        assert car.paired_keys == [public_point(key.public_key())]
        await vehicle.handshakeVehicleSecurity()
        await vehicle.handshakeInfotainment()
        state = await vehicle.charge_state()
        assert state.battery_level == car.charge_state()["battery_level"]
        assert state.charging_state.WhichOneof("type") == "Disconnected"
        assert (await vehicle.set_charging_amps(6))["response"]["result"] is True
        assert car.charge_current_request == 6
        assert (await vehicle.vehicle_state()).vehicleSleepStatus == (
            VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_AWAKE
        )
    assert sim.ledger.count(transport="cloud") == 0
    assert sim.ledger.count(transport="bluetooth") == len(ble_car.requests) > 0
    assert sim.ledger.cost() == 0.0


async def test_a_car_out_of_range_is_forgotten(
    hass: HomeAssistant, sim: Simulator, sim_radio: SimRadio
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ble_car = sim.ble(1)
    sim.vehicle(1).pair_key(key.public_key())
    vehicle = ble_vehicle(hass, sim, key)
    gone: list[BluetoothServiceInfoBleak] = []
    bluetooth.async_track_unavailable(hass, gone.append, ble_car.address, connectable=True)
    states: list[bool] = []
    vehicle.listen_connection_status(states.append)
    await vehicle.connect()
    await vehicle.charge_state()

    # Out of reach while Home Assistant still has its last advertisement: the link drops and
    # the proxy cannot connect again.
    ble_car.in_range = False
    await hass.async_block_till_done()
    assert states == [True, False]
    with pytest.raises(BluetoothTransportError):
        await vehicle.charge_state()
    assert gone == []

    # It stops advertising and Home Assistant forgets it.
    sim_radio.lose(ble_car)
    await hass.async_block_till_done()
    assert [info.address for info in gone] == [ble_car.address]
    assert bluetooth.async_ble_device_from_address(hass, ble_car.address, True) is None
    sim_radio.advertise()  # a car out of range does not advertise
    assert bluetooth.async_ble_device_from_address(hass, ble_car.address, True) is None

    sim_radio.find(ble_car)
    device = bluetooth.async_ble_device_from_address(hass, ble_car.address, True)
    assert device is not None
    vehicle.set_device(device)
    assert (await vehicle.charge_state()).charge_limit_soc == sim.vehicle(1).charge_limit_soc
    await vehicle.disconnect()
