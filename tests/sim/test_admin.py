"""The admin HTTP surface under /sim/."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import (
    Forbidden,
    ServiceUnavailable,
    TeslaFleetMessageFaultUnknownKeyId,
)
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import Simulator
from fleet_sim.vcp import INFOTAINMENT, public_point

from .const import START


async def admin(
    session: aiohttp.ClientSession,
    sim: Simulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    status: int = 200,
) -> Any:
    """Call the admin API and return the JSON answer after checking the status."""
    async with session.request(method, f"{sim.url}{path}", json=body) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def test_vehicles_listing_and_detail(sim: Simulator, session: aiohttp.ClientSession) -> None:
    listing = await admin(session, sim, "GET", "/sim/vehicles")
    assert [v["vin"] for v in listing["vehicles"]] == list(sim.vehicles)
    first = listing["vehicles"][0]
    assert first["state"] == "online"
    assert first["charging_state"] == "Disconnected"
    assert "charge_state" not in first
    by_index = await admin(session, sim, "GET", "/sim/vehicles/1")
    by_vin = await admin(session, sim, "GET", f"/sim/vehicles/{first['vin']}")
    assert by_index == by_vin
    assert by_vin["charge_state"]["charging_state"] == "Disconnected"
    assert by_vin["wall_charger"] == {"max_amps": 16, "supply_phases": 3, "supply_voltage": 230.0}
    await admin(session, sim, "GET", "/sim/vehicles/7", status=404)
    await admin(session, sim, "GET", "/sim/vehicles/NOPE", status=404)


async def test_plug_advance_unplug(sim: Simulator, session: aiohttp.ClientSession) -> None:
    plugged = await admin(session, sim, "POST", "/sim/vehicles/1/plug_in")
    assert plugged["plugged_in"] is True
    assert plugged["charging_state"] == "Starting"
    now = await admin(session, sim, "POST", "/sim/advance", {"seconds": 3605})
    assert now == {"now": START + 3605}
    detail = await admin(session, sim, "GET", "/sim/vehicles/1")
    assert detail["energy_added_kwh"] == pytest.approx(11.04)
    assert detail["charge_state"]["charger_power"] == 11
    unplugged = await admin(session, sim, "POST", "/sim/vehicles/1/unplug")
    assert unplugged["charging_state"] == "Disconnected"
    replug = await admin(
        session,
        sim,
        "POST",
        "/sim/vehicles/1/plug_in",
        {"wall_max_amps": 32, "supply_phases": 1, "supply_voltage": 240},
    )
    assert replug["wall_charger"] == {"max_amps": 32, "supply_phases": 1, "supply_voltage": 240.0}


async def test_move_battery_wall_power_state(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    moved = await admin(
        session, sim, "POST", "/sim/vehicles/1/move", {"latitude": 48.1, "longitude": 11.5}
    )
    assert (moved["latitude"], moved["longitude"]) == (48.1, 11.5)
    battery = await admin(session, sim, "POST", "/sim/vehicles/1/battery", {"level": 33.5})
    assert battery["battery_level"] == 33.5
    assert battery["charge_state"]["battery_level"] == 33
    wall = await admin(session, sim, "POST", "/sim/vehicles/1/wall_charger", {"max_amps": 32})
    assert wall["wall_charger"]["max_amps"] == 32
    assert wall["charge_state"]["charge_current_request_max"] == 32
    await admin(session, sim, "POST", "/sim/vehicles/1/plug_in")
    await admin(session, sim, "POST", "/sim/advance", {"seconds": 5})
    power = await admin(session, sim, "POST", "/sim/vehicles/1/power", {"available": False})
    assert power["charging_state"] == "NoPower"
    assert power["power_available"] is False
    for state in ("asleep", "offline", "online"):
        answer = await admin(session, sim, "POST", "/sim/vehicles/1/state", {"state": state})
        assert answer["state"] == state


async def test_wall_charger_keeps_the_supply_it_is_not_given(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    body = {"wall_max_amps": 32, "supply_phases": 1, "supply_voltage": 240}
    await admin(session, sim, "POST", "/sim/vehicles/1/plug_in", body)
    await admin(session, sim, "POST", "/sim/advance", {"seconds": 5})
    lowered = await admin(session, sim, "POST", "/sim/vehicles/1/wall_charger", {"max_amps": 10})
    assert lowered["wall_charger"] == {"max_amps": 10, "supply_phases": 1, "supply_voltage": 240.0}
    assert lowered["charge_state"]["charger_phases"] == 1
    assert lowered["charge_state"]["charger_voltage"] == 240
    assert sim.vehicle(1).charge_power_w == 2400
    explicit = await admin(
        session,
        sim,
        "POST",
        "/sim/vehicles/1/wall_charger",
        {"max_amps": 16, "supply_phases": 3, "supply_voltage": None},
    )
    assert explicit["wall_charger"] == {"max_amps": 16, "supply_phases": 3, "supply_voltage": 240.0}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sim/vehicles/1/move", {"latitude": 91, "longitude": 0}),
        ("/sim/vehicles/1/move", {"latitude": "north", "longitude": 0}),
        ("/sim/vehicles/1/battery", {"level": 101}),
        ("/sim/vehicles/1/battery", {}),
        ("/sim/vehicles/1/wall_charger", {"max_amps": 16.5}),
        ("/sim/vehicles/1/wall_charger", {"max_amps": 16, "supply_phases": 4}),
        ("/sim/vehicles/1/wall_charger", {"max_amps": 16, "supply_voltage": "high"}),
        ("/sim/vehicles/1/wall_charger", {"supply_phases": 1}),
        ("/sim/vehicles/1/plug_in", {"wall_max_amps": 0}),
        ("/sim/vehicles/1/plug_in", {"supply_voltage": "high"}),
        ("/sim/vehicles/1/power", {"available": "yes"}),
        ("/sim/vehicles/1/state", {"state": "charging"}),
        ("/sim/vehicles/1/battery", [1, 2]),
        ("/sim/advance", {"seconds": -1}),
        ("/sim/advance", {"seconds": True}),
        ("/sim/clock", {"speed": -2}),
        ("/sim/faults", {"kind": "status"}),
        ("/sim/faults", {"status": 500, "colour": "red"}),
        ("/sim/faults", {"kind": 5}),
        ("/sim/faults", {"status": 500, "path": 3}),
        ("/sim/token", {"token": ""}),
    ],
)
async def test_bad_admin_input_is_400_and_changes_nothing(
    sim: Simulator, session: aiohttp.ClientSession, path: str, body: Any
) -> None:
    before = sim.vehicle(1).snapshot()
    answer = await admin(session, sim, "POST", path, body, status=400)
    assert answer["error"]
    assert sim.vehicle(1).snapshot() == before
    assert sim.faults.pending == []
    assert sim.clock.speed == 0
    assert sim.token == "sim-test-token"


async def test_invalid_json_and_unknown_action(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(f"{sim.url}/sim/vehicles/1/move", data=b"{lat") as response:
        assert response.status == 400
        assert (await response.json())["error"] == "the body is not valid JSON"
    answer = await admin(session, sim, "POST", "/sim/vehicles/1/explode", status=404)
    assert answer["error"] == "unknown action explode"
    await admin(session, sim, "POST", "/sim/vehicles/9/unplug", status=404)


async def test_faults_over_http(
    sim: Simulator, session: aiohttp.ClientSession, car: VehicleFleet[TeslaFleetApi]
) -> None:
    created = await admin(
        session,
        sim,
        "POST",
        "/sim/faults",
        {"status": 503, "count": None, "path": "vehicle_data", "error": "busy"},
        status=201,
    )
    assert created["status"] == 503
    assert created["remaining"] is None
    await admin(session, sim, "POST", "/sim/faults", {"kind": "hang", "seed": 1}, status=201)
    listed = await admin(session, sim, "GET", "/sim/faults")
    assert [f["kind"] for f in listed["faults"]] == ["status", "hang"]
    await admin(session, sim, "DELETE", "/sim/faults")
    await admin(
        session,
        sim,
        "POST",
        "/sim/faults",
        {"status": 503, "path": "vehicle_data", "retry_after": 3},
        status=201,
    )
    with pytest.raises(ServiceUnavailable):
        await car.vehicle_data()
    assert (await admin(session, sim, "GET", "/sim/faults"))["faults"] == []


async def test_ledger_over_http(
    sim: Simulator, session: aiohttp.ClientSession, car: VehicleFleet[TeslaFleetApi]
) -> None:
    await car.wake_up()
    await car.vehicle_data()
    ledger = await admin(session, sim, "GET", "/sim/ledger")
    assert [e["category"] for e in ledger["entries"]] == ["wake", "data"]
    assert ledger["summary"]["total"] == {"count": 2, "cost": 0.022}
    cleared = await admin(session, sim, "DELETE", "/sim/ledger")
    assert cleared["entries"] == []
    assert len(sim.ledger) == 0


async def test_clock_and_token_over_http(
    sim: Simulator, session: aiohttp.ClientSession, car: VehicleFleet[TeslaFleetApi]
) -> None:
    clock = await admin(session, sim, "GET", "/sim/clock")
    assert clock == {"now": START, "speed": 0.0}
    faster = await admin(session, sim, "POST", "/sim/clock", {"speed": 60})
    assert faster["speed"] == 60
    assert sim.clock.speed == 60
    sim.clock.speed = 0
    answer = await admin(session, sim, "POST", "/sim/token", {"token": None})
    assert answer == {"token_required": False}
    assert sim.token is None
    answer = await admin(session, sim, "POST", "/sim/token", {"token": "fresh"})
    assert answer == {"token_required": True}
    assert sim.token == "fresh"


async def test_paired_keys_over_http(
    sim: Simulator, session: aiohttp.ClientSession, api: TeslaFleetApi, tmp_path: Path
) -> None:
    key = await api.get_private_key(str(tmp_path / "key.pem"))
    point = public_point(key.public_key())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    other = public_point(ec.generate_private_key(ec.SECP256R1()).public_key())
    path = "/sim/vehicles/1/keys"
    assert await admin(session, sim, "GET", path) == {"keys": []}
    added = await admin(session, sim, "POST", path, {"public_key": pem.decode()}, status=201)
    assert added == {"key": point.hex(), "keys": [point.hex()]}
    await admin(session, sim, "POST", path, {"public_key": other.hex()}, status=201)
    # The same key again, as base64: still two keys.
    again = await admin(
        session, sim, "POST", path, {"public_key": base64.b64encode(point).decode()}, status=201
    )
    assert again["keys"] == [point.hex(), other.hex()]
    assert (await admin(session, sim, "GET", "/sim/vehicles/1"))["paired_keys"] == again["keys"]
    # The library signs with the paired key.
    signed = api.vehicles.createSigned(sim.vehicle(1).vin)
    assert (await signed.set_charge_limit(70))["response"]["result"] is True
    removed = await admin(session, sim, "DELETE", path, {"public_key": point.hex()})
    assert removed == {"key": point.hex(), "keys": [other.hex()]}
    with pytest.raises(TeslaFleetMessageFaultUnknownKeyId):
        await signed.set_charge_limit(71)
    await admin(session, sim, "DELETE", path, {"public_key": point.hex()}, status=404)
    for bad in ({}, {"public_key": ""}, {"public_key": 4}, {"public_key": "04abcd"}):
        await admin(session, sim, "POST", path, bad, status=400)
    await admin(session, sim, "DELETE", path, {"public_key": "nope"}, status=400)
    await admin(session, sim, "GET", "/sim/vehicles/9/keys", status=404)
    await admin(
        session, sim, "POST", "/sim/vehicles/9/keys", {"public_key": other.hex()}, status=404
    )
    assert sim.vehicle(1).paired_keys == [other]


async def test_protocol_actions_over_http(
    sim: Simulator, session: aiohttp.ClientSession, api: TeslaFleetApi
) -> None:
    car = sim.vehicle(1)
    epoch = car.vcp.computer(INFOTAINMENT).epoch
    await admin(session, sim, "POST", "/sim/vehicles/1/reboot")
    assert car.vcp.computer(INFOTAINMENT).epoch != epoch

    required = await admin(
        session, sim, "POST", "/sim/vehicles/1/signed_commands", {"required": True}
    )
    assert required["requires_signed_commands"] is True
    with pytest.raises(Forbidden):
        await VehicleFleet(api, car.vin).charge_start()
    await admin(
        session, sim, "POST", "/sim/vehicles/1/signed_commands", {"required": "yes"}, status=400
    )
    await admin(session, sim, "POST", "/sim/vehicles/1/signed_commands", {"required": False})
    assert (await VehicleFleet(api, car.vin).charge_start())["response"]["reason"] == "disconnected"

    path = "/sim/vehicles/1/message_fault"
    busy = await admin(session, sim, "POST", path, {"fault": "MESSAGEFAULT_ERROR_BUSY"})
    assert busy["message_faults"] == [{"fault": "MESSAGEFAULT_ERROR_BUSY", "remaining": 1}]
    lasting = await admin(session, sim, "POST", path, {"fault": 15, "count": None})
    assert lasting["message_faults"][1] == {
        "fault": "MESSAGEFAULT_ERROR_INCORRECT_EPOCH",
        "remaining": None,
    }
    for bad in ({}, {"fault": True}, {"fault": "NOPE"}, {"fault": 999}, {"fault": 1, "count": 0}):
        await admin(session, sim, "POST", path, bad, status=400)
    cleared = await admin(session, sim, "DELETE", path)
    assert cleared["message_faults"] == []
    await admin(session, sim, "DELETE", "/sim/vehicles/9/message_fault", status=404)
