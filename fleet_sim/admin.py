"""Admin HTTP under /sim/: drive the scenario from outside (no auth, not part of the Fleet API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
import math
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .energy import EnergyQuery, reading
from .stream import StreamHub
from .vehicle import VEHICLE_STATES, FastCharger, SimVehicle

if TYPE_CHECKING:
    from .simulator import Simulator

VehicleAction = Callable[[SimVehicle, dict[str, Any]], None]


class AdminInputError(ValueError):
    """Bad admin input: answered with 400 and changes nothing."""


class AdminNotFoundError(LookupError):
    """No such vehicle or action: answered with 404."""


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AdminInputError(f"{name} must be a number")
    return float(value)


def _integer(body: dict[str, Any], name: str) -> int:
    value = _number(body, name)
    if not value.is_integer():
        raise AdminInputError(f"{name} must be an integer")
    return int(value)


def _optional_integer(body: dict[str, Any], name: str) -> int | None:
    return None if body.get(name) is None else _integer(body, name)


def _optional_number(body: dict[str, Any], name: str) -> float | None:
    return None if body.get(name) is None else _number(body, name)


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise AdminInputError(f"{name} must be true or false")
    return value


def _plug_in(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    vehicle.plug_in(
        wall_max_amps=_optional_integer(body, "wall_max_amps"),
        supply_phases=_optional_integer(body, "supply_phases"),
        supply_voltage=_optional_number(body, "supply_voltage"),
    )


def _plug_in_dc(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    default = FastCharger()
    charger_type = body.get("charger_type", default.charger_type)
    if not isinstance(charger_type, str) or not charger_type:
        raise AdminInputError("charger_type must be a text")
    vehicle.plug_in_dc(
        FastCharger(
            power_kw=_number(body, "power_kw", default.power_kw),
            voltage=_number(body, "voltage", default.voltage),
            charger_type=charger_type,
        )
    )


def _move(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    latitude, longitude = _number(body, "latitude"), _number(body, "longitude")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise AdminInputError("latitude/longitude out of range")
    vehicle.move(latitude, longitude)


def _battery(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    level = _number(body, "level")
    if not 0 <= level <= 100:
        raise AdminInputError("level must be between 0 and 100")
    vehicle.set_battery_level(level)


def _wall_charger(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    # Phases and voltage left out keep the charger's current values, as plug_in does.
    vehicle.set_wall_charger(
        _integer(body, "max_amps"),
        _optional_integer(body, "supply_phases"),
        _optional_number(body, "supply_voltage"),
    )


def _power(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    vehicle.set_power_available(_flag(body, "available"))


def _state(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    state = body.get("state")
    if state == "online":
        vehicle.go_online()
    elif state == "asleep":
        vehicle.fall_asleep()
    elif state == "offline":
        vehicle.go_offline()
    else:
        raise AdminInputError(f"state must be one of {', '.join(VEHICLE_STATES)}")


def _signed_commands(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    vehicle.requires_signed_commands = _flag(body, "required")


def _streaming(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    vehicle.streaming = _flag(body, "enabled")


def _message_fault(vehicle: SimVehicle, body: dict[str, Any]) -> None:
    fault = body.get("fault")
    if isinstance(fault, bool) or not isinstance(fault, str | int):
        raise AdminInputError("fault must be a MessageFault_E name or number")
    count = _optional_integer(body, "count") if "count" in body else 1
    # An unknown name or number, or a count below 1, is a ValueError: 400.
    vehicle.vcp.inject_fault(fault, count)


STREAM_FAULTS: dict[str, Callable[[StreamHub, str | None], int]] = {
    "drop": StreamHub.drop,
    "end": StreamHub.end,
    "stall": StreamHub.stall,
    "resume": StreamHub.resume,
    "malformed": StreamHub.send_malformed,
}

VEHICLE_ACTIONS: dict[str, VehicleAction] = {
    "plug_in": _plug_in,
    "plug_in_dc": _plug_in_dc,
    "unplug": lambda vehicle, _: vehicle.unplug(),
    "move": _move,
    "battery": _battery,
    "wall_charger": _wall_charger,
    "power": _power,
    "state": _state,
    "reboot": lambda vehicle, _: vehicle.reboot(),
    "signed_commands": _signed_commands,
    "streaming": _streaming,
    "message_fault": _message_fault,
}


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as err:
        raise AdminInputError("the body is not valid JSON") from err
    if not isinstance(body, dict):
        raise AdminInputError("the body must be a JSON object")
    return body


@web.middleware
async def _admin_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not request.path.startswith("/sim/"):
        return await handler(request)
    try:
        return await handler(request)
    except AdminNotFoundError as err:
        return web.json_response({"error": str(err)}, status=404)
    except ValueError as err:
        # AdminInputError and the model's own checks (e.g. phases not 1..3) alike.
        return web.json_response({"error": str(err)}, status=400)


class AdminApi:
    """The /sim/ surface of one Simulator."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def register(self, app: web.Application) -> None:
        """Add the admin routes and their error handling."""
        app.middlewares.append(_admin_errors)
        router = app.router
        router.add_get("/sim/vehicles", self._vehicles)
        router.add_get("/sim/vehicles/{key}", self._vehicle)
        # Before the generic action route, which would take POST .../keys otherwise.
        router.add_get("/sim/vehicles/{key}/keys", self._keys)
        router.add_post("/sim/vehicles/{key}/keys", self._pair_key)
        router.add_delete("/sim/vehicles/{key}/keys", self._unpair_key)
        router.add_delete("/sim/vehicles/{key}/message_fault", self._clear_message_faults)
        router.add_post("/sim/vehicles/{key}/{action}", self._vehicle_action)
        router.add_post("/sim/advance", self._advance)
        router.add_get("/sim/clock", self._clock)
        router.add_post("/sim/clock", self._set_clock)
        router.add_get("/sim/faults", self._faults)
        router.add_post("/sim/faults", self._add_fault)
        router.add_delete("/sim/faults", self._clear_faults)
        router.add_get("/sim/ledger", self._ledger)
        router.add_delete("/sim/ledger", self._clear_ledger)
        router.add_post("/sim/token", self._set_token)
        router.add_get("/sim/energy", self._energy)
        router.add_get("/sim/stream", self._stream)
        router.add_post("/sim/stream", self._set_stream)
        router.add_post("/sim/stream/{fault}", self._stream_fault)

    def _find(self, request: web.Request) -> SimVehicle:
        key = request.match_info["key"]
        try:
            return self._sim.vehicle(key)
        except KeyError:
            raise AdminNotFoundError(f"unknown vehicle {key}") from None

    def _describe(self, vehicle: SimVehicle) -> dict[str, Any]:
        return {**vehicle.snapshot(), "charge_state": vehicle.charge_state()}

    async def _vehicles(self, request: web.Request) -> web.Response:
        cars = [vehicle.snapshot() for vehicle in self._sim.vehicles.values()]
        return web.json_response({"vehicles": cars})

    async def _vehicle(self, request: web.Request) -> web.Response:
        return web.json_response(self._describe(self._find(request)))

    async def _vehicle_action(self, request: web.Request) -> web.Response:
        vehicle = self._find(request)
        action = VEHICLE_ACTIONS.get(request.match_info["action"])
        if action is None:
            raise AdminNotFoundError(f"unknown action {request.match_info['action']}")
        action(vehicle, await _json_body(request))
        self._sim.stream.poke()
        return web.json_response(self._describe(vehicle))

    @staticmethod
    def _key_list(vehicle: SimVehicle, **extra: Any) -> dict[str, Any]:
        return {**extra, "keys": [key.hex() for key in vehicle.paired_keys]}

    @staticmethod
    async def _public_key(request: web.Request) -> str:
        value = (await _json_body(request)).get("public_key")
        if not isinstance(value, str) or not value.strip():
            raise AdminInputError("public_key must be a PEM, hex or base64 text")
        return value

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response(self._key_list(self._find(request)))

    async def _pair_key(self, request: web.Request) -> web.Response:
        vehicle = self._find(request)
        # A text that is no P-256 public key is a ValueError: 400.
        point = vehicle.pair_key(await self._public_key(request))
        return web.json_response(self._key_list(vehicle, key=point.hex()), status=201)

    async def _unpair_key(self, request: web.Request) -> web.Response:
        vehicle = self._find(request)
        key = await self._public_key(request)
        try:
            point = vehicle.unpair_key(key)
        except KeyError:
            raise AdminNotFoundError("that key is not paired with this vehicle") from None
        return web.json_response(self._key_list(vehicle, key=point.hex()))

    async def _clear_message_faults(self, request: web.Request) -> web.Response:
        vehicle = self._find(request)
        vehicle.vcp.clear_faults()
        return web.json_response(self._describe(vehicle))

    async def _advance(self, request: web.Request) -> web.Response:
        seconds = _number(await _json_body(request), "seconds")
        if seconds < 0:
            raise AdminInputError("seconds must not be negative")
        self._sim.advance(seconds)
        return web.json_response({"now": self._sim.now()})

    async def _clock(self, request: web.Request) -> web.Response:
        return web.json_response({"now": self._sim.now(), "speed": self._sim.clock.speed})

    async def _set_clock(self, request: web.Request) -> web.Response:
        speed = _number(await _json_body(request), "speed")
        if speed < 0:
            raise AdminInputError("speed must not be negative")
        self._sim.clock.speed = speed
        return await self._clock(request)

    async def _faults(self, request: web.Request) -> web.Response:
        return web.json_response({"faults": [f.as_json() for f in self._sim.faults.pending]})

    async def _add_fault(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        allowed = {
            "kind",
            "status",
            "count",
            "path",
            "retry_after",
            "reason",
            "error",
            "probability",
            "seed",
        }
        unknown = set(body) - allowed
        if unknown:
            raise AdminInputError(f"unknown fields: {', '.join(sorted(unknown))}")
        kind = body.get("kind", "status")
        if not isinstance(kind, str):
            raise AdminInputError("kind must be a string")
        for name in ("path", "reason", "error"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise AdminInputError(f"{name} must be a string")
        fault = self._sim.faults.add(
            kind,
            status=_optional_integer(body, "status"),
            count=_optional_integer(body, "count") if "count" in body else 1,
            path=body.get("path"),
            retry_after=_optional_number(body, "retry_after"),
            reason=body.get("reason"),
            error=body.get("error"),
            probability=_number(body, "probability", 1.0),
            seed=_optional_integer(body, "seed"),
        )
        return web.json_response(fault.as_json(), status=201)

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self._sim.faults.clear()
        return web.json_response({"faults": []})

    async def _ledger(self, request: web.Request) -> web.Response:
        return web.json_response(self._sim.ledger.as_json())

    async def _clear_ledger(self, request: web.Request) -> web.Response:
        self._sim.ledger.clear()
        return web.json_response(self._sim.ledger.as_json())

    async def _set_token(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or not token):
            raise AdminInputError("token must be a non-empty string or null")
        self._sim.token = token
        return web.json_response({"token_required": token is not None})

    async def _energy(self, request: web.Request) -> web.Response:
        # EnergyQueryError is a ValueError: the middleware answers it with 400.
        query = EnergyQuery.parse(request.query)
        meter = reading(self._sim.now(), self._sim.vehicles.values(), query)
        return web.json_response(meter.as_json())

    # ---- Teslemetry's stream ------------------------------------------------------------------

    async def _stream(self, request: web.Request) -> web.Response:
        return web.json_response(self._sim.stream.as_json())

    async def _set_stream(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        unknown = set(body) - {"keepalive", "interval"}
        if unknown:
            raise AdminInputError(f"unknown fields: {', '.join(sorted(unknown))}")
        settings = {name: _number(body, name) for name in ("keepalive", "interval") if name in body}
        if any(value <= 0 for value in settings.values()):
            raise AdminInputError("keepalive and interval must be positive")
        for name, value in settings.items():
            setattr(self._sim.stream, name, value)
        return await self._stream(request)

    def _stream_vin(self, body: dict[str, Any]) -> str | None:
        key = body.get("vehicle")
        if key is None:
            return None
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise AdminInputError("vehicle must be a VIN or an index")
        try:
            return self._sim.vehicle(key).vin
        except KeyError:
            raise AdminNotFoundError(f"unknown vehicle {key}") from None

    async def _stream_fault(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        vin = self._stream_vin(body)
        stream = self._sim.stream
        fault = request.match_info["fault"]
        if fault == "event":
            event = body.get("event")
            if not isinstance(event, dict):
                raise AdminInputError("event must be a JSON object")
            count = stream.send(event, vin)
        elif fault in STREAM_FAULTS:
            count = STREAM_FAULTS[fault](stream, vin)
        else:
            raise AdminNotFoundError(f"unknown stream fault {fault}")
        return web.json_response({"connections": count})
