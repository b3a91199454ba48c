"""The ledger: every Fleet API request, its category and what Tesla bills for it."""

from __future__ import annotations

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import InternalServerError, OAuthExpired, VehicleOffline
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import PRICES, LedgerEntry, SimClock, Simulator
from fleet_sim.ledger import Ledger, classify, is_billable

from .const import START, TOKEN


async def test_prices_per_category(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    await car.vehicle_data(["charge_state"])
    await car.vehicle_data()
    await car.charge_start()
    await car.wake_up()
    await car.vehicle()
    await car.list()
    assert sim.ledger.count() == 6
    assert sim.ledger.count("data") == 2
    assert sim.ledger.count("command") == 1
    assert sim.ledger.count("wake") == 1
    assert sim.ledger.count("state") == 2
    assert sim.ledger.cost("data") == pytest.approx(0.004)
    assert sim.ledger.cost("command") == pytest.approx(0.001)
    assert sim.ledger.cost("wake") == pytest.approx(0.02)
    assert sim.ledger.cost("state") == 0
    assert sim.ledger.cost() == pytest.approx(0.025)
    assert PRICES == {"data": 0.002, "command": 0.001, "wake": 0.02}


async def test_entry_fields(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    sim.advance(42)
    await car.set_charge_limit(90)
    assert sim.ledger.entries == [
        LedgerEntry(
            time=START + 42,
            method="POST",
            path=f"/api/1/vehicles/{car.vin}/command/set_charge_limit",
            category="command",
            status=200,
            price=0.001,
            vin=car.vin,
        )
    ]


async def test_5xx_not_billable_but_4xx_is(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.faults.add(status=500)
    with pytest.raises(InternalServerError):
        await car.vehicle_data()
    sim.vehicle(1).fall_asleep()
    with pytest.raises(VehicleOffline):
        await car.vehicle_data()
    assert [(e.status, e.price) for e in sim.ledger.entries] == [(500, 0.0), (408, 0.002)]
    assert sim.ledger.summary() == {
        "categories": {
            "data": {"count": 2, "cost": 0.002},
            "command": {"count": 0, "cost": 0},
            "wake": {"count": 0, "cost": 0},
            "state": {"count": 0, "cost": 0},
            "stream": {"count": 0, "cost": 0},
            "other": {"count": 0, "cost": 0},
        },
        "total": {"count": 2, "cost": 0.002},
    }


async def test_other_requests_are_free(sim: Simulator, api: TeslaFleetApi) -> None:
    await api.user.region()
    await api.user.me()
    assert await api.status() == "ok"  # not under /api: not in the ledger
    assert [e.category for e in sim.ledger.entries] == ["other"] * 2
    assert sim.ledger.cost() == 0


async def test_refused_tokens_are_not_billed(
    sim: Simulator, session: aiohttp.ClientSession, car: VehicleFleet[TeslaFleetApi]
) -> None:
    stranger = VehicleFleet(TeslaFleetApi(session, access_token="nope", server=sim.url), car.vin)
    with pytest.raises(OAuthExpired):
        await stranger.vehicle_data()
    with pytest.raises(OAuthExpired):
        await stranger.wake_up()
    async with session.post(f"{sim.url}/api/1/vehicles/{car.vin}/command/charge_start") as answer:
        assert answer.status == 401  # no Authorization header at all
    sim.faults.add(status=401)  # an expired token, as Tesla's servers answer it
    with pytest.raises(OAuthExpired):
        await car.vehicle_data()
    assert [(e.category, e.status, e.price) for e in sim.ledger.entries] == [
        ("data", 401, 0.0),
        ("wake", 401, 0.0),
        ("command", 401, 0.0),
        ("data", 401, 0.0),
    ]
    await car.vehicle_data()  # the right token is billed as before
    assert sim.ledger.entries[-1].price == 0.002
    assert sim.ledger.cost() == pytest.approx(0.002)


async def test_state_price_and_vin_filter(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    async with Simulator(
        clock=SimClock(start=START, speed=0), vehicles=2, state_price=0.0005
    ) as sim:
        api = TeslaFleetApi(session, access_token=TOKEN, server=sim.url)
        first, second = (VehicleFleet(api, vin) for vin in sim.vehicles)
        await first.vehicle()
        await second.vehicle()
        await second.vehicle_data()
        await api.products()  # a list of the account's cars: a state read like the vehicle list
        await first.list()
        assert sim.ledger.count("state") == 4
        assert sim.ledger.cost("state") == pytest.approx(0.002)
        assert sim.ledger.count(vin=second.vin) == 2
        assert sim.ledger.count("state", vin=first.vin) == 1
        assert len(sim.ledger) == 5
        sim.ledger.clear()
        assert len(sim.ledger) == 0


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/1/vehicles", ("state", None)),
        ("GET", "/api/1/vehicles/V1", ("state", "V1")),
        ("GET", "/api/1/vehicles/V1/vehicle_data", ("data", "V1")),
        ("POST", "/api/1/vehicles/V1/wake_up", ("wake", "V1")),
        ("POST", "/api/1/vehicles/V1/command/charge_start", ("command", "V1")),
        ("GET", "/api/1/vehicles/V1/command/charge_start", ("other", "V1")),
        ("POST", "/api/1/vehicles/V1/signed_command", ("command", "V1")),
        ("GET", "/api/1/vehicles/V1/signed_command", ("other", "V1")),
        ("GET", "/api/1/vehicles/V1/mobile_enabled", ("other", "V1")),
        ("GET", "/api/1/products", ("state", None)),
        ("GET", "/api/1/users/me", ("other", None)),
    ],
)
def test_classify(method: str, path: str, expected: tuple[str, str | None]) -> None:
    assert classify(method, path) == expected


@pytest.mark.parametrize(
    ("status", "billable"),
    [
        (0, False),
        (200, True),
        (400, True),
        (401, False),
        (403, True),
        (408, True),
        (429, True),
        (499, True),
        (500, False),
        (503, False),
    ],
)
def test_is_billable(status: int, billable: bool) -> None:
    assert is_billable(status) is billable


def test_ledger_as_json() -> None:
    ledger = Ledger()
    ledger.record(time=1.0, method="POST", path="/api/1/vehicles/V/wake_up", status=200)
    ledger.record(time=2.0, method="POST", path="/api/1/vehicles/V/wake_up", status=0)
    data = ledger.as_json()
    assert data["entries"][0] == {
        "time": 1.0,
        "method": "POST",
        "path": "/api/1/vehicles/V/wake_up",
        "category": "wake",
        "status": 200,
        "price": 0.02,
        "vin": "V",
        "transport": "cloud",
    }
    assert data["summary"]["total"] == {"count": 2, "cost": 0.02}


def test_bluetooth_entries_are_free_and_counted_apart() -> None:
    ledger = Ledger()
    ledger.record(time=1.0, method="GET", path="/api/1/vehicles/V/vehicle_data", status=200)
    ble = ledger.record_bluetooth(
        time=2.0,
        vin="V",
        domain="infotainment",
        kind="vehicle_data",
        category="data",
        answered=True,
    )
    ledger.record_bluetooth(
        time=3.0,
        vin="V",
        domain="infotainment",
        kind="session_info",
        category="command",
        answered=False,
    )
    assert ble.transport == "bluetooth"
    assert ble.price == 0.0
    assert ble.path == "ble/infotainment/vehicle_data"
    assert ledger.count(transport="cloud") == 1
    assert ledger.count("data", transport="bluetooth") == 1
    assert ledger.entries[-1].status == 0
    assert ledger.cost() == pytest.approx(0.002)
    assert ledger.by_transport() == {
        "cloud": {"count": 1, "cost": 0.002},
        "bluetooth": {"count": 2, "cost": 0.0},
    }
