"""Injected faults and the exceptions tesla_fleet_api raises for them."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import (
    BadGateway,
    Forbidden,
    GatewayTimeout,
    InternalServerError,
    OAuthExpired,
    RateLimited,
    ServiceUnavailable,
    TeslaFleetError,
    VehicleOffline,
)
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import Simulator
from fleet_sim.faults import FaultInjector


async def wait_for_ledger(sim: Simulator, entries: int) -> None:
    """The server records a hung or dropped request once it notices; wait for it."""
    async with asyncio.timeout(2):
        while len(sim.ledger) < entries:  # noqa: ASYNC110 - the ledger has no event to await
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (401, OAuthExpired),
        (403, Forbidden),
        (408, VehicleOffline),
        (500, InternalServerError),
        (502, BadGateway),
        (503, ServiceUnavailable),
        (504, GatewayTimeout),
    ],
)
async def test_status_fault_maps_to_library_exception(
    sim: Simulator,
    car: VehicleFleet[TeslaFleetApi],
    status: int,
    exception: type[TeslaFleetError],
) -> None:
    sim.faults.add(status=status)
    with pytest.raises(exception) as err:
        await car.vehicle_data(["charge_state"])
    assert err.value.data is not None
    assert isinstance(err.value.data, dict)
    assert err.value.data["response"] is None
    assert err.value.data["error"]
    # One shot: the next request goes through.
    assert (await car.vehicle_data(["charge_state"]))["response"]["state"] == "online"
    assert [e.status for e in sim.ledger.entries] == [status, 200]


async def test_forbidden_carries_command_protocol_text(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.faults.add(status=403, path="/command/")
    with pytest.raises(Forbidden) as err:
        await car.charge_start()
    assert isinstance(err.value.data, dict)
    assert err.value.data["error"].startswith("Tesla Vehicle Command Protocol required")
    assert "2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning" in str(
        err.value.data["error"]
    )
    assert sim.vehicle(1).commands == []


async def test_expired_token_fault_carries_its_error(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.faults.add(status=401)
    with pytest.raises(OAuthExpired) as err:
        await car.vehicle()
    assert isinstance(err.value.data, dict)
    assert err.value.data["error"] == "token expired (401)"


async def test_rate_limit_headers(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    sim.faults.add(status=429)
    with pytest.raises(RateLimited) as default:
        await car.wake_up()
    assert default.value.data == {"reset": "30", "after": "30"}
    sim.faults.add(status=429, retry_after=12)
    with pytest.raises(RateLimited) as custom:
        await car.wake_up()
    assert custom.value.data == {"reset": "12", "after": "12"}


async def test_custom_error_text(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    sim.faults.add(status=500, error="upstream boom")
    with pytest.raises(InternalServerError) as err:
        await car.vehicle()
    assert isinstance(err.value.data, dict)
    assert err.value.data["error"] == "upstream boom"


async def test_hang_until_client_gives_up(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    sim.faults.add("hang", path="vehicle_data")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await car.vehicle_data(["charge_state"])
    await wait_for_ledger(sim, 1)
    entry = sim.ledger.entries[0]
    assert (entry.category, entry.status, entry.price) == ("data", 0, 0.0)
    # Other paths and later requests are not affected.
    assert (await car.vehicle_data(["charge_state"]))["response"]["state"] == "online"


async def test_hang_released_when_simulator_stops(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.faults.add("hang")
    request = asyncio.create_task(car.vehicle())
    await asyncio.sleep(0.1)
    assert not request.done()
    await sim.stop()
    with pytest.raises(aiohttp.ClientError):
        await request
    assert [e.status for e in sim.ledger.entries] == [0]


async def test_drop_closes_connection(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    sim.faults.add("drop", path="/command/")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await car.charge_start()
    await wait_for_ledger(sim, 1)
    entry = sim.ledger.entries[0]
    assert (entry.category, entry.status, entry.price) == ("command", 0, 0.0)
    assert sim.vehicle(1).commands == []
    assert (await car.charge_start())["response"]["reason"] == "disconnected"


async def test_result_false_does_not_execute(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.vehicle(1).plug_in()
    sim.advance(5)
    sim.faults.add("result_false", count=2)
    # Not a command: a result_false fault does not touch it.
    assert (await car.vehicle())["response"]["state"] == "online"
    assert (await car.charge_stop())["response"] == {
        "result": False,
        "reason": "could_not_wake_buses",
    }
    sim.faults.pending[0].reason = "vehicle_busy"
    assert (await car.charge_stop())["response"]["reason"] == "vehicle_busy"
    assert sim.vehicle(1).charging_state == "Charging"
    assert (await car.charge_stop())["response"]["result"] is True
    assert sim.vehicle(1).charging_state == "Stopped"


async def test_count_path_and_until_cleared(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    fault = sim.faults.add(status=503, count=2, path="wake_up")
    assert fault.remaining == 2
    await car.vehicle()
    assert fault.remaining == 2
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            await car.wake_up()
    assert fault.remaining == 0
    assert fault.fired == 2
    assert sim.faults.pending == []
    await car.wake_up()

    forever = sim.faults.add(status=502, count=None)
    for _ in range(3):
        with pytest.raises(BadGateway):
            await car.vehicle()
    assert sim.faults.pending == [forever]
    assert forever.remaining is None
    sim.faults.clear()
    assert (await car.vehicle())["response"]["state"] == "online"


async def test_probability_is_seeded(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    def pattern(seed: int) -> list[bool]:
        injector = FaultInjector()
        injector.add(status=500, count=None, probability=0.5, seed=seed)
        return [injector.take("/api/1/vehicles") is not None for _ in range(40)]

    assert pattern(7) == pattern(7)
    hits = pattern(7).count(True)
    assert 8 < hits < 32

    sim.faults.add(status=500, count=None, probability=0.5, seed=7)
    outcomes = []
    for _ in range(40):
        try:
            await car.vehicle()
            outcomes.append(False)
        except InternalServerError:
            outcomes.append(True)
    assert outcomes == pattern(7)


async def test_faults_skip_non_api_paths(sim: Simulator, api: TeslaFleetApi) -> None:
    sim.faults.add(status=500)
    assert await api.status() == "ok"
    assert sim.faults.pending[0].remaining == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "explode"},
        {"kind": "status"},
        {"kind": "status", "status": 200},
        {"kind": "hang", "count": 0},
        {"kind": "drop", "probability": 1.5},
        {"kind": "status", "status": 429, "retry_after": -1},
    ],
)
def test_invalid_faults_are_refused(kwargs: dict[str, object]) -> None:
    injector = FaultInjector()
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        injector.add(**kwargs)  # type: ignore[arg-type]
    assert injector.pending == []


def test_unknown_status_gets_http_phrase() -> None:
    injector = FaultInjector()
    assert injector.add(status=418).error_text == "i'm a teapot"
    assert injector.add(status=599).error_text == "error"
    assert injector.add(status=409).as_json()["status"] == 409
