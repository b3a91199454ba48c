"""signed_command: the real tesla_fleet_api VehicleSigned client against the simulated car side.

Nothing in the library is patched: it signs with its own key (``get_private_key``), handshakes,
signs with HMAC_Personalized, checks the session-info tags and resyncs from fault answers itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import (
    Forbidden,
    NotOnWhitelistFault,
    TeslaFleetMessageFaultBadParameter,
    TeslaFleetMessageFaultBusy,
    TeslaFleetMessageFaultInvalidCommand,
    TeslaFleetMessageFaultInvalidSignature,
    TeslaFleetMessageFaultTimeExpired,
    TeslaFleetMessageFaultUnknownKeyId,
    VehicleOffline,
)
from tesla_fleet_api.tesla import VehicleFleet, VehicleSigned
from tesla_protocol.command.universal_message_pb2 import Domain

from fleet_sim import SimClock, Simulator, VehicleConfig
from fleet_sim.faults import COMMAND_PROTOCOL_REQUIRED, VEHICLE_UNAVAILABLE
from fleet_sim.vcp import INFOTAINMENT, VCSEC, public_point

from .const import TOKEN

SIGNED_PATH = "/signed_command"


def client_point(api: TeslaFleetApi) -> bytes:
    """The uncompressed public point of the key the library signs with."""
    assert api.private_key is not None
    return public_point(api.private_key.public_key())


@pytest.fixture
async def key_api(api: TeslaFleetApi, tmp_path: Path) -> TeslaFleetApi:
    """The library with a command key of its own, created in a temporary file."""
    await api.get_private_key(str(tmp_path / "private_key.pem"))
    return api


@pytest.fixture
def signed(key_api: TeslaFleetApi, sim: Simulator) -> VehicleSigned[TeslaFleetApi]:
    """The library's signing vehicle for car 1, whose key car 1 knows."""
    sim.vehicle(1).pair_key(client_point(key_api))
    return key_api.vehicles.createSigned(sim.vehicle(1).vin)


def result(answer: dict[str, Any]) -> tuple[object, object]:
    """(result, reason) of a command answer."""
    return answer["response"]["result"], answer["response"]["reason"]


def signed_requests(sim: Simulator) -> list[int]:
    """The statuses of the signed_command requests in the ledger."""
    return [entry.status for entry in sim.ledger.entries if entry.path.endswith(SIGNED_PATH)]


@pytest.fixture
async def twin_sim(socket_enabled: None, clock: SimClock) -> AsyncIterator[Simulator]:
    """Two identical cars: car 1 for signed commands, car 2 for plain ones."""
    configs = [VehicleConfig(auto_start_on_plug=False, battery_level=60) for _ in range(2)]
    async with Simulator(clock=clock, token=TOKEN, vehicles=configs) as simulator:
        yield simulator


async def test_signed_commands_change_the_car_exactly_as_plain_ones(
    twin_sim: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    api = TeslaFleetApi(session, access_token=TOKEN, server=twin_sim.url)
    await api.get_private_key(str(tmp_path / "key.pem"))
    signed_car, plain_car = twin_sim.vehicle(1), twin_sim.vehicle(2)
    signed_car.pair_key(client_point(api))
    signed = api.vehicles.createSigned(signed_car.vin)
    plain = VehicleFleet(api, plain_car.vin)
    steps: list[tuple[str, tuple[Any, ...]]] = [
        ("charge_start", ()),  # disconnected
        ("plug", ()),
        ("charge_start", ()),
        ("charge_start", ()),  # requested (Starting)
        ("set_charging_amps", (10,)),
        ("set_charging_amps", (3,)),  # 5 A first
        ("set_charging_amps", (3,)),  # then 3 A
        ("set_charge_limit", (90,)),
        ("set_charge_limit", (90,)),  # already_set
        ("set_charge_limit", (40,)),  # out of range
        ("charge_stop", ()),
        ("charge_stop", ()),  # not_charging
        ("charge_start", ()),
        ("charge_port_door_open", ()),  # VCSEC on the signed side; releases the cable
    ]
    answers: list[tuple[object, object]] = []
    for name, arguments in steps:
        if name == "plug":
            signed_car.plug_in()
            plain_car.plug_in()
            continue
        signed_answer = result(await getattr(signed, name)(*arguments))
        plain_answer = result(await getattr(plain, name)(*arguments))
        assert signed_answer == plain_answer, name
        assert signed_car.charge_state() == plain_car.charge_state(), name
        answers.append(signed_answer)
    assert answers[0] == (False, "disconnected")
    assert (False, "already_set") in answers
    assert (False, "charge_limit_out_of_range") in answers
    assert signed_car.charging_state == "Stopped"  # the port opened: the cable is released
    assert signed_car.charge_state()["charge_port_latch"] == "Disengaged"
    assert signed_car.charge_current_request == 3
    assert signed_car.charge_limit_soc == 90
    # The same records, only marked as signed.
    assert [(c.name, c.body, c.result, c.reason) for c in signed_car.commands] == [
        (c.name, c.body, c.result, c.reason) for c in plain_car.commands
    ]
    assert all(c.signed for c in signed_car.commands)
    assert not any(c.signed for c in plain_car.commands)
    assert signed_car.commands[3].body == {"charging_amps": 10}
    assert signed_car.commands[6].body == {"percent": 90}
    # Billing: one command each way, plus one handshake per domain on the signed side.
    assert twin_sim.ledger.count("command", vin=plain_car.vin) == len(answers)
    assert twin_sim.ledger.count("command", vin=signed_car.vin) == len(answers) + 2
    assert all(e.price == pytest.approx(0.001) for e in twin_sim.ledger.entries)


async def test_handshake_gives_the_cars_session_info(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    car = sim.vehicle(1)
    sim.advance(42)
    await signed.handshakeInfotainment()
    session = signed._sessions[Domain.DOMAIN_INFOTAINMENT]
    computer = car.vcp.computer(INFOTAINMENT)
    # The library checked the session_info_tag (it raises otherwise) and took over the values.
    assert session.epoch == computer.epoch
    assert len(computer.epoch) == 16
    assert session.publicKey == computer.public_key
    assert session.counter == 0
    assert session._last_authenticated_clock_time == 42
    # One key per domain, generated once: the VCSEC computer has another.
    await signed.handshakeVehicleSecurity()
    vcsec = signed._sessions[Domain.DOMAIN_VEHICLE_SECURITY]
    assert vcsec.publicKey == car.vcp.computer(VCSEC).public_key != computer.public_key
    assert vcsec.epoch != session.epoch
    assert signed_requests(sim) == [200, 200]
    # A handshake reaches the car, so it is billed like a command.
    assert sim.ledger.count("command") == 2
    assert sim.ledger.cost("command") == pytest.approx(0.002)
    assert car.commands == []


async def test_unpaired_key_is_refused(
    sim: Simulator, key_api: TeslaFleetApi, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    car = sim.vehicle(1)
    signed = key_api.vehicles.createSigned(car.vin)
    car.plug_in()
    sim.advance(5)
    # Infotainment answers the handshake of an unknown key with UNKNOWN_KEY_ID...
    with pytest.raises(TeslaFleetMessageFaultUnknownKeyId):
        await signed.charge_stop()
    # ...VCSEC with a session info that says the key is not on its whitelist.
    with pytest.raises(NotOnWhitelistFault):
        await signed.charge_port_door_open()
    assert car.commands == []
    assert car.charging_state == "Charging"
    assert sim.ledger.count("command") == 2  # both refusals are billed

    # Another key is paired: ours still is not.
    other = TeslaFleetApi(session, access_token=TOKEN, server=sim.url)
    await other.get_private_key(str(tmp_path / "other.pem"))
    car.pair_key(client_point(other))
    with pytest.raises(TeslaFleetMessageFaultUnknownKeyId):
        await signed.charge_stop()
    assert result(await other.vehicles.createSigned(car.vin).charge_stop()) == (True, "")


async def test_unpairing_a_key_revokes_its_session(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi], key_api: TeslaFleetApi
) -> None:
    car = sim.vehicle(1)
    assert result(await signed.set_charge_limit(70)) == (True, "")
    car.unpair_key(client_point(key_api))
    assert car.paired_keys == []
    # The session is open, but the car no longer knows the key that signs.
    with pytest.raises(TeslaFleetMessageFaultUnknownKeyId):
        await signed.set_charge_limit(75)
    assert car.charge_limit_soc == 70
    car.pair_key(client_point(key_api))
    assert result(await signed.set_charge_limit(75)) == (True, "")


async def test_wrong_signature_is_refused_then_the_client_resyncs(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    car = sim.vehicle(1)
    await signed.handshakeInfotainment()
    session = signed._sessions[Domain.DOMAIN_INFOTAINMENT]
    good_key = session.hmac
    session.hmac = bytes(32)  # the client signs with the wrong key
    with pytest.raises(TeslaFleetMessageFaultInvalidSignature):
        await signed.set_charge_limit(70)
    assert car.charge_limit_soc == 80
    assert car.commands == []
    # The refusal carried the car's authenticated session info: the library took its keys back.
    assert session.hmac == good_key
    assert result(await signed.set_charge_limit(70)) == (True, "")
    assert car.charge_limit_soc == 70


async def test_expired_command_is_refused_then_the_client_resyncs(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    car = sim.vehicle(1)
    await signed.handshakeInfotainment()
    # The library lets a command live 10 s on the car's clock: 5 s of sim time is fine...
    sim.advance(5)
    assert result(await signed.set_charge_limit(70)) == (True, "")
    # ...a minute is not: the command expired before it arrived.
    sim.advance(60)
    with pytest.raises(TeslaFleetMessageFaultTimeExpired):
        await signed.set_charge_limit(75)
    assert car.charge_limit_soc == 70
    assert len(car.commands) == 1
    # The refusal carried the car's clock; the library's next command expires in time.
    assert result(await signed.set_charge_limit(75)) == (True, "")
    assert car.charge_limit_soc == 75


async def test_wall_protocol_clock_ignores_jumps_in_sim_time(
    sim: Simulator, key_api: TeslaFleetApi
) -> None:
    key = client_point(key_api)
    wall = sim.add_vehicle(VehicleConfig(paired_keys=[key], protocol_clock="wall"))
    simulated = sim.add_vehicle(VehicleConfig(paired_keys=[key]))
    wall_client = key_api.vehicles.createSigned(wall.vin)
    sim_client = key_api.vehicles.createSigned(simulated.vin)
    for car, client in ((wall, wall_client), (simulated, sim_client)):
        await client.handshakeInfotainment()
        car.plug_in()  # charging keeps it awake through the hour
    sim.advance(3600)
    assert result(await wall_client.charge_stop()) == (True, "")
    # On the default sim clock the same hour outlives the command's 10 s.
    with pytest.raises(TeslaFleetMessageFaultTimeExpired):
        await sim_client.charge_stop()
    assert [len(wall.commands), len(simulated.commands)] == [1, 0]
    with pytest.raises(ValueError, match="protocol_clock"):
        sim.add_vehicle(VehicleConfig(protocol_clock="gps"))


async def test_reboot_makes_the_library_resync_and_succeed(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    car = sim.vehicle(1)
    assert result(await signed.set_charge_limit(70)) == (True, "")
    old_epoch = car.vcp.computer(INFOTAINMENT).epoch
    car.reboot()
    new_epoch = car.vcp.computer(INFOTAINMENT).epoch
    assert new_epoch != old_epoch
    sim.ledger.clear()
    # One call: INCORRECT_EPOCH with the new session info, then the library sends it again.
    assert result(await signed.set_charge_limit(75)) == (True, "")
    assert signed_requests(sim) == [200, 200]
    assert signed._sessions[Domain.DOMAIN_INFOTAINMENT].epoch == new_epoch
    assert [c.body for c in car.commands] == [{"percent": 70}, {"percent": 75}]
    # A new client after the reboot just handshakes.
    fresh = signed.parent.vehicles.createSigned(car.vin)
    assert result(await fresh.set_charge_limit(76)) == (True, "")


async def test_counter_out_of_sync_is_refused_then_the_client_resyncs(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi], key_api: TeslaFleetApi
) -> None:
    car = sim.vehicle(1)
    # A second client with the same key (say, an earlier process) handshakes at counter 0...
    other = key_api.vehicles.createSigned(car.vin)
    await other.handshakeInfotainment()
    for percent in (60, 61, 62):
        assert result(await signed.set_charge_limit(percent)) == (True, "")
    # ...then sends counter 1, which the car has seen: refused, resynced to 3, sent as 4.
    sim.ledger.clear()
    assert result(await other.set_charge_limit(63)) == (True, "")
    assert signed_requests(sim) == [200, 200]
    assert other._sessions[Domain.DOMAIN_INFOTAINMENT].counter == 4
    assert [c.body["percent"] for c in car.commands] == [60, 61, 62, 63]


async def test_asleep_car_answers_408(sim: Simulator, signed: VehicleSigned[TeslaFleetApi]) -> None:
    car = sim.vehicle(1)
    car.fall_asleep()
    with pytest.raises(VehicleOffline) as err:
        await signed.charge_start()  # the handshake cannot reach the car
    assert err.value.data is not None
    assert err.value.data["error"] == VEHICLE_UNAVAILABLE
    assert car.state == "asleep"
    car.go_online()
    await signed.handshakeInfotainment()
    car.fall_asleep()
    with pytest.raises(VehicleOffline):
        await signed.set_charge_limit(70)  # a command to a car that fell asleep
    assert car.commands == []
    assert car.state == "asleep"  # a refused request wakes nothing
    # Billed like the plain command endpoint's 408.
    assert signed_requests(sim) == [408, 200, 408]
    assert [e.price for e in sim.ledger.entries] == pytest.approx([0.001] * 3)
    # Once awake it works again. Waking took 20 s of sim time, more than a command lives on
    # the car's (sim) clock: a client that knows the car slept handshakes again first.
    await signed.wake_up()
    sim.advance(sim.wake_delay)
    await signed.handshakeInfotainment()
    assert result(await signed.set_charge_limit(70)) == (True, "")


async def test_signed_commands_keep_the_car_awake(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    car = sim.vehicle(1)
    sim.advance(sim.sleep_after - 100)
    await signed.handshakeInfotainment()  # reaches the car: the quiet time starts again
    sim.advance(sim.sleep_after - 100)
    assert car.state == "online"
    sim.advance(100)
    assert car.state == "asleep"


async def test_car_requiring_signed_commands_refuses_plain_ones(
    sim: Simulator, key_api: TeslaFleetApi
) -> None:
    car = sim.add_vehicle(
        VehicleConfig(requires_signed_commands=True, paired_keys=[client_point(key_api)])
    )
    car.plug_in()
    sim.advance(5)
    with pytest.raises(Forbidden) as err:
        await VehicleFleet(key_api, car.vin).charge_stop()
    assert err.value.data is not None
    assert err.value.data["error"] == COMMAND_PROTOCOL_REQUIRED
    assert car.charging_state == "Charging"
    assert car.commands == []
    assert sim.ledger.entries[-1].status == 403
    assert sim.ledger.entries[-1].price == pytest.approx(0.001)
    # The signed path works on the same car.
    assert result(await key_api.vehicles.createSigned(car.vin).charge_stop()) == (True, "")
    assert car.charging_state == "Stopped"
    # Car 1 takes both.
    assert result(await VehicleFleet(key_api, sim.vehicle(1).vin).charge_stop()) == (
        False,
        "not_charging",
    )


async def test_injected_message_faults(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    car = sim.vehicle(1)
    await signed.handshakeInfotainment()
    car.vcp.inject_fault("MESSAGEFAULT_ERROR_BUSY")
    with pytest.raises(TeslaFleetMessageFaultBusy):
        await signed.set_charge_limit(70)
    assert car.commands == []
    # A sync fault carries the session info: the library resyncs and sends again by itself.
    car.vcp.inject_fault("MESSAGEFAULT_ERROR_INCORRECT_EPOCH", count=2)
    sim.ledger.clear()
    assert result(await signed.set_charge_limit(70)) == (True, "")
    assert signed_requests(sim) == [200, 200, 200]
    assert car.vcp.pending_faults == []
    assert [c.body for c in car.commands] == [{"percent": 70}]


async def test_ping_and_unmodelled_commands(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    answer = await signed.ping()
    assert answer["response"]["result"] is True
    assert answer["response"]["reason"].seconds == int(sim.now())
    # Commands the simulated car does not model: INVALID_COMMAND, in both domains.
    with pytest.raises(TeslaFleetMessageFaultInvalidCommand):
        await signed.honk_horn()
    with pytest.raises(TeslaFleetMessageFaultInvalidCommand):
        await signed.charge_max_range()
    with pytest.raises(TeslaFleetMessageFaultInvalidCommand):
        await signed.door_lock()
    with pytest.raises(TeslaFleetMessageFaultInvalidCommand):
        await signed.charge_port_door_close()
    # A value the REST endpoint answers with 400 invalid_field.
    with pytest.raises(TeslaFleetMessageFaultBadParameter):
        await signed.set_charging_amps(-1)
    assert sim.vehicle(1).commands == []


async def test_vcsec_refusal_is_a_nominal_error(
    sim: Simulator, signed: VehicleSigned[TeslaFleetApi]
) -> None:
    calls: list[str] = []

    def refuse(name: str, body: dict[str, Any]) -> tuple[bool, str]:
        calls.append(name)
        return False, "busy_with_something"

    sim.vehicle(1).vcp.execute = refuse
    assert result(await signed.charge_port_door_open()) == (False, "GENERICERROR_UNKNOWN")
    assert calls == ["charge_port_door_open"]


async def test_aes_gcm_requests_and_encrypted_responses(
    sim: Simulator, key_api: TeslaFleetApi
) -> None:
    """The library's own AES-GCM signer (its BLE path) over signed_command: the car decrypts the
    request, and because the library sets FLAG_ENCRYPT_RESPONSE, encrypts its answer, which the
    library decrypts and checks. The real Fleet API blocks AES-GCM (README); the car accepts it."""

    class AesVehicle(VehicleSigned[TeslaFleetApi]):
        _auth_method = "aes"

    car = sim.vehicle(1)
    car.pair_key(client_point(key_api))
    aes = AesVehicle(key_api, car.vin)
    assert result(await aes.charge_start()) == (False, "disconnected")
    car.plug_in()
    assert result(await aes.charge_stop()) == (True, "")
    assert result(await aes.charge_port_door_open()) == (True, "")
    assert [c.name for c in car.commands] == [
        "charge_start",
        "charge_stop",
        "charge_port_door_open",
    ]
    # The library recorded each encrypted response's counter (its anti-replay check).
    assert len(aes._sessions[Domain.DOMAIN_INFOTAINMENT].response_counters) == 2
    assert len(aes._sessions[Domain.DOMAIN_VEHICLE_SECURITY].response_counters) == 1
