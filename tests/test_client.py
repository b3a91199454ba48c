"""client.py: billable calls are counted per day; the account lists its cars."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest

from custom_components.tesla_wallbox.client import AccountClient, CallCounter, Connect
from custom_components.tesla_wallbox.const import Backend
from custom_components.tesla_wallbox.errors import (
    AuthError,
    TeslaWallboxError,
    TransientError,
    VehicleUnavailableError,
)
from fleet_sim import Simulator

from .const import TOKEN


def test_call_counter_per_day() -> None:
    counter = CallCounter()
    monday, tuesday = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
    for category in ("data", "data", "command", "wake"):
        counter.record(category, monday)
    assert counter.cost(monday) == pytest.approx(0.004 + 0.001 + 0.02)
    assert counter.cost(tuesday) == 0
    counter.record("data", tuesday)
    assert counter.counts == {"data": 1}


def test_call_counter_restores_only_today() -> None:
    monday, tuesday = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
    saved: list[dict[str, object]] = []
    counter = CallCounter()
    counter.on_change = lambda: saved.append(counter.as_dict())
    counter.record("data", monday)
    counter.record("wake", monday)
    assert saved[-1] == {"day": "2026-11-23", "counts": {"data": 1, "wake": 1}}

    restored = CallCounter()
    restored.restore(saved[-1], monday)
    assert restored.cost(monday) == pytest.approx(0.022)
    next_day = CallCounter()
    next_day.restore(saved[-1], tuesday)
    assert next_day.day is None
    assert next_day.counts == {}
    for junk in (None, "x", {"day": "not a date", "counts": {}}, {"day": "2026-11-23"}):
        fresh = CallCounter()
        fresh.restore(junk, monday)
        assert fresh.counts == {}
    odd = CallCounter()
    odd.restore({"day": "2026-11-23", "counts": {"data": 2, "wake": "3", "command": -1}}, monday)
    assert odd.counts == {"data": 2}


async def test_list_vehicles_and_junk(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        client = AccountClient(session, Connect(Backend.CUSTOM, TOKEN, url=sim.url))
        vehicles = await client.list_vehicles()
        assert [vehicle.vin for vehicle in vehicles] == list(sim.vehicles)
        assert vehicles[0].connection is not None
        sim.faults.add(status=408, path="/products")
        with pytest.raises(VehicleUnavailableError):
            await client.list_vehicles()


def test_custom_backend_needs_url() -> None:
    with pytest.raises(ValueError, match="server URL"):
        AccountClient(None, Connect(Backend.CUSTOM, TOKEN))  # type: ignore[arg-type]


async def test_unusable_private_key(tmp_path: object, socket_enabled: None) -> None:
    from pathlib import Path

    key = Path(str(tmp_path)) / "key.pem"
    key.write_text("not a key")
    async with aiohttp.ClientSession() as session:
        client = AccountClient(
            session,
            Connect(Backend.FLEET, TOKEN, url="http://127.0.0.1:9", private_key_path=str(key)),
        )
        with pytest.raises(TeslaWallboxError, match="not usable"):
            await client.load_private_key()


async def test_list_skips_what_is_not_a_car(socket_enabled: None) -> None:
    """Products also lists energy sites and may carry states we do not know."""
    async with aiohttp.ClientSession() as session:
        client = AccountClient(session, Connect(Backend.CUSTOM, TOKEN, url="http://127.0.0.1:9"))

        async def products() -> dict[str, object]:
            return {
                "response": [
                    {"energy_site_id": 1, "resource_type": "battery"},
                    "junk",
                    {"vin": "VIN1", "display_name": None, "state": "parked"},
                ]
            }

        client.api.products = products  # type: ignore[method-assign]
        vehicles = await client.list_vehicles()
    assert [(v.vin, v.name, v.connection) for v in vehicles] == [("VIN1", "VIN1", None)]


async def test_billed_counts_follow_the_ledger(sim: Simulator) -> None:
    """Tesla bills answers below 500, except a refused token; the counter agrees with the ledger."""
    today = dt.date(2026, 11, 23)
    async with aiohttp.ClientSession() as session:
        account = AccountClient(session, Connect(Backend.CUSTOM, TOKEN, url=sim.url), lambda: today)
        car = account.vehicle(sim.vehicle(1).vin)
        await car.state()
        await car.data(location=False)
        for status, error in (
            (408, VehicleUnavailableError),
            (401, AuthError),
            (503, TransientError),
        ):
            sim.faults.add(status=status, path="/vehicle_data")
            with pytest.raises(error):
                await car.data(location=False)
    assert car.calls.counts == {"data": 2}  # the read and the 408
    assert car.calls.cost(today) == pytest.approx(sim.ledger.cost())
