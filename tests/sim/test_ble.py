"""The car over Bluetooth LE: the real tesla-fleet-api VehicleBluetooth over SimBleakClient.

Nothing in the library is patched. ``bleak.BleakClient``, which the library looks up when it
connects, is bleak's own client with ``SimBleakClient`` as its backend (SimBleakClientFacade),
as Home Assistant puts its wrapper there (tests/sim/test_ble_home_assistant.py goes through
that one).
No sockets: the radio is in memory.
"""

from __future__ import annotations

import asyncio
import struct

import aiohttp
import bleak
from cryptography.hazmat.primitives.asymmetric import ec
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import (
    BluetoothTimeout,
    BluetoothTransportError,
    NotOnWhitelistFault,
    TeslaFleetMessageFaultUnknownKeyId,
    WhitelistOperationAttemptingToAddExistingKey,
)
from tesla_fleet_api.tesla.bluetooth import TeslaBluetooth
from tesla_fleet_api.tesla.vehicle.bluetooth import VehicleBluetooth
from tesla_protocol.command.keys_pb2 import Role
from tesla_protocol.command.vcsec_pb2 import (
    KeyMetadata,
    PermissionChange,
    PublicKey,
    SignatureType,
    SignedMessage,
    ToVCSECMessage,
    UnsignedMessage,
    VehicleSleepStatus_E,
    WhitelistOperation,
)

from fleet_sim import SimClock, Simulator, VehicleConfig
from fleet_sim.ble import BleCar, ble_address, ble_name, find
from fleet_sim.ble_bleak import SimBleakClientFacade, sim_device
from fleet_sim.vcp import public_point

from .const import START, TOKEN

ASLEEP = VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_ASLEEP
AWAKE = VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_AWAKE


@pytest.fixture(autouse=True)
def sim_bleak(monkeypatch: pytest.MonkeyPatch) -> None:
    """bleak's client with the simulated radio as its backend."""
    monkeypatch.setattr(bleak, "BleakClient", SimBleakClientFacade)


@pytest.fixture
def ble_sim() -> Simulator:
    """A simulator (not serving: BLE needs no HTTP) with a plugged-in car at 50 %; its
    protocol clock runs on real time, so jumps of sim time expire no command."""
    config = VehicleConfig(
        plugged_in=True, battery_level=50.0, charge_limit_soc=80, protocol_clock="wall"
    )
    return Simulator(clock=SimClock(start=START, speed=0), vehicles=[config])


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    """The client's key."""
    return ec.generate_private_key(ec.SECP256R1())


def client(sim: Simulator, key: ec.EllipticCurvePrivateKey, **kwargs: object) -> VehicleBluetooth:
    """The library's BLE vehicle for car 1, with the idle keep-alive off (tests are short)."""
    car = sim.ble(1)
    return VehicleBluetooth(
        TeslaBluetooth(),
        car.vin,
        key=key,
        device=sim_device(car),
        keepalive_interval=None,
        **kwargs,  # type: ignore[arg-type]
    )


def kinds(car: BleCar) -> list[str]:
    return [request.kind for request in car.requests]


def test_identity_follows_tesla() -> None:
    # protocol.md's example: VIN 5YJS0000000000000 advertises as S1a87a5a75f3df858C.
    assert ble_name("5YJS0000000000000") == "S1a87a5a75f3df858C"
    sim = Simulator()
    car = sim.ble(1)
    assert car.name == ble_name(car.vin) == TeslaBluetooth().get_name(car.vin)
    assert car.address == ble_address(car.vin)
    assert len(car.address.split(":")) == 6
    assert sim.ble(car.vin) is car
    assert sim.ble_cars == [car]
    assert find(car.address.lower()) is car


async def test_handshakes_charge_state_and_commands(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    car = ble_sim.vehicle(1)
    car.pair_key(key.public_key())
    vehicle = client(ble_sim, key)
    async with vehicle:
        await vehicle.handshakeVehicleSecurity()
        await vehicle.handshakeInfotainment()
        ble_sim.advance(600)  # 10 minutes of charging
        state = await vehicle.charge_state()
        json = car.charge_state()
        assert state.battery_level == json["battery_level"]
        assert state.charge_limit_soc == json["charge_limit_soc"] == 80
        assert state.charging_state.WhichOneof("type") == json["charging_state"] == "Charging"
        assert state.charger_actual_current == json["charger_actual_current"] == 16
        assert state.charge_current_request == json["charge_current_request"]
        assert state.charge_current_request_max == json["charge_current_request_max"]
        assert state.charger_phases == json["charger_phases"] == 2
        assert state.charger_voltage == json["charger_voltage"]
        assert state.charger_power == json["charger_power"]
        assert state.charge_port_door_open is json["charge_port_door_open"] is True
        assert state.conn_charge_cable.WhichOneof("type") == "IEC"
        assert state.charge_energy_added == pytest.approx(json["charge_energy_added"], abs=1e-3)
        assert state.minutes_to_full_charge == json["minutes_to_full_charge"]
        assert state.timestamp.ToMilliseconds() == json["timestamp"]

        assert (await vehicle.set_charging_amps(10))["response"]["result"] is True
        assert car.charge_current_request == 10
        assert (await vehicle.set_charge_limit(90))["response"]["result"] is True
        assert car.charge_limit_soc == 90
        assert (await vehicle.charge_stop())["response"]["result"] is True
        assert car.charging_state == "Stopped"
        assert (await vehicle.charge_start())["response"]["result"] is True
        assert car.charging_state == "Starting"
        refused = await vehicle.charge_start()
        assert refused["response"] == {"result": False, "reason": "requested"}

        drive = await vehicle.drive_state()
        assert drive.shift_state.WhichOneof("type") == "P"
        location = await vehicle.location_state()
        assert location.latitude == pytest.approx(car.latitude, abs=1e-4)
        assert location.longitude == pytest.approx(car.longitude, abs=1e-4)
        assert await vehicle.query_display_name(max_attempts=1) == car.display_name
        assert await vehicle.query_version() == 1

    # The same command records as the signed_command path, signed.
    assert [(c.name, c.result, c.signed) for c in car.commands] == [
        ("set_charging_amps", True, True),
        ("set_charge_limit", True, True),
        ("charge_stop", True, True),
        ("charge_start", True, True),
        ("charge_start", False, True),
    ]
    ble_car = ble_sim.ble(1)
    assert kinds(ble_car)[:3] == ["session_info", "session_info", "vehicle_data"]
    assert "set_charging_amps" in kinds(ble_car)
    assert "charge_start" in kinds(ble_car)
    # Every exchange went over Bluetooth, for free; nothing went to the cloud.
    assert ble_sim.ledger.count(transport="cloud") == 0
    assert ble_sim.ledger.count(transport="bluetooth") == len(ble_car.requests)
    assert ble_sim.ledger.cost() == 0.0
    assert ble_sim.ledger.by_transport()["bluetooth"]["count"] == len(ble_car.requests)


async def test_answers_span_several_notifications(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    ble_sim.vehicle(1).pair_key(key.public_key())
    ble_sim.ble(1).mtu = 23  # the smallest MTU: 20 bytes a notification
    async with client(ble_sim, key) as vehicle:
        state = await vehicle.charge_state()
    assert state.charge_limit_soc == 80


async def test_a_sleeping_car_over_ble(ble_sim: Simulator, key: ec.EllipticCurvePrivateKey) -> None:
    car = ble_sim.vehicle(1)
    car.pair_key(key.public_key())
    car.unplug()
    car.fall_asleep()
    vehicle = client(ble_sim, key, wake_if_asleep=False)
    async with vehicle:
        # VCSEC answers while infotainment sleeps, and reading it wakes nothing.
        assert (await vehicle.vehicle_state()).vehicleSleepStatus == ASLEEP
        assert car.state == "asleep"
        # Infotainment is silent: the command times out (the library's 5 s) and never ran.
        with pytest.raises(BluetoothTimeout):
            await vehicle.charge_start()
        assert car.commands == []
        assert car.state == "asleep"
        silent = [r for r in ble_sim.ble(1).requests if not r.answered]
        assert silent
        assert {r.domain for r in silent} == {"infotainment"}
        # The RKE wake over BLE wakes it, free of charge.
        await vehicle.wake_up(wait=True, timeout=5)
        assert car.state == "online"
        assert (await vehicle.vehicle_state()).vehicleSleepStatus == AWAKE
    assert "wake" in kinds(ble_sim.ble(1))
    assert ble_sim.ledger.count(transport="cloud") == 0
    assert ble_sim.ledger.cost() == 0.0


async def test_wake_takes_the_cars_wake_delay(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    car = ble_sim.vehicle(1)
    car.pair_key(key.public_key())
    car.unplug()
    car.fall_asleep()
    ble_sim.ble(1).wake_delay = 10
    async with client(ble_sim, key) as vehicle:
        waking = asyncio.ensure_future(vehicle.wake_up(wait=True, timeout=10))
        await asyncio.sleep(0.2)
        assert not waking.done()
        assert car.state == "asleep"
        ble_sim.advance(10)
        await asyncio.wait_for(waking, 5)
        assert car.state == "online"


async def test_a_command_wakes_a_sleeping_car_by_default(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    car = ble_sim.vehicle(1)
    car.pair_key(key.public_key())
    car.fall_asleep()  # the charge stops
    async with client(ble_sim, key) as vehicle:
        result = await vehicle.charge_start()
    assert result["response"]["result"] is True
    assert car.state == "online"
    assert car.charging_state == "Starting"


async def test_infotainment_traffic_keeps_an_awake_car_awake_vcsec_does_not(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    car = ble_sim.vehicle(1)
    car.pair_key(key.public_key())
    car.unplug()
    async with client(ble_sim, key) as vehicle:
        for _ in range(3):
            ble_sim.advance(car.sleep_after * 0.8)
            await vehicle.charge_state()
        assert car.state == "online"
        # The security computer's status, read as often as one likes, lets the car fall asleep.
        for _ in range(3):
            ble_sim.advance(car.sleep_after * 0.4)
            await vehicle.vehicle_state()
        assert car.state == "asleep"


async def test_pairing_waits_for_the_key_card(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    car = ble_sim.vehicle(1)
    ble_car = ble_sim.ble(1)
    ble_car.pairing_wait_status = False
    vehicle = client(ble_sim, key)
    async with vehicle:
        pairing = asyncio.ensure_future(vehicle.pair(timeout=10, poll_interval=0.05))
        await asyncio.sleep(0.3)
        assert not pairing.done()
        assert ble_car.pairing_pending
        assert car.paired_keys == []
        assert ble_car.tap_key_card() is True
        await asyncio.wait_for(pairing, 5)
        assert not ble_car.pairing_pending
        assert car.paired_keys == [public_point(key.public_key())]
        assert ble_car.tap_key_card() is False
        assert (await vehicle.set_charging_amps(8))["response"]["result"] is True
    assert car.charge_current_request == 8
    assert "pair" in kinds(ble_car)
    assert ble_sim.ledger.count(transport="cloud") == 0


async def test_pairing_as_protocol_md_answers_it(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    """protocol.md: VCSEC answers OPERATIONSTATUS_WAIT at once while it waits for the card.

    tesla-fleet-api 1.18.1 takes that first answer for the end of pair(): it returns before
    the tap, and the key is not paired yet. Only a VCSEC handshake tells.
    """
    car = ble_sim.vehicle(1)
    ble_car = ble_sim.ble(1)
    vehicle = client(ble_sim, key)
    async with vehicle:
        await vehicle.pair(timeout=5, poll_interval=0.05)
        assert ble_car.pairing_pending
        assert car.paired_keys == []
        with pytest.raises(NotOnWhitelistFault):
            await vehicle.handshakeVehicleSecurity()
        ble_car.tap_key_card()
    async with vehicle:
        await vehicle.handshakeVehicleSecurity()
        assert (await vehicle.charge_stop())["response"]["result"] is True


async def test_auto_tap_and_a_key_already_paired(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    ble_car = ble_sim.ble(1)
    ble_car.auto_tap = True
    async with client(ble_sim, key) as vehicle:
        await vehicle.pair(timeout=5, poll_interval=0.05)
        assert ble_sim.vehicle(1).paired_keys == [public_point(key.public_key())]
        with pytest.raises(WhitelistOperationAttemptingToAddExistingKey):
            await vehicle.pair(timeout=5, poll_interval=0.05)
    assert not ble_car.pairing_pending


async def test_an_unknown_key_is_refused(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    vehicle = client(ble_sim, key)
    with pytest.raises(NotOnWhitelistFault):
        async with vehicle:
            await vehicle.handshakeVehicleSecurity()
    with pytest.raises(TeslaFleetMessageFaultUnknownKeyId):
        async with vehicle:
            await vehicle.charge_state()
    assert ble_sim.vehicle(1).commands == []


def test_vehicle_commands_bare_add_key_request_pends(ble_sim: Simulator) -> None:
    """vehicle-command's own add-key request: a bare ToVCSECMessage, PRESENT_KEY."""
    ble_car = ble_sim.ble(1)
    received: list[bytes] = []
    link = ble_car.connect(received.append, lambda: None)
    point = public_point(ec.generate_private_key(ec.SECP256R1()).public_key())
    operation = UnsignedMessage(
        WhitelistOperation=WhitelistOperation(
            addKeyToWhitelistAndAddPermissions=PermissionChange(
                key=PublicKey(PublicKeyRaw=point), keyRole=Role.ROLE_CHARGING_MANAGER
            ),
            metadataForKey=KeyMetadata(),
        )
    )
    envelope = ToVCSECMessage(
        signedMessage=SignedMessage(
            protobufMessageAsBytes=operation.SerializeToString(),
            signatureType=SignatureType.SIGNATURE_TYPE_PRESENT_KEY,
        )
    ).SerializeToString()
    link.write(struct.pack(">H", len(envelope)) + envelope)
    assert ble_car.pairing_pending
    assert received  # the WAIT answer
    assert ble_car.tap_key_card()
    assert point in ble_sim.vehicle(1).paired_keys


async def test_out_of_range_and_a_dropped_link(
    ble_sim: Simulator, key: ec.EllipticCurvePrivateKey
) -> None:
    ble_sim.vehicle(1).pair_key(key.public_key())
    ble_car = ble_sim.ble(1)
    vehicle = client(ble_sim, key)
    states: list[bool] = []
    vehicle.listen_connection_status(states.append)
    await vehicle.connect()
    await vehicle.charge_state()
    ble_car.in_range = False  # the car drives away mid-session
    await asyncio.sleep(0)
    assert states == [True, False]
    assert ble_car.links == []
    with pytest.raises(BluetoothTransportError):
        await vehicle.charge_state()
    with pytest.raises(BluetoothTransportError):
        await vehicle.connect(max_attempts=1)
    ble_car.in_range = True
    assert (await vehicle.charge_state()).charge_limit_soc == 80
    await vehicle.disconnect()
    assert ble_car.links == []


async def test_a_key_paired_over_ble_signs_fleet_commands(
    socket_enabled: None, key: ec.EllipticCurvePrivateKey
) -> None:
    async with Simulator(clock=SimClock(start=START, speed=0), token=TOKEN) as sim:
        ble_car = sim.ble(1)
        ble_car.auto_tap = True
        async with client(sim, key) as vehicle:
            await vehicle.pair(timeout=5, poll_interval=0.05)
        async with aiohttp.ClientSession() as session:
            api = TeslaFleetApi(session, access_token=TOKEN, server=sim.url)
            api.private_key = key
            signed = api.vehicles.createSigned(ble_car.vin)
            assert (await signed.set_charging_amps(12))["response"]["result"] is True
        assert sim.vehicle(1).charge_current_request == 12
        assert sim.ledger.count(transport="cloud") == 2  # the handshake and the command
        assert sim.ledger.cost(transport="cloud") == pytest.approx(0.002)
        assert sim.ledger.cost(transport="bluetooth") == 0.0
        link = ble_car.connect(lambda _: None, lambda: None)
    # A stopped simulator drops its links and its cars leave the radio.
    assert not link.connected
    assert find(ble_car.address) is None
