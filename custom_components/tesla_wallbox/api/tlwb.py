"""The wallbox HTTP API under /tlwb, on Home Assistant's own HTTP server.

Reads are served from the coordinators' last data and never reach the car. Writes go through the
car's ChargeController, validated together before anything is sent. Errors are JSON, never a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from http import HTTPStatus
import re
from typing import Any

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
from multidict import MultiMapping

from ..commands import Action, Command, Source
from ..const import CAR_LIMIT_MAX, DOMAIN, HTTP_BASE, LOGGER
from ..models import Car, WallboxConfigEntry
from .common import (
    DEFAULT_WAIT,
    KEY_PARAM,
    Access,
    ApiError,
    ApiView,
    authenticate,
    find_car,
    loaded_entries,
    may_be_its_car,
    not_loaded,
    not_loaded_entries,
    note_late_outcome,
    presented_key,
)

WAIT_PARAM = "wait"
WAIT_MAX = 120
_INTEGER = re.compile(r"-?[0-9]{1,12}", re.ASCII)

# Error codes of the car's command failures, and the HTTP status each is answered with.
_FAILURE_STATUS = {
    "command_refused": HTTPStatus.CONFLICT,
    "soft_target_reached": HTTPStatus.CONFLICT,
    "rate_limited": HTTPStatus.TOO_MANY_REQUESTS,
    "wake_timeout": HTTPStatus.GATEWAY_TIMEOUT,
    "auth_failed": HTTPStatus.BAD_GATEWAY,
    "command_protocol_required": HTTPStatus.BAD_GATEWAY,
    "key_not_paired": HTTPStatus.BAD_GATEWAY,
    "cannot_connect": HTTPStatus.BAD_GATEWAY,
    "vehicle_unavailable": HTTPStatus.BAD_GATEWAY,
    "api_error": HTTPStatus.BAD_GATEWAY,
}


# ----- status ------------------------------------------------------------------------------------


def _iso(timestamp: float | None) -> str | None:
    return dt_util.utc_from_timestamp(timestamp).isoformat() if timestamp is not None else None


def status_json(car: Car) -> dict[str, Any]:
    """The status JSON, from the coordinator's last data."""
    coordinator = car.coordinator
    state = coordinator.data
    charge = state.charge
    soft = car.controller.soft_target
    record = car.controller.last_command
    age = coordinator.age
    return {
        "status": int(state.status),
        "soc": charge.battery_level if charge else None,
        "targetsoc": soft if soft is not None else (charge.charge_limit_soc if charge else None),
        "targetamp": charge.charge_current_request if charge else None,
        "maxamp": charge.charger_pilot_current if charge else None,
        "amps": charge.charger_actual_current if charge else None,
        "volts": charge.charger_voltage if charge else None,
        "power": charge.power if charge else 0,
        "phases": charge.phases if charge else 0,
        "energy": charge.charge_energy_added if charge else None,
        "car": car.number,
        "vin": car.vin,
        "name": car.name,
        "state": state.connection.value if state.connection else None,
        "plugged": bool(charge and charge.plugged_in),
        "pv_location": state.at_pv_location is True,  # unknown reads false, as before
        "updated": _iso(state.data_time),
        "age": round(age, 1) if age is not None else None,
        "command": {**record.as_dict(), "time": _iso(record.time)} if record else None,
        # Which way the last data and the last command went: bluetooth, cloud or stream.
        "data_path": coordinator.client.data_path,
        "command_path": coordinator.client.command_path,
        "bluetooth": (
            {"address": car.bluetooth, "in_range": car.bluetooth_in_range}
            if car.bluetooth
            else None
        ),
    }


def _json(car: Car, status: int = HTTPStatus.OK, **extra: Any) -> web.Response:
    return web.json_response({**status_json(car), **extra}, status=status)


# ----- parsing and validation ---------------------------------------------------------------------


def _single(query: MultiMapping[str], name: str) -> str:
    values = query.getall(name)
    if len(values) > 1:
        raise ApiError(HTTPStatus.BAD_REQUEST, "repeated_parameter", f"{name} is given twice")
    return values[0]


def _integer(name: str, text: str, low: int, high: int) -> int:
    if text == "":
        raise ApiError(HTTPStatus.BAD_REQUEST, "empty_value", f"{name} needs a value")
    if not _INTEGER.fullmatch(text):
        raise ApiError(HTTPStatus.BAD_REQUEST, "not_an_integer", f"{name} must be a whole number")
    value = int(text)
    if not low <= value <= high:
        message = f"{name} must be from {low} to {high}, not {value}"
        raise ApiError(HTTPStatus.BAD_REQUEST, "out_of_range", message)
    return value


def parse_wait(query: MultiMapping[str]) -> float:
    """The wait parameter: 0-120 s, default a short wait that keeps the answer within 2 s."""
    if WAIT_PARAM not in query:
        return DEFAULT_WAIT
    return float(_integer(WAIT_PARAM, _single(query, WAIT_PARAM), 0, WAIT_MAX))


def build_commands(car: Car, values: Mapping[str, str]) -> list[Command]:
    """The commands for control / set_amps / set_soc, validated, in the order soc, amps, control."""
    controller = car.controller
    commands: list[Command] = []
    if "set_soc" in values:
        soc = _integer("set_soc", values["set_soc"], controller.min_target, CAR_LIMIT_MAX)
        commands.append(Command(Action.SET_TARGET, soc))
    if "set_amps" in values:
        amps = _integer("set_amps", values["set_amps"], 1, controller.max_amps)
        commands.append(Command(Action.SET_AMPS, amps))
    if "control" in values:
        on = _integer("control", values["control"], 0, 1)
        commands.append(Command(Action.START if on else Action.STOP))
    for command in commands:
        try:
            controller.validate(command)
        except ServiceValidationError as err:  # pragma: no cover - the ranges above are the same
            raise ApiError(HTTPStatus.BAD_REQUEST, "out_of_range", str(err)) from err
    return commands


async def run_commands(
    hass: HomeAssistant, entry: WallboxConfigEntry, car: Car, commands: list[Command], wait: float
) -> web.Response:
    """Start the commands in the background and answer once done or after `wait` seconds."""
    try:
        # The soft-target start check is part of validation: refuse before anything is queued.
        car.controller.check_allowed(commands)
    except ServiceValidationError as err:
        return _json(car, HTTPStatus.CONFLICT, error=err.translation_key, message=_message(err))
    task = entry.async_create_background_task(
        hass, car.controller.async_execute(commands, Source.HTTP), f"{DOMAIN} http command"
    )
    done, _ = await asyncio.wait({task}, timeout=wait)
    if not done:
        # The outcome shows in the status later; the task must not die with an unread error.
        task.add_done_callback(note_late_outcome("HTTP"))
        return _json(car, HTTPStatus.ACCEPTED)
    if task.cancelled():
        # The entry unloaded or reloaded while the command waited: what was not sent, never will be.
        message = "The integration was unloaded or reloaded before the command went through."
        return _json(car, HTTPStatus.SERVICE_UNAVAILABLE, error="cancelled", message=message)
    error = task.exception()
    if error is None:
        return _json(car)
    if isinstance(error, HomeAssistantError):
        key = error.translation_key or "api_error"
        status = _FAILURE_STATUS.get(key, HTTPStatus.BAD_GATEWAY)
        return _json(car, status, error=key, message=_message(error))
    # A library error the controller did not translate (TeslaFleetError is a BaseException): a
    # bug, logged once with its traceback, but still answered with JSON rather than a 500.
    LOGGER.error("Unexpected error from a command over HTTP", exc_info=error)
    return _json(car, HTTPStatus.BAD_GATEWAY, error="api_error", message=type(error).__name__)


def _message(err: HomeAssistantError) -> str:
    """The error's translated message (English), or its key when no translation is loaded."""
    return str(err) or err.translation_key or "error"


# ----- views --------------------------------------------------------------------------------------


class _WallboxView(ApiView):
    """The car lookup and the no-data answer shared by the /tlwb views."""

    def _car(
        self, request: web.Request, car_id: str, access: Access
    ) -> tuple[WallboxConfigEntry, Car]:
        hass: HomeAssistant = request.app["hass"]
        found = find_car(hass, car_id)
        if found is None or not access.may_see(found[0]):
            # The car may be one of an entry this client may see that is not loaded right now.
            wanted = car_id.strip().upper()
            for entry in not_loaded_entries(hass):
                if access.may_see(entry) and may_be_its_car(hass, entry, wanted):
                    raise not_loaded()
            raise ApiError(HTTPStatus.NOT_FOUND, "unknown_car", f"No car {car_id!r}")
        return found

    @staticmethod
    def _need_data(car: Car) -> None:
        if car.coordinator.data.charge is None:
            raise ApiError(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "no_data",
                "The car has not been read since set-up yet.",
            )


class CarListView(_WallboxView):
    """GET /tlwb: the cars."""

    url = HTTP_BASE
    extra_urls = [HTTP_BASE + "/"]
    name = f"api:{DOMAIN}:cars"

    async def get(self, request: web.Request) -> web.Response:
        """List the cars this client may see."""
        try:
            access = authenticate(request, presented_key(request))
        except ApiError as err:
            return err.response()
        unknown = set(request.query) - {KEY_PARAM}
        if unknown:
            message = f"Unknown parameter {sorted(unknown)[0]!r}"
            return ApiError(HTTPStatus.BAD_REQUEST, "unknown_parameter", message).response()
        hass: HomeAssistant = request.app["hass"]
        cars = [
            {"id": car.number, "vin": car.vin, "name": car.name}
            for entry in loaded_entries(hass)
            if access.may_see(entry)
            for car in entry.runtime_data.cars.values()
        ]
        return web.json_response({"cars": sorted(cars, key=lambda car: car["id"])})


class CarView(_WallboxView):
    """GET /tlwb/{car}: the status, or any of control, set_amps and set_soc together."""

    url = HTTP_BASE + "/{car}"
    name = f"api:{DOMAIN}:car"

    async def get(self, request: web.Request, car: str) -> web.Response:
        """Status, or the combined call."""
        try:
            access = authenticate(request, presented_key(request))
            entry, found = self._car(request, car, access)
            query = request.query
            unknown = set(query) - {"control", "set_amps", "set_soc", WAIT_PARAM, KEY_PARAM}
            if unknown:
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    "unknown_parameter",
                    f"Unknown parameter {sorted(unknown)[0]!r}",
                )
            values = {
                name: _single(query, name)
                for name in ("set_soc", "set_amps", "control")
                if name in query
            }
            wait = parse_wait(query)
            if not values:
                self._need_data(found)
                return _json(found)
            _require_admin(access)
            self._need_data(found)
            commands = build_commands(found, values)
            return await run_commands(request.app["hass"], entry, found, commands, wait)
        except ApiError as err:
            return err.response()


_ACTIONS = {"control": "control", "set_amps": "set_amps", "set_soc": "set_soc", "status": None}


class CarActionView(_WallboxView):
    """GET /tlwb/{car}/{action}?{value}: status, control, set_amps, set_soc."""

    url = HTTP_BASE + "/{car}/{action}"
    name = f"api:{DOMAIN}:car:action"

    async def get(self, request: web.Request, car: str, action: str) -> web.Response:
        """One action with its value as the bare query (?16), or the status."""
        try:
            access = authenticate(request, presented_key(request))
            entry, found = self._car(request, car, access)
            if action not in _ACTIONS:
                raise ApiError(HTTPStatus.NOT_FOUND, "unknown_action", f"No action {action!r}")
            query = request.query
            reserved = (KEY_PARAM, WAIT_PARAM)
            bare = [name for name in query if query[name] == "" and name not in reserved]
            named = set(query) - set(bare) - {KEY_PARAM, WAIT_PARAM}
            if named:
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    "unknown_parameter",
                    f"Unknown parameter {sorted(named)[0]!r}",
                )
            wait = parse_wait(query)
            parameter = _ACTIONS[action]
            if parameter is None:
                if bare:
                    raise ApiError(
                        HTTPStatus.BAD_REQUEST, "unknown_parameter", "status takes no value"
                    )
                self._need_data(found)
                return _json(found)
            if not bare:
                raise ApiError(HTTPStatus.BAD_REQUEST, "empty_value", f"{action} needs a value")
            if len(bare) > 1 or len(query.getall(bare[0])) > 1:
                message = f"{action} takes one value"
                raise ApiError(HTTPStatus.BAD_REQUEST, "repeated_parameter", message)
            _require_admin(access)
            self._need_data(found)
            commands = build_commands(found, {parameter: bare[0]})
            return await run_commands(request.app["hass"], entry, found, commands, wait)
        except ApiError as err:
            return err.response()


def _require_admin(access: Access) -> None:
    if not access.admin:
        message = "Controlling the car needs an admin user."
        raise ApiError(HTTPStatus.FORBIDDEN, "forbidden", message)


class UnknownPathView(_WallboxView):
    """Any other path under /tlwb: a JSON 404 (after authentication, so that probing counts)."""

    url = HTTP_BASE + "/{path:.+}"
    name = f"api:{DOMAIN}:unknown"

    async def get(self, request: web.Request, path: str) -> web.Response:
        """No such endpoint."""
        try:
            authenticate(request, presented_key(request))
        except ApiError as err:
            return err.response()
        message = "No such endpoint under /tlwb"
        return ApiError(HTTPStatus.NOT_FOUND, "unknown_path", message).response()
