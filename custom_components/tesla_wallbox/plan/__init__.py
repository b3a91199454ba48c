"""Departure plans: ready by departure at the lowest price, from the tariff and the PV forecast.

Pure except runner.py: planner.py picks the slots, prices.py reads the price and PV forecasts,
departure.py holds the departures and what the plan knows of the car. runner.py is the Home
Assistant side (import it as `plan.runner`: this __init__ does not import it).
"""

from .departure import WEEKDAYS, DepartureSettings
from .planner import Plan, PlannedSlot, PlanRequest, PlanStatus, PriceSlot, PvPeriod, make_plan
from .prices import ForecastError, parse_price_attributes, parse_solar_forecast

__all__ = [
    "WEEKDAYS",
    "DepartureSettings",
    "ForecastError",
    "Plan",
    "PlanRequest",
    "PlanStatus",
    "PlannedSlot",
    "PriceSlot",
    "PvPeriod",
    "make_plan",
    "parse_price_attributes",
    "parse_solar_forecast",
]
