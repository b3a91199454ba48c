"""Teslemetry's stream and field config on the wire, the /sim/stream controls, and the TLS parts:
what a client that is not teslemetry-stream sees (plain aiohttp over plain HTTP)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from fleet_sim import SimClock, Simulator, VehicleConfig
from fleet_sim.stream import StreamConnection, parse_fields
from fleet_sim.telemetry import created_at, signals, topic_of

from .const import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def read_line(response: aiohttp.ClientResponse) -> bytes:
    """The next non-empty line of an SSE response."""
    async with asyncio.timeout(5):
        while not (line := (await response.content.readline()).strip()):
            pass
    return line


async def read_event(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """The next event (keep-alive comments skipped)."""
    while (line := await read_line(response)).startswith(b":"):
        pass
    assert line.startswith(b"data: ")
    event: dict[str, Any] = json.loads(line[len(b"data: ") :])
    return event


async def test_the_stream_on_the_wire(sim: Simulator, session: aiohttp.ClientSession) -> None:
    vin = sim.vehicle(1).vin
    async with session.get(f"{sim.url}/sse/{vin}", headers=AUTH) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        assert [topic_of(await read_event(response)) for _ in range(3)] == [
            "state",
            "config",
            "data",
        ]
        sim.vehicle(1).plug_in()
        event = await read_event(response)
        assert event["data"]["DetailedChargeState"] == "DetailedChargeStateStarting"
        assert "isCache" not in event
        assert event["createdAt"] == created_at(sim.now())


async def test_without_cache_there_is_no_snapshot(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.stream.keepalive = 0.05
    async with session.get(f"{sim.url}/sse?cache=false", headers=AUTH) as response:
        assert await read_line(response) == b": keep-alive"
        sim.vehicle(1).fall_asleep()
        assert await read_event(response) == {
            "vin": sim.vehicle(1).vin,
            "createdAt": created_at(sim.now()),
            "networkInterface": "wifi",
            "status": "DISCONNECTED",
        }
        assert (await read_event(response))["state"] == "asleep"


async def test_one_stream_for_every_car(sim: Simulator, session: aiohttp.ClientSession) -> None:
    second = sim.add_vehicle()
    async with session.get(f"{sim.url}/sse?cache=false", headers=AUTH) as response:
        await sim.stream.wait_for_connections()
        assert sim.stream.connections[0].vins == tuple(sim.vehicles)
        second.move(50.0, 8.0)
        event = await read_event(response)
        assert (event["vin"], event["data"]) == (
            second.vin,
            {"Location": {"latitude": 50.0, "longitude": 8.0}},
        )
    entry = sim.ledger.entries[-1]
    assert (entry.path, entry.category, entry.vin) == ("/sse", "stream", None)


async def test_stalled_streams_send_no_keep_alives(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.stream.keepalive = 0.05
    async with session.get(f"{sim.url}/sse?cache=false", headers=AUTH) as response:
        assert await read_line(response) == b": keep-alive"
        assert sim.stream.stall() == 1
        await asyncio.sleep(0.1)
        response.content.read_nowait()  # what was on its way before the stall
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(response.content.readline(), 0.3)
        assert sim.stream.resume() == 1
        assert sim.stream.resume() == 0
        sim.vehicle(1).plug_in()
        assert "data" in await read_event(response)


async def test_raw_events_and_a_clean_end(sim: Simulator, session: aiohttp.ClientSession) -> None:
    vin = sim.vehicle(1).vin
    async with session.get(f"{sim.url}/sse/{vin}?cache=false", headers=AUTH) as response:
        await sim.stream.wait_for_connections()
        assert sim.stream.send_malformed(vin) == 1
        assert await read_line(response) == (
            f'data: {{"vin": "{vin}", "data": {{"ChargeAmps": 1'.encode()
        )
        alert = {"alerts": [{"name": "Test", "audiences": ["Customer"]}], "createdAt": "x"}
        assert sim.stream.send(alert) == 1
        assert await read_event(response) == {"vin": vin, **alert}
        assert sim.stream.end(vin) == 1
        assert (await response.content.read()).strip() == b""  # and the response is over


async def test_a_raw_line_ignores_the_topics(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A line that is not an event has no topic: it reaches a stream that asked for some."""
    vin = sim.vehicle(1).vin
    async with session.get(
        f"{sim.url}/sse/{vin}?topics=state&cache=false", headers=AUTH
    ) as response:
        await sim.stream.wait_for_connections()
        assert sim.stream.send_malformed(vin) == 1
        assert (await read_line(response)).startswith(b'data: {"vin"')
        assert sim.stream.send_raw("data: x", "5YJ3OTHERCAR00001") == 0  # not this car's stream


@pytest.mark.parametrize(
    ("query", "headers", "status", "error"),
    [
        ("", {}, 401, "missing_token"),
        ("", {"Authorization": "Bearer wrong"}, 401, "invalid_token"),
        ("?topics=", AUTH, 400, "invalid_topics"),
        ("?topics=state,weather", AUTH, 400, "invalid_topics"),
    ],
)
async def test_refused_connections(
    sim: Simulator,
    session: aiohttp.ClientSession,
    query: str,
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    vin = sim.vehicle(1).vin
    async with session.get(f"{sim.url}/sse/{vin}{query}", headers=headers) as response:
        assert response.status == status
        assert (await response.json())["error"] == error
    assert [(e.category, e.status, e.price) for e in sim.ledger.entries] == [
        ("stream", status, 0.0)
    ]


async def test_an_unknown_car_has_no_stream(sim: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.get(f"{sim.url}/sse/NOSUCHVIN", headers=AUTH) as response:
        assert response.status == 404
        assert await response.json() == {
            "response": None,
            "error": "not_found",
            "error_description": "",
        }


async def test_a_subscription_fault_and_a_hang(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.faults.add(status=402, path="/sse", error="vehicle_subscription_required")
    async with session.get(f"{sim.url}/sse", headers=AUTH) as response:
        assert response.status == 402
        assert (await response.json())["error"] == "vehicle_subscription_required"
    sim.faults.add(status=402, path="/sse")
    async with session.get(f"{sim.url}/sse", headers=AUTH) as response:
        assert (await response.json())["error"] == "subscription_required"
    sim.faults.add("hang", path="/sse")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await session.get(f"{sim.url}/sse", headers=AUTH)
    assert [e.status for e in sim.ledger.entries] == [402, 402, 0]


# ----- field config -------------------------------------------------------------------------------


async def test_field_config_routes(sim: Simulator, session: aiohttp.ClientSession) -> None:
    vin = sim.vehicle(1).vin
    url = f"{sim.url}/api/config/{vin}"
    async with session.get(url, headers=AUTH) as response:
        fields = (await response.json())["fields"]
    assert fields["ChargeAmps"] == {}
    body = {"fields": {"ChargeAmps": {"interval_seconds": 10}, "Locked": None}}
    async with session.patch(url, headers=AUTH, json=body) as response:
        assert await response.json() == {"updated_vehicles": 1}
    assert sim.stream.fields(vin)["ChargeAmps"] == {"interval_seconds": 10}
    assert sim.stream.fields(vin)["Locked"] == {}  # accepted; the simulated car never sends it
    async with session.post(url, headers=AUTH, json={"fields": {"BatteryLevel": {}}}) as response:
        assert response.status == 200
    assert sim.stream.fields(vin) == {"BatteryLevel": {}}
    async with session.patch(url, headers=AUTH, json={"fields": []}) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "fst_err_validation"
    async with session.get(f"{sim.url}/api/config/NOSUCHVIN", headers=AUTH) as response:
        assert response.status == 404
    assert {e.category for e in sim.ledger.entries} == {"other"}
    assert sim.ledger.cost() == 0


async def test_a_polled_car_has_no_field_config(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    car = sim.add_vehicle(VehicleConfig(streaming=False))
    url = f"{sim.url}/api/config/{car.vin}"
    async with session.get(url, headers=AUTH) as response:
        assert response.status == 404
    async with session.patch(url, headers=AUTH, json={"fields": {"Soc": None}}) as response:
        assert await response.json() == {
            "updated_vehicles": 0,
            "skipped_vehicles": {"unsupported_hardware": [car.vin]},
        }


async def test_removing_a_field_forgets_its_value(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    vin = sim.vehicle(1).vin
    async with session.get(f"{sim.url}/sse/{vin}", headers=AUTH) as response:
        for _ in range(3):
            await read_event(response)
        sim.stream.configure(vin, {"BatteryLevel": {}, "Soc": {}}, replace=True)
        assert (await read_event(response))["config"]["fields"] == {
            "BatteryLevel": {},
            "Soc": {},
        }
    async with session.get(f"{sim.url}/sse/{vin}", headers=AUTH) as response:
        snapshot = [await read_event(response) for _ in range(3)]
    assert snapshot[2]["data"] == {"BatteryLevel": 50.0, "Soc": 50.0}


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"fields": {"lowercase": None}},
        {"fields": {"Soc": {"every": 5}}},
        {"fields": {"Soc": {"interval_seconds": -1}}},
        {"fields": {"Soc": {"interval_seconds": True}}},
        {"fields": {"Soc": 5}},
    ],
)
def test_bad_field_configs_are_refused(body: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_fields(body)


# ----- the car's signals --------------------------------------------------------------------------


def test_signals_without_the_location_scope() -> None:
    sim = Simulator(
        clock=SimClock(start=0, speed=0), vehicles=[VehicleConfig(location_scope=False)]
    )
    values = signals(sim.vehicle(1))
    assert "Location" not in values
    assert values["Version"].startswith("2025.32.3 ")


def test_the_battery_level_is_cut_not_rounded() -> None:
    sim = Simulator(clock=SimClock(start=0, speed=0))
    sim.vehicle(1).set_battery_level(79.996)
    assert signals(sim.vehicle(1))["BatteryLevel"] == 79.99


def test_events_of_no_known_kind_have_no_topic() -> None:
    assert topic_of({"vin": "x", "weather": "fine"}) is None
    assert topic_of({"vin": "x", "networkInterface": "wifi"}) == "connectivity"


def test_a_connection_describes_itself() -> None:
    connection = StreamConnection(7, ("VIN1",), frozenset({"state"}), 1.0)
    assert connection.as_json() == {
        "id": 7,
        "vins": ["VIN1"],
        "topics": ["state"],
        "opened_at": 1.0,
        "stalled": False,
        "events": 0,
    }
    assert connection.wants("VIN1", "state")
    assert not connection.wants("VIN1", "data")
    assert not connection.wants("VIN2", "state")


# ----- the /sim/stream controls -------------------------------------------------------------------


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with session.post(url, json=body) as response:
        return response.status, await response.json()


async def test_stream_controls(sim: Simulator, session: aiohttp.ClientSession) -> None:
    vin = sim.vehicle(1).vin
    async with session.get(f"{sim.url}/sse/{vin}?topics=state,data", headers=AUTH) as response:
        for _ in range(2):
            await read_event(response)
        status, body = await post(session, f"{sim.url}/sim/stream", {"keepalive": 5})
        assert (status, body["keepalive"], body["interval"]) == (200, 5.0, 0.1)
        [connection] = body["connections"]
        assert (connection["vins"], connection["topics"]) == ([vin], ["data", "state"])
        assert body["sent"] == {vin: {"data": 1, "state": 1}}
        assert (sim.stream.sent(), sim.stream.sent(vin, "data"), sim.stream.sent("X")) == (2, 1, 0)
        assert await post(session, f"{sim.url}/sim/stream/stall", {"vehicle": 1}) == (
            200,
            {"connections": 1},
        )
        assert await post(session, f"{sim.url}/sim/stream/resume", {}) == (
            200,
            {"connections": 1},
        )
        event = {"event": {"state": "offline"}, "vehicle": vin}
        assert await post(session, f"{sim.url}/sim/stream/event", event) == (
            200,
            {"connections": 1},
        )
        assert (await read_event(response))["state"] == "offline"
        assert await post(session, f"{sim.url}/sim/stream/malformed", {}) == (
            200,
            {"connections": 1},
        )
        assert (await read_line(response)).startswith(b'data: {"vin": "", ')
        assert await post(session, f"{sim.url}/sim/stream/drop", {}) == (200, {"connections": 1})
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.content.read()
    status, body = await post(session, f"{sim.url}/sim/stream/end", {})
    assert body == {"connections": 0}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/sim/stream", {"keepalive": 0}, 400),
        ("/sim/stream", {"speed": 1}, 400),
        ("/sim/stream/event", {"event": "text"}, 400),
        ("/sim/stream/drop", {"vehicle": True}, 400),
        ("/sim/stream/drop", {"vehicle": "NOSUCHVIN"}, 404),
        ("/sim/stream/flood", {}, 404),
        ("/sim/vehicles/1/streaming", {"enabled": "yes"}, 400),
    ],
)
async def test_bad_stream_controls(
    sim: Simulator, session: aiohttp.ClientSession, path: str, body: Any, status: int
) -> None:
    assert (await post(session, f"{sim.url}{path}", body))[0] == status
    assert sim.stream.keepalive == 15.0


async def test_the_streaming_switch(sim: Simulator, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, f"{sim.url}/sim/vehicles/1/streaming", {"enabled": False})
    assert (status, body["streaming"]) == (200, False)
    async with session.get(f"{sim.url}/api/metadata", headers=AUTH) as response:
        metadata = (await response.json())["vehicles"][sim.vehicle(1).vin]
    assert (metadata["polling"], metadata["fleet_telemetry"]) == (True, "unknown")
