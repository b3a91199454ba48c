"""Teslemetry's stream, driven by the real teslemetry-stream library over HTTPS to the simulator.

The library only connects to https://*.teslemetry.com; the simulator's connector resolves those
names to its own TLS port and trusts its certificate, so the library runs unpatched (one test
shortens its read timeout, and says so).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import logging
import re
from typing import Any

import aiohttp
import pytest
from tesla_fleet_api import Teslemetry
from tesla_fleet_api.tesla import VehicleFleet
from teslemetry_stream import TeslemetryStream, TeslemetryStreamAuthenticationError
from teslemetry_stream.const import TeslaLocation
import teslemetry_stream.stream as stream_module

from fleet_sim import SimClock, Simulator, VehicleConfig
from fleet_sim.vehicle import START_DELAY

from .const import START, TOKEN

Event = dict[str, Any]


class StreamClient:
    """A TeslemetryStream for one car, listening in the background, and what it heard."""

    def __init__(self, session: aiohttp.ClientSession, vin: str, **options: Any) -> None:
        self.stream = TeslemetryStream(
            session,
            options.pop("token", TOKEN),
            server="eu.teslemetry.com",
            vin=vin,
            manual=True,
            parse_timestamp=True,
            **options,
        )
        self.events: list[Event] = []
        self.connected: list[bool] = []
        self.stream.async_add_listener(self.events.append)
        self.stream.async_add_connection_listener(self.connected.append)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.stream.listen())

    async def wait_for(self, predicate: Callable[[Event], bool], seconds: float = 5) -> Event:
        """The first event (heard so far or soon) that matches."""
        async with asyncio.timeout(seconds):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                await asyncio.sleep(0.01)

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 5) -> None:
        async with asyncio.timeout(seconds):
            while not condition():  # noqa: ASYNC110 - the library has no event to await
                await asyncio.sleep(0.01)

    def data(self, signal: str) -> list[Any]:
        """Every value of ``signal`` in the data events heard, in order."""
        return [e["data"][signal] for e in self.events if signal in e.get("data", {})]

    async def stop(self) -> None:
        self.stream.close()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, TeslemetryStreamAuthenticationError):
                await self.task


def has_data(signal: str, value: Any) -> Callable[[Event], bool]:
    return lambda event: event.get("data", {}).get(signal, object()) == value


@pytest.fixture
async def tls_sim(socket_enabled: None, clock: SimClock) -> AsyncIterator[Simulator]:
    """A simulator that also serves HTTPS, for Teslemetry's host names."""
    async with Simulator(clock=clock, token=TOKEN, tls=True) as simulator:
        yield simulator


@pytest.fixture
async def teslemetry_session(tls_sim: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=tls_sim.teslemetry_connector()) as session:
        yield session


@pytest.fixture
async def client(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession
) -> AsyncIterator[StreamClient]:
    """The library listening to car 1, connected and past its first snapshot."""
    listener = StreamClient(teslemetry_session, tls_sim.vehicle(1).vin)
    listener.start()
    await listener.wait_for(lambda event: "data" in event)
    yield listener
    await listener.stop()


def _enabling_fields() -> bool:
    return any(
        getattr(task.get_coro(), "__qualname__", "").endswith(".add_field")
        for task in asyncio.all_tasks()
    )


async def fields_enabled() -> None:
    """The library's listen_* methods check the car's field config in background tasks (a
    connection's config event already told them): let those finish."""
    async with asyncio.timeout(5):
        while _enabling_fields():  # noqa: ASYNC110 - the library has no event to await
            await asyncio.sleep(0.01)


# ----- connecting ---------------------------------------------------------------------------------


async def test_connect_gets_a_snapshot_and_costs_nothing(
    tls_sim: Simulator, client: StreamClient
) -> None:
    vin = tls_sim.vehicle(1).vin
    state, config, data = client.events[:3]
    assert state == {
        "vin": vin,
        "createdAt": "2025-06-15T15:06:40.000000000Z",
        "state": "online",
        "isCache": True,
        "timestamp": int(START * 1000),
    }
    assert "ChargeAmps" in config["config"]["fields"]
    assert data["isCache"] is True
    assert data["data"]["DetailedChargeState"] == "DetailedChargeStateDisconnected"
    assert data["data"]["BatteryLevel"] == 50.0
    assert data["data"]["Location"] == {"latitude": 52.52, "longitude": 13.405}
    assert client.connected == [True]
    [entry] = tls_sim.ledger.entries
    assert (entry.path, entry.category, entry.status, entry.price) == (
        f"/sse/{vin}",
        "stream",
        200,
        0.0,
    )


async def test_charging_streams_the_wallbox_signals(
    tls_sim: Simulator, client: StreamClient
) -> None:
    car = tls_sim.vehicle(1)
    vehicle = client.stream.vehicle
    heard: dict[str, list[Any]] = {}

    def record(name: str) -> Callable[[Any], None]:
        return heard.setdefault(name, []).append

    vehicle.listen_DetailedChargeState(record("state"))
    vehicle.listen_ChargeAmps(record("amps"))
    vehicle.listen_ChargerVoltage(record("volts"))
    vehicle.listen_ChargerPhases(record("phases"))
    vehicle.listen_ACChargingPower(record("power"))
    vehicle.listen_ACChargingEnergyIn(record("energy"))
    vehicle.listen_BatteryLevel(record("level"))
    vehicle.listen_ChargeLimitSoc(record("limit"))
    vehicle.listen_ChargePortDoorOpen(record("door"))
    vehicle.listen_ChargingCableType(record("cable"))
    await fields_enabled()

    car.plug_in()
    await client.wait_for(has_data("DetailedChargeState", "DetailedChargeStateStarting"))
    tls_sim.advance(START_DELAY)
    await client.wait_for(has_data("DetailedChargeState", "DetailedChargeStateCharging"))
    tls_sim.advance(3600)
    await client.wait_for(has_data("ACChargingEnergyIn", 11.04))

    assert heard["state"] == ["Starting", "Charging"]
    assert heard["amps"] == [16.0]
    assert heard["volts"] == [2.0, 230.0]  # plugged in and idle, then charging
    assert heard["phases"] == [2]  # a three-phase supply reads 2, as in vehicle_data
    assert heard["power"] == [11.04]
    assert heard["energy"] == [11.04]
    assert heard["level"] == [pytest.approx(50 + 11.04 / 75 * 100, abs=0.01)]
    assert heard["limit"] == []  # unchanged: the snapshot came before the listeners
    assert heard["door"] == [True]
    assert heard["cable"] == ["IEC"]
    # Streamed values are not vehicle_data: nothing was billed.
    assert tls_sim.ledger.cost() == 0
    assert tls_sim.ledger.count("data") == 0


async def test_charge_to_the_limit_sleep_and_wake(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession, client: StreamClient
) -> None:
    car = tls_sim.vehicle(1)
    online: list[bool] = []
    client.stream.vehicle.listen_State(online.append)
    car.set_battery_level(79.5)
    car.plug_in()
    # 0.375 kWh at 11.04 kW: complete after about 2 minutes; asleep 15 minutes later.
    tls_sim.advance(START_DELAY + 600)
    complete = await client.wait_for(has_data("DetailedChargeState", "DetailedChargeStateComplete"))
    assert complete["data"]["BatteryLevel"] == 80.0

    tls_sim.advance(tls_sim.sleep_after)
    await client.wait_for(lambda event: event.get("state") == "asleep")
    offline = await client.wait_for(lambda event: "networkInterface" in event)
    assert (offline["networkInterface"], offline["status"]) == ("wifi", "DISCONNECTED")
    assert online == [False]
    heard = len(client.events)
    tls_sim.advance(3600)
    await asyncio.sleep(0.2)
    assert client.events[heard:] == []  # an asleep car sends nothing

    await VehicleFleet(Teslemetry(teslemetry_session, TOKEN), car.vin).wake_up()
    tls_sim.advance(tls_sim.wake_delay)
    await client.wait_until(lambda: online == [False, True])
    statuses = [e["status"] for e in client.events if "networkInterface" in e]
    assert statuses == ["DISCONNECTED", "CONNECTED"]


async def test_moving_and_unplugging(tls_sim: Simulator, client: StreamClient) -> None:
    car = tls_sim.vehicle(1)
    places: list[TeslaLocation | None] = []
    client.stream.vehicle.listen_Location(places.append)
    await fields_enabled()
    car.move(48.1, 11.5)
    await client.wait_until(lambda: places == [TeslaLocation(latitude=48.1, longitude=11.5)])
    car.plug_in()
    await client.wait_for(has_data("ChargingCableType", "CableTypeIEC"))
    car.unplug()
    unplugged = await client.wait_for(has_data("ChargingCableType", None))
    assert unplugged["data"]["ChargePortDoorOpen"] is False
    assert unplugged["data"]["DetailedChargeState"] == "DetailedChargeStateDisconnected"


async def test_a_dc_fast_charge_streams_dc_signals(
    tls_sim: Simulator, client: StreamClient
) -> None:
    types: list[str | None] = []
    client.stream.vehicle.listen_FastChargerType(types.append)
    await fields_enabled()
    tls_sim.vehicle(1).plug_in_dc()
    plugged = await client.wait_for(has_data("FastChargerPresent", True))
    assert plugged["data"]["ChargingCableType"] == "CableTypeIEC"
    tls_sim.advance(START_DELAY)
    charging = await client.wait_for(has_data("DCChargingPower", 150.0))
    assert charging["data"]["ChargerVoltage"] == 380.0
    assert "ACChargingPower" not in charging["data"]  # still 0: AC does not charge
    assert types == ["Supercharger"]


async def test_a_field_the_car_does_not_send_is_configured_by_the_library(
    tls_sim: Simulator, client: StreamClient
) -> None:
    vin = tls_sim.vehicle(1).vin
    fields = tls_sim.stream.fields(vin)
    del fields["ChargeAmps"]
    tls_sim.stream.configure(vin, fields, replace=True)
    await client.wait_until(lambda: "ChargeAmps" not in client.stream.vehicle.fields)
    amps: list[float | None] = []
    client.stream.vehicle.listen_ChargeAmps(amps.append)
    # The library waits a second to batch its config change, then PATCHes it.
    async with asyncio.timeout(5):
        while "ChargeAmps" not in tls_sim.stream.fields(vin):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await client.wait_until(lambda: amps == [0.0])
    patch = [e for e in tls_sim.ledger.entries if e.method == "PATCH"]
    assert [(e.path, e.status) for e in patch] == [(f"/api/config/{vin}", 200)]
    config_events = [e for e in client.events if "config" in e]
    assert "ChargeAmps" in config_events[-1]["config"]["fields"]


async def test_a_field_interval_holds_changes_back(
    tls_sim: Simulator, client: StreamClient
) -> None:
    car = tls_sim.vehicle(1)
    # At most one value a minute, counted from the last one sent (the snapshot's 16 A).
    tls_sim.stream.configure(car.vin, {"ChargeCurrentRequest": {"interval_seconds": 60}})
    car.plug_in()
    car.execute("set_charging_amps", {"charging_amps": 10})
    await client.wait_for(has_data("DetailedChargeState", "DetailedChargeStateStarting"))
    tls_sim.advance(30)
    await client.wait_for(has_data("DetailedChargeState", "DetailedChargeStateCharging"))
    assert client.data("ChargeCurrentRequest") == [16]
    tls_sim.advance(30)
    await client.wait_for(has_data("ChargeCurrentRequest", 10))


# ----- which cars stream --------------------------------------------------------------------------


async def test_metadata_tells_which_car_streams(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession
) -> None:
    tls_sim.add_vehicle(VehicleConfig(streaming=False))
    # Teslemetry's real default server: the connector sends it to the simulator.
    metadata = await Teslemetry(teslemetry_session, TOKEN).metadata()
    first, second = (metadata["vehicles"][vin] for vin in tls_sim.vehicles)
    assert (first["polling"], first["fleet_telemetry"]) == (False, "1.0.2")
    assert (second["polling"], second["fleet_telemetry"]) == (True, "unknown")
    assert first["access"] is True
    assert first["firmware"] == "2025.32.3"
    assert metadata["energy_sites"] == {}


async def test_a_polled_car_sends_state_but_no_data(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession
) -> None:
    car = tls_sim.vehicle(1)
    car.streaming = False
    listener = StreamClient(teslemetry_session, car.vin)
    listener.start()
    try:
        await listener.wait_for(lambda event: event.get("state") == "online")
        car.plug_in()
        car.fall_asleep()
        await listener.wait_for(lambda event: event.get("state") == "asleep")
        assert [e for e in listener.events if "data" in e or "config" in e] == []
        # The library reads the config of such a car as empty (Teslemetry has none: 404).
        await listener.stream.vehicle.get_config()
        assert listener.stream.vehicle.fields == {}
    finally:
        await listener.stop()


# ----- faults -------------------------------------------------------------------------------------


async def test_a_dropped_connection_reconnects_after_a_second(
    tls_sim: Simulator, client: StreamClient
) -> None:
    assert tls_sim.stream.drop() == 1
    await client.wait_until(lambda: client.connected == [True, False, True])
    tls_sim.vehicle(1).plug_in()
    await client.wait_for(has_data("DetailedChargeState", "DetailedChargeStateStarting"))
    assert [e.status for e in tls_sim.ledger.entries if e.category == "stream"] == [200, 200]
    snapshots = [e for e in client.events if e.get("isCache") and "data" in e]
    assert len(snapshots) == 2  # each connection starts with one


async def test_a_clean_end_reconnects_at_once(
    tls_sim: Simulator, client: StreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "teslemetry_stream")
    assert tls_sim.stream.end() == 1
    # No back-off: the library reads an ended stream as a server restart.
    await client.wait_until(lambda: client.connected == [True, False, True], seconds=0.9)
    assert "Stream ended by server, reconnecting" in caplog.text


async def test_a_stalled_stream_is_given_up_after_the_read_timeout(
    tls_sim: Simulator,
    teslemetry_session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Patched: the library waits 30 s for a byte (sock_read=30); here 0.5 s.
    real_timeout = aiohttp.ClientTimeout

    def short_timeout(**kwargs: Any) -> aiohttp.ClientTimeout:
        return real_timeout(**{**kwargs, "sock_read": 0.5})

    monkeypatch.setattr(stream_module.aiohttp, "ClientTimeout", short_timeout)
    tls_sim.stream.keepalive = 0.1  # a healthy stream would never time out
    listener = StreamClient(teslemetry_session, tls_sim.vehicle(1).vin)
    listener.start()
    try:
        await listener.wait_for(lambda event: "data" in event)
        await asyncio.sleep(0.8)
        assert listener.connected == [True]  # keep-alives hold it open
        assert tls_sim.stream.stall() == 1
        heard = len(listener.events)
        tls_sim.vehicle(1).plug_in()
        await listener.wait_until(lambda: listener.connected == [True, False, True])
        assert re.search(r"Client error: \w*TimeoutError", caplog.text)
        # The new connection's snapshot has the plug-in; nothing came through the stall.
        await listener.wait_for(has_data("ChargingCableType", "CableTypeIEC"))
        assert all(event.get("isCache") for event in listener.events[heard:])
    finally:
        await listener.stop()


async def test_a_malformed_event_makes_the_library_reconnect(
    tls_sim: Simulator, client: StreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    heard = len(client.events)
    assert tls_sim.stream.send_malformed() == 1
    await client.wait_until(lambda: client.connected == [True, False, True])
    assert "Unexpected error: JSONDecodeError" in caplog.text
    # Nothing of the broken event reached a listener; the new connection's snapshot did.
    assert all(event.get("isCache") for event in client.events[heard:])


async def test_a_value_of_the_wrong_type_only_fails_its_listener(
    tls_sim: Simulator, client: StreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    amps: list[float | None] = []
    client.stream.vehicle.listen_ChargeAmps(amps.append)
    await fields_enabled()
    tls_sim.stream.send({"data": {"ChargeAmps": "n/a"}}, tls_sim.vehicle(1).vin)
    event = await client.wait_for(has_data("ChargeAmps", "n/a"))
    assert "createdAt" in event
    assert amps == []
    assert "Uncaught error in listener" in caplog.text
    assert client.connected == [True]


@pytest.mark.parametrize("status", [401, 403])
async def test_an_auth_error_ends_the_stream_for_good(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession, status: int
) -> None:
    tls_sim.faults.add(status=status, path="/sse", count=None)
    listener = StreamClient(teslemetry_session, tls_sim.vehicle(1).vin)
    listener.start()
    assert listener.task is not None
    with pytest.raises(TeslemetryStreamAuthenticationError):
        await asyncio.wait_for(listener.task, 5)
    assert listener.connected == [False]
    assert [(e.status, e.price) for e in tls_sim.ledger.entries] == [(status, 0.0)]


async def test_a_wrong_token_is_refused(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession
) -> None:
    listener = StreamClient(teslemetry_session, tls_sim.vehicle(1).vin, token="not-the-token")
    listener.start()
    assert listener.task is not None
    with pytest.raises(TeslemetryStreamAuthenticationError):
        await asyncio.wait_for(listener.task, 5)
    assert [e.status for e in tls_sim.ledger.entries] == [401]


async def test_a_missing_subscription_is_retried_with_back_off(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    tls_sim.faults.add(status=402, path="/sse")
    listener = StreamClient(teslemetry_session, tls_sim.vehicle(1).vin)
    listener.start()
    try:
        await listener.wait_for(lambda event: "data" in event)
        assert listener.connected == [False, True]
        assert "ClientResponseError: 402" in caplog.text
        assert [e.status for e in tls_sim.ledger.entries if e.category == "stream"] == [402, 200]
    finally:
        await listener.stop()


async def test_a_connection_dropped_before_its_answer_is_retried(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession
) -> None:
    tls_sim.faults.add("drop", path="/sse")
    listener = StreamClient(teslemetry_session, tls_sim.vehicle(1).vin)
    listener.start()
    try:
        await listener.wait_for(lambda event: "data" in event)
        assert [e.status for e in tls_sim.ledger.entries if e.category == "stream"] == [0, 200]
    finally:
        await listener.stop()


async def test_a_fault_without_a_path_is_left_for_the_fleet_api(
    tls_sim: Simulator, client: StreamClient, teslemetry_session: aiohttp.ClientSession
) -> None:
    tls_sim.faults.add(status=500)
    tls_sim.stream.drop()
    await client.wait_until(lambda: client.connected == [True, False, True])
    assert len(tls_sim.faults.pending) == 1  # the reconnect did not spend it


async def test_topics_choose_the_events(
    tls_sim: Simulator, teslemetry_session: aiohttp.ClientSession
) -> None:
    listener = StreamClient(teslemetry_session, tls_sim.vehicle(1).vin, topics=["state"])
    listener.start()
    try:
        await listener.wait_for(lambda event: event.get("state") == "online")
        tls_sim.vehicle(1).plug_in()
        tls_sim.vehicle(1).fall_asleep()
        await listener.wait_for(lambda event: event.get("state") == "asleep")
        assert all("state" in event for event in listener.events)
    finally:
        await listener.stop()
