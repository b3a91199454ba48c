"""client.py: every library error becomes one of ours; billable calls are counted per day."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from tesla_fleet_api import exceptions as tfe

from custom_components.tesla_wallbox.client import (
    AccountClient,
    AuthError,
    CallCounter,
    CommandProtocolError,
    Connect,
    RateLimitedError,
    TeslaWallboxError,
    TransientError,
    VehicleUnavailableError,
    map_error,
)
from custom_components.tesla_wallbox.const import Backend
from fleet_sim import Simulator

from .conftest import TOKEN


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TimeoutError(), TransientError),
        (aiohttp.ServerDisconnectedError(), TransientError),
        (tfe.OAuthExpired(), AuthError),
        (tfe.InvalidToken(), AuthError),
        (tfe.LoginRequired(), AuthError),
        (tfe.MissingToken(), AuthError),
        (tfe.VehicleOffline(), VehicleUnavailableError),
        (tfe.NotOnWhitelistFault(), CommandProtocolError),
        (tfe.TeslaFleetMessageFaultUnknownKeyId(), CommandProtocolError),
        (
            tfe.Forbidden({"error": "Tesla Vehicle Command Protocol required, see docs"}),
            CommandProtocolError,
        ),
        (tfe.Forbidden({"error": "Unauthorized missing scopes"}), TeslaWallboxError),
        (tfe.InternalServerError(), TransientError),
        (tfe.GatewayTimeout(), TransientError),
        (tfe.ResponseError(status=200, data="<html>"), TransientError),
        (tfe.NotFound(), TeslaWallboxError),
        (tfe.InvalidField({"error": "invalid_field"}), TeslaWallboxError),
    ],
)
def test_map_error(error: BaseException, expected: type[TeslaWallboxError]) -> None:
    mapped = map_error(error)
    assert type(mapped) is expected


def test_map_error_rate_limit_and_statuses() -> None:
    limited = map_error(tfe.RateLimited({"reset": "10", "after": "42"}))
    assert isinstance(limited, RateLimitedError)
    assert limited.retry_after == 42
    assert map_error(tfe.RateLimited({"after": "soon"})).retry_after is None  # type: ignore[attr-defined]
    assert map_error(tfe.RateLimited({"after": "-5"})).retry_after is None  # type: ignore[attr-defined]
    assert map_error(tfe.RateLimited("text")).retry_after is None  # type: ignore[attr-defined]
    # Older library versions raise aiohttp's own error for a 502.
    bad_gateway = aiohttp.ClientResponseError(None, (), status=502)  # type: ignore[arg-type]
    assert isinstance(map_error(bad_gateway), TransientError)
    assert isinstance(map_error(tfe.ResponseError(status=401, data="x")), TransientError)
    unknown_401 = tfe.TeslaFleetError()
    unknown_401.status = 401
    assert isinstance(map_error(unknown_401), AuthError)
    forbidden = tfe.TeslaFleetError("forbidden text")
    forbidden.status = 403
    assert not isinstance(map_error(forbidden), CommandProtocolError)
    ours = TransientError("x")
    assert map_error(ours) is ours


def test_call_counter_per_day() -> None:
    counter = CallCounter()
    monday, tuesday = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
    for category in ("data", "data", "command", "wake"):
        counter.record(category, monday)
    assert counter.cost(monday) == pytest.approx(0.004 + 0.001 + 0.02)
    assert counter.cost(tuesday) == 0
    counter.record("data", tuesday)
    assert counter.counts == {"data": 1}


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
