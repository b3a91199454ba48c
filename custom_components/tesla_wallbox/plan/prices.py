"""Price and PV forecasts as the planner reads them, from the shapes Home Assistant users have.

Pure: a sensor's attributes (or a service's response) in, PriceSlots and PvPeriods out, in the
price unit per kWh. Hourly and 15-minute slots alike; a slot without an end ends where the next
one starts (or after the slots' usual length).

Price attributes read (the first one present wins):
- Nord Pool, the custom integration: `raw_today` and `raw_tomorrow`, lists of {start, end, value}
- EPEX Spot: `data`, a list of {start_time, end_time, price_per_kwh} (or price_ct_per_kwh,
  price_eur_per_mwh of older releases)
- ENTSO-e: `prices_today` / `prices_tomorrow` or `prices`, lists of {time, price}
- Tibber's price-info shape (REST or template sensors of its API): `today` and `tomorrow`, lists of
  {startsAt, total}
- a generic `forecast` list of {start, end, price} or {start, value}
Service responses read: the nordpool integration's `get_prices_for_date` ({area: [{start, end,
price per MWh}]}) and tibber's `get_prices` ({"prices": {home: [{start_time, price}]}}).
PV: the energy platform's solar forecast ({"wh_hours": {ISO time: Wh}}), each hour's energy
produced in the period that starts then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
import itertools
import math
from typing import Any

from .planner import PriceSlot, PvPeriod

HOUR = timedelta(hours=1)


class ForecastError(ValueError):
    """The input has no forecast we can read, or a broken one (said in the message)."""


# (list attributes, start key, end key, price keys with their factor to per kWh)
_SHAPES: tuple[tuple[tuple[str, ...], str, str | None, tuple[tuple[str, float], ...]], ...] = (
    (("raw_today", "raw_tomorrow"), "start", "end", (("value", 1.0),)),
    (
        ("data",),
        "start_time",
        "end_time",
        (("price_per_kwh", 1.0), ("price_ct_per_kwh", 0.01), ("price_eur_per_mwh", 0.001)),
    ),
    (("prices_today", "prices_tomorrow"), "time", None, (("price", 1.0),)),
    (("prices",), "time", None, (("price", 1.0),)),
    (("today", "tomorrow"), "startsAt", None, (("total", 1.0),)),
    (("forecast",), "start", "end", (("price", 1.0), ("value", 1.0))),
)


def parse_price_attributes(attributes: Mapping[str, Any]) -> list[PriceSlot]:
    """The price slots of a price sensor's attributes (see the module's docstring)."""
    for names, start_key, end_key, price_keys in _SHAPES:
        present = [attributes[name] for name in names if attributes.get(name) is not None]
        if not present:
            continue
        rows: list[Any] = []
        for value in present:
            if not isinstance(value, list):
                raise ForecastError(f"{names[0]} is not a list")
            rows.extend(value)
        slots = _slots(rows, start_key, end_key, price_keys)
        if slots:
            return slots
    raise ForecastError("no price forecast in the attributes")


def parse_price_response(response: Mapping[str, Any]) -> list[PriceSlot]:
    """The price slots of a nordpool.get_prices_for_date or tibber.get_prices response."""
    prices = response.get("prices")
    if isinstance(prices, Mapping):  # tibber: one list per home; the first home's
        homes = [rows for rows in prices.values() if isinstance(rows, list)]
        if homes:
            return _slots(homes[0], "start_time", None, (("price", 1.0),))
    areas = [rows for rows in response.values() if isinstance(rows, list)]
    if areas:  # nordpool: per MWh
        return _slots(areas[0], "start", "end", (("price", 0.001),))
    raise ForecastError("no prices in the response")


def parse_solar_forecast(forecast: Mapping[str, Any] | None) -> list[PvPeriod]:
    """The periods of an energy platform's solar forecast ({"wh_hours": {ISO time: Wh}})."""
    if forecast is None:
        return []
    hours = forecast.get("wh_hours")
    if not isinstance(hours, Mapping):
        raise ForecastError("the solar forecast has no wh_hours")
    points: list[tuple[datetime, float]] = []
    for key, value in hours.items():
        start = _time(key)
        wh = _number(value)
        if start is None or wh is None or wh < 0:
            raise ForecastError(f"a broken solar forecast entry: {key!r}")
        points.append((start, wh / 1000))
    points.sort()
    ends = _ends([start for start, _ in points], [None] * len(points))
    return [PvPeriod(start, end, kwh) for (start, kwh), end in zip(points, ends, strict=True)]


def _slots(
    rows: Sequence[Any],
    start_key: str,
    end_key: str | None,
    price_keys: tuple[tuple[str, float], ...],
) -> list[PriceSlot]:
    starts: list[datetime] = []
    given_ends: list[datetime | None] = []
    prices: list[float] = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ForecastError("a price entry is not an object")
        start = _time(row.get(start_key))
        if start is None:
            raise ForecastError(f"a price entry without a valid {start_key}")
        price = None
        for key, factor in price_keys:
            value = _number(row.get(key))
            if value is not None:
                price = value * factor
                break
        if price is None:
            # Nord Pool's raw_tomorrow holds None values before the day-ahead prices are out.
            continue
        end = _time(row.get(end_key)) if end_key else None
        if end is not None and end <= start:
            raise ForecastError("a price entry ends before it starts")
        starts.append(start)
        given_ends.append(end)
        prices.append(price)
    order = sorted(range(len(starts)), key=lambda i: starts[i])
    starts = [starts[i] for i in order]
    ends = _ends(starts, [given_ends[i] for i in order])
    return [PriceSlot(starts[i], ends[i], prices[order[i]]) for i in range(len(starts))]


def _ends(starts: list[datetime], given: list[datetime | None]) -> list[datetime]:
    """Each slot's end: as given, else the next start, else the slots' usual length (1 h)."""
    gaps = [b - a for a, b in itertools.pairwise(starts) if b > a]
    usual = min(gaps) if gaps else HOUR
    ends: list[datetime] = []
    for index, start in enumerate(starts):
        end = given[index]
        if end is None:
            following = starts[index + 1] if index + 1 < len(starts) else None
            end = following if following is not None and following - start <= usual else None
            end = end or start + usual
        ends.append(end)
    return ends


def _time(value: Any) -> datetime | None:
    """An aware datetime from a datetime or an ISO string; None otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
