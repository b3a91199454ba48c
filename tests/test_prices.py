"""Price and PV forecasts read from the shapes Home Assistant users have (pure).

The fixtures (tests/fixtures/prices/) are our own values in each integration's shape; each names
where its shape comes from in `_source`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.tesla_wallbox.plan import (
    ForecastError,
    parse_price_attributes,
    parse_solar_forecast,
)
from custom_components.tesla_wallbox.plan.prices import parse_price_response

FIXTURES = Path(__file__).parent / "fixtures" / "prices"
MIDNIGHT = datetime(2026, 6, 14, 22, 0, tzinfo=UTC)  # 2026-06-15 00:00 at UTC+2


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert data.pop("_source")
    return data


@pytest.mark.parametrize(
    ("name", "first_price"),
    [
        ("nordpool_custom.json", 0.21),
        ("entsoe.json", 0.21),
        ("tibber_price_info.json", 0.33),
    ],
)
def test_hourly_attribute_shapes(name: str, first_price: float) -> None:
    slots = parse_price_attributes(fixture(name))
    # Nord Pool's raw_tomorrow is all None before the day-ahead prices are out: left out.
    assert len(slots) == 24
    assert slots[0].start == MIDNIGHT
    assert slots[0].end == MIDNIGHT + timedelta(hours=1)
    assert slots[-1].end == MIDNIGHT + timedelta(hours=24)
    assert slots[0].price == pytest.approx(first_price)
    assert min(slots, key=lambda slot: slot.price).start == MIDNIGHT + timedelta(hours=13)


def test_epex_spot_quarter_hours() -> None:
    slots = parse_price_attributes(fixture("epex_spot_quarter_hours.json"))
    assert len(slots) == 96
    assert slots[1].start - slots[0].start == timedelta(minutes=15)
    assert slots[1].end == slots[2].start
    assert slots[3].price == pytest.approx(0.21 + 0.012)


def test_older_epex_units_are_per_kwh() -> None:
    start = "2026-06-15T00:00:00+00:00"
    end = "2026-06-15T01:00:00+00:00"
    mwh = parse_price_attributes(
        {"data": [{"start_time": start, "end_time": end, "price_eur_per_mwh": 95.0}]}
    )
    cents = parse_price_attributes(
        {"data": [{"start_time": start, "end_time": end, "price_ct_per_kwh": 9.5}]}
    )
    assert mwh[0].price == pytest.approx(0.095)
    assert cents[0].price == pytest.approx(0.095)


@pytest.mark.parametrize("name", ["nordpool_service.json", "tibber_service.json"])
def test_service_responses(name: str) -> None:
    slots = parse_price_response(fixture(name)["response"])
    assert len(slots) == 24
    assert slots[0].start == MIDNIGHT
    assert slots[0].price == pytest.approx(0.21)  # Nord Pool's per MWh, read per kWh


def test_ends_are_inferred_and_rows_sorted() -> None:
    rows = [
        {"time": "2026-06-15T02:00:00+00:00", "price": 0.3},
        {"time": "2026-06-15T00:00:00Z", "price": 0.1},
        {"time": "2026-06-15T01:00:00+00:00", "price": "0.2"},
        # After a gap: the usual length, not up to the next start.
        {"time": "2026-06-15T06:00:00+00:00", "price": 0.4},
    ]
    slots = parse_price_attributes({"prices": rows})
    assert [slot.price for slot in slots] == [0.1, 0.2, 0.3, 0.4]
    assert slots[2].end == datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
    assert slots[3].end == datetime(2026, 6, 15, 7, 0, tzinfo=UTC)
    single = parse_price_attributes(
        {"forecast": [{"start": "2026-06-15T00:00:00+00:00", "value": 1}]}
    )
    assert single[0].end == datetime(2026, 6, 15, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({}, "no price forecast"),
        ({"friendly_name": "Price"}, "no price forecast"),
        ({"raw_today": "soon"}, "not a list"),
        ({"raw_today": [1, 2]}, "not an object"),
        ({"raw_today": [{"start": "yesterday", "value": 1}]}, "valid start"),
        ({"raw_today": [{"start": "2026-06-15T00:00:00", "value": 1}]}, "valid start"),  # naive
        (
            {
                "raw_today": [
                    {
                        "start": "2026-06-15T01:00:00+00:00",
                        "end": "2026-06-15T00:00:00+00:00",
                        "value": 1,
                    }
                ]
            },
            "ends before",
        ),
        (
            {"raw_today": [{"start": "2026-06-15T00:00:00+00:00", "value": "nan"}]},
            "no price forecast",
        ),
    ],
)
def test_broken_attributes_are_refused(attributes: dict[str, Any], message: str) -> None:
    with pytest.raises(ForecastError, match=message):
        parse_price_attributes(attributes)


def test_broken_service_responses_are_refused() -> None:
    with pytest.raises(ForecastError, match="no prices"):
        parse_price_response({"error": "none"})


def test_solar_forecast() -> None:
    # The energy platform's shape (homeassistant/components/forecast_solar/energy.py): wh_hours.
    forecast = {
        "wh_hours": {
            "2026-06-15T06:00:00+02:00": 120,
            "2026-06-15T05:00:00+02:00": 0,
            "2026-06-15T07:00:00+02:00": 900.5,
        }
    }
    periods = parse_solar_forecast(forecast)
    assert [period.energy_kwh for period in periods] == [0.0, 0.12, 0.9005]
    assert periods[0].start == datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
    assert periods[-1].end == datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    assert parse_solar_forecast(None) == []
    for broken in ({}, {"wh_hours": {"then": 1}}, {"wh_hours": {"2026-06-15T05:00:00+02:00": -1}}):
        with pytest.raises(ForecastError):
            parse_solar_forecast(broken)
