"""client.py: every library error becomes one of ours; billable calls are counted per day."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import aiohttp
import pytest
from tesla_fleet_api import exceptions as tfe

from custom_components.tesla_wallbox.client import (
    AccountClient,
    AuthError,
    CallCounter,
    CommandProtocolError,
    Connect,
    KeyNotPairedError,
    MissingScopeError,
    PaymentRequiredError,
    RateLimitedError,
    TeslaWallboxError,
    TransientError,
    VehicleUnavailableError,
    map_error,
)
from custom_components.tesla_wallbox.const import MAX_RETRY_AFTER, Backend
from fleet_sim import Simulator

from .const import TOKEN


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
        (tfe.NotOnWhitelistFault(), KeyNotPairedError),
        (tfe.TeslaFleetMessageFaultUnknownKeyId(), KeyNotPairedError),
        (
            tfe.Forbidden({"error": "Tesla Vehicle Command Protocol required, see docs"}),
            CommandProtocolError,
        ),
        (tfe.Forbidden({"error": "Unauthorized missing scopes"}), MissingScopeError),
        # tesla_fleet_api 1.4 has no InvalidScope: it raises Forbidden with Tesla's text.
        (tfe.Forbidden({"error": "invalid_scope"}), MissingScopeError),
        (tfe.UnsupportedVehicle({"error": "unsupported vehicle"}), TeslaWallboxError),
        (tfe.PaymentRequired(), PaymentRequiredError),
        (tfe.SubscriptionRequired({"error": "subscription_required"}), PaymentRequiredError),
        (tfe.VehicleSubscriptionRequired(), PaymentRequiredError),
        (tfe.InsufficientCredits(), PaymentRequiredError),
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


def test_map_error_scope_and_payment_keys() -> None:
    """Both get their own translated message instead of the generic api_error."""
    invalid_scope = getattr(tfe, "InvalidScope", None)  # tesla_fleet_api 1.18 has it, 1.4 not
    if invalid_scope is not None:
        assert map_error(invalid_scope({"error": "invalid_scope"})).key == "missing_scope"
    assert map_error(tfe.Forbidden({"error": "Unauthorized missing scopes"})).key == "missing_scope"
    assert map_error(tfe.PaymentRequired()).key == "subscription_required"
    unknown_402 = tfe.TeslaFleetError()
    unknown_402.status = 402
    assert isinstance(map_error(unknown_402), PaymentRequiredError)


def test_retry_after_as_http_date() -> None:
    """Retry-After may be a number of seconds or an HTTP date (RFC 9110)."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    limited = map_error(tfe.RateLimited({"after": format_datetime(later, usegmt=True)}))
    assert isinstance(limited, RateLimitedError)
    assert limited.retry_after == pytest.approx(120, abs=2)
    past = map_error(tfe.RateLimited({"after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert past.retry_after == 0  # type: ignore[attr-defined]
    # A date without a zone is GMT, as HTTP dates are.
    naive = format_datetime(later.replace(tzinfo=None))
    assert map_error(tfe.RateLimited({"after": naive})).retry_after == pytest.approx(120, abs=2)  # type: ignore[attr-defined]
    # No Retry-After: RateLimit-Reset (seconds) says the same.
    assert map_error(tfe.RateLimited({"after": None, "reset": "30"})).retry_after == 30  # type: ignore[attr-defined]
    assert map_error(tfe.RateLimited({"after": "inf"})).retry_after is None  # type: ignore[attr-defined]


def test_retry_after_is_capped_at_an_hour() -> None:
    """Tesla's limits are per minute: a year, a malformed 1e12 or a far date holds an hour."""
    for after in ("31536000", "1e12", "3601", "Fri, 31 Dec 9999 23:59:59 GMT"):
        limited = map_error(tfe.RateLimited({"after": after}))
        assert limited.retry_after == MAX_RETRY_AFTER == 3600, after  # type: ignore[attr-defined]
    assert map_error(tfe.RateLimited({"after": "3599"})).retry_after == 3599  # type: ignore[attr-defined]
    # Not a number at all: the caller's default applies.
    for after in ("1e400", "nan", "Mon, 99 Foo 10000 99:99:99 GMT", "\udcff"):
        assert map_error(tfe.RateLimited({"after": after})).retry_after is None, after  # type: ignore[attr-defined]


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
