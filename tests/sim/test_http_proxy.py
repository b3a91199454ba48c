"""The simulated tesla-http-proxy: plain REST commands in, signed ones to the car, and the
answers Tesla's proxy gives (teslamotors/vehicle-command pkg/proxy/proxy.go)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
import pytest

from fleet_sim import Simulator
from fleet_sim.http_proxy import KEY_NOT_PAIRED, HttpProxy

from .const import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def proxy(sim: Simulator, key: ec.EllipticCurvePrivateKey) -> AsyncIterator[HttpProxy]:
    async with HttpProxy(str(sim.url), key) as running:
        yield running


async def post(
    session: aiohttp.ClientSession, proxy: HttpProxy, vin: str, name: str, body: Any = None
) -> tuple[int, Any]:
    url = f"{proxy.url}/api/1/vehicles/{vin}/command/{name}"
    async with session.post(url, json=body, headers=AUTH) as response:
        return response.status, await response.json()


async def test_commands_are_signed_and_answered_as_the_proxy_does(
    sim: Simulator,
    session: aiohttp.ClientSession,
    proxy: HttpProxy,
    key: ec.EllipticCurvePrivateKey,
) -> None:
    car = sim.vehicle(1)
    vin = car.vin
    # Not paired: Tesla's proxy cannot start a session and says why, as a 500.
    status, body = await post(session, proxy, vin, "set_charging_amps", {"charging_amps": 8})
    assert (status, body) == (
        500,
        {"response": None, "error": KEY_NOT_PAIRED, "error_description": ""},
    )
    car.pair_key(key.public_key())
    status, body = await post(session, proxy, vin, "set_charging_amps", {"charging_amps": 8})
    assert (status, body) == (200, {"response": {"result": True, "reason": ""}})
    assert (car.charge_current_request, car.commands[-1].signed) == (8, True)
    # The car's own refusal (unplugged) is a 200 with its reason.
    status, body = await post(session, proxy, vin, "charge_start")
    assert status == 200
    assert body["response"]["result"] is False
    assert body["response"]["reason"]
    assert proxy.signed == ["set_charging_amps", "charge_start"]  # both signed and sent


async def test_bad_requests_and_a_car_asleep(
    sim: Simulator,
    session: aiohttp.ClientSession,
    proxy: HttpProxy,
    key: ec.EllipticCurvePrivateKey,
) -> None:
    car = sim.vehicle(1)
    car.pair_key(key.public_key())
    status, body = await post(session, proxy, car.vin, "flash_lights")
    assert (status, body["error"]) == (400, "unsupported command 'flash_lights'")
    status, body = await post(session, proxy, car.vin, "set_charging_amps", {"amps": 8})
    assert (status, body["error"]) == (400, "error occurred while parsing request parameters")
    car.fall_asleep()
    status, body = await post(session, proxy, car.vin, "charge_start")
    assert status == 408  # Tesla's answer for a car asleep, passed through
    assert car.commands == []


async def test_other_requests_are_forwarded(
    sim: Simulator, session: aiohttp.ClientSession, proxy: HttpProxy
) -> None:
    vin = sim.vehicle(1).vin
    async with session.get(f"{proxy.url}/api/1/vehicles/{vin}", headers=AUTH) as response:
        assert response.status == 200
        assert (await response.json())["response"]["vin"] == vin
    async with session.get(f"{proxy.url}/api/1/vehicles/{vin}") as response:
        assert response.status == 401  # no token: the simulator's own answer
