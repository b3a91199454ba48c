"""The departure plan over HTTP: GET /tlwb/{car}/plan reads the departures, the target and the
plan; with parameters (an admin's) it sets them.

Parameters, any of them together: next=HH:MM (the next departure, once) or next=none, monday=HH:MM
... sunday=HH:MM (or =none: no departure that day), target_soc=1..100. All are checked before any
is applied: a bad one is a 400 JSON and changes nothing. Nothing here reaches the car.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, HTTP_BASE
from ..models import Car
from ..plan import WEEKDAYS, DepartureSettings, Plan
from ..plan.departure import next_occurrence, parse_time
from .common import KEY_PARAM, Access, ApiError, ApiView, authenticate, find_car, presented_key

NONE = "none"
TARGET_PARAM = "target_soc"
NEXT_PARAM = "next"
PARAMS = frozenset({NEXT_PARAM, TARGET_PARAM, *WEEKDAYS})


def _iso(moment: datetime | None) -> str | None:
    return dt_util.as_local(moment).isoformat() if moment is not None else None


def plan_json(car: Car) -> dict[str, Any]:
    """The departures, the target and the plan."""
    runner = car.plan
    plan: Plan | None = runner.plan
    body: dict[str, Any] = {"car": car.number, "mode": car.surplus.mode.value}
    body["departure"] = runner.settings.as_dict()
    body["plan"] = None
    if plan is not None:
        body["plan"] = {
            "status": plan.status.value,
            "departure": _iso(plan.departure),
            "reachable": plan.reachable,
            "energy_needed": round(plan.needed_kwh, 3),
            "expected_cost": round(plan.expected_cost, 4),
            "finish": _iso(plan.finish),
            "slots": [
                {
                    "start": _iso(slot.start),
                    "end": _iso(slot.end),
                    "grid": slot.grid,
                    "energy": round(slot.energy_kwh, 3),
                    "price": slot.price,
                }
                for slot in plan.slots
            ],
            "problem": runner.problem,
        }
    return body


def _time(name: str, text: str) -> time | None:
    if text == NONE:
        return None
    try:
        return parse_time(text)
    except ValueError:
        message = f"{name} must be a time HH:MM or {NONE!r}, not {text!r}"
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_time", message) from None


def new_settings(settings: DepartureSettings, values: dict[str, str]) -> DepartureSettings:
    """The settings with the parameters applied; ApiError (400) for the first bad one."""
    for name, text in values.items():
        if name == TARGET_PARAM:
            if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100:
                message = f"{TARGET_PARAM} must be a whole number from 1 to 100, not {text!r}"
                raise ApiError(HTTPStatus.BAD_REQUEST, "out_of_range", message)
            settings = replace(settings, target_soc=int(text))
        elif name == NEXT_PARAM:
            at = _time(name, text)
            next_at = None
            if at is not None:
                next_at = next_occurrence(dt_util.utcnow(), at, dt_util.get_default_time_zone())
            settings = replace(settings, next_at=next_at)
        else:
            settings = settings.with_weekday(WEEKDAYS.index(name), _time(name, text))
    return settings


class PlanView(ApiView):
    """GET /tlwb/{car}/plan."""

    url = HTTP_BASE + "/{car}/plan"
    name = f"api:{DOMAIN}:car:plan"

    async def get(self, request: web.Request, car: str) -> web.Response:
        """Read the plan, or set departures and the target."""
        try:
            access = authenticate(request, presented_key(request))
            hass: HomeAssistant = request.app["hass"]
            found = find_car(hass, car)
            if found is None or not access.may_see(found[0]):
                raise ApiError(HTTPStatus.NOT_FOUND, "unknown_car", f"No car {car!r}")
            target = found[1]
            query = request.query
            unknown = set(query) - PARAMS - {KEY_PARAM}
            if unknown:
                message = f"Unknown parameter {sorted(unknown)[0]!r}"
                raise ApiError(HTTPStatus.BAD_REQUEST, "unknown_parameter", message)
            values: dict[str, str] = {}
            for name in PARAMS & set(query):
                given = query.getall(name)
                if len(given) > 1:
                    message = f"{name} is given twice"
                    raise ApiError(HTTPStatus.BAD_REQUEST, "repeated_parameter", message)
                values[name] = given[0].strip().lower()
            if values:
                _require_admin(access)
                settings = new_settings(target.plan.settings, values)
                await target.plan.async_set_settings(settings)
            return web.json_response(plan_json(target))
        except ApiError as err:
            return err.response()


def _require_admin(access: Access) -> None:
    if not access.admin:
        message = "Changing the departures needs an admin user."
        raise ApiError(HTTPStatus.FORBIDDEN, "forbidden", message)
