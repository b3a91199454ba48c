"""Fleet API routes: Tesla's paths, envelopes and errors, plus the Teslemetry extras."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
import json
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .faults import COMMAND_PROTOCOL_REQUIRED, TOKEN_EXPIRED, VEHICLE_UNAVAILABLE, Fault
from .sections import FIRMWARE
from .stream import FLEET_TELEMETRY_VERSION
from .vcp import MessageDecodeError
from .vehicle import InvalidCommandError, InvalidFieldError, SimVehicle, VehicleUnavailableError

if TYPE_CHECKING:
    from .simulator import Simulator

INVALID_TOKEN: Final = "invalid bearer token"  # noqa: S105 - an error text, not a secret
SCOPES: Final = (
    "openid",
    "offline_access",
    "user_data",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(
    status: int, error: str, description: str = "", headers: dict[str, str] | None = None
) -> web.Response:
    """Tesla's error envelope."""
    body = {"response": None, "error": error, "error_description": description}
    return web.json_response(body, status=status, headers=headers)


def ok(response: Any, **extra: Any) -> web.Response:
    """Tesla's success envelope."""
    return web.json_response({"response": response, **extra})


class _Dropped(web.Response):
    """Marks an answer that never reached the client (the ledger records status 0)."""


class FleetApi:
    """The Fleet API surface of one Simulator."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def register(self, app: web.Application) -> None:
        """Add the routes and the middleware that authenticates, injects faults and bills."""
        app.middlewares.append(self._middleware)
        app.router.add_get("/status", self._status)
        app.router.add_get("/api/1/vehicles", self._list_vehicles)
        app.router.add_get("/api/1/vehicles/{vin}", self._vehicle)
        app.router.add_get("/api/1/vehicles/{vin}/vehicle_data", self._vehicle_data)
        app.router.add_post("/api/1/vehicles/{vin}/wake_up", self._wake_up)
        app.router.add_post("/api/1/vehicles/{vin}/command/{command}", self._command)
        app.router.add_post("/api/1/vehicles/{vin}/signed_command", self._signed_command)
        app.router.add_get("/api/1/products", self._products)
        app.router.add_get("/api/1/users/region", self._region)
        app.router.add_get("/api/1/users/me", self._me)
        app.router.add_get("/api/test", self._teslemetry_true)
        app.router.add_get("/api/ping", self._teslemetry_true)
        app.router.add_get("/api/metadata", self._metadata)

    # ---- cross-cutting ------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        status = 0
        try:
            response = await self._answer(request, handler)
            if not isinstance(response, _Dropped):
                status = response.status
            return response
        finally:
            # Also runs when a hung request is cancelled: it is recorded with status 0.
            vehicle = self._sim.vehicle_by_tag(request.match_info.get("vin", ""))
            self._sim.ledger.record(
                time=self._sim.now(),
                method=request.method,
                path=request.path,
                status=status,
                vin=vehicle.vin if vehicle is not None else None,
            )
            # A command or a wake may have changed a car: the stream tells its listeners.
            self._sim.stream.poke()

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = self._check_token(request)
        if refused is not None:
            return refused
        fault = self._sim.faults.take(request.path)
        if fault is not None:
            return await self._fault_response(request, fault)
        try:
            return await handler(request)
        except web.HTTPMethodNotAllowed:
            return error_response(405, "invalid_method")
        except web.HTTPNotFound:
            return error_response(404, "not_found")

    def _check_token(self, request: web.Request) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return error_response(401, INVALID_TOKEN)
        if self._sim.token is None or token == self._sim.token:
            return None
        error = TOKEN_EXPIRED if self._sim.is_retired_token(token) else INVALID_TOKEN
        return error_response(401, error)

    async def _fault_response(self, request: web.Request, fault: Fault) -> web.Response:
        if fault.kind == "status":
            assert fault.status is not None
            headers: dict[str, str] = {}
            if fault.retry_after_header is not None:
                headers = {"Retry-After": fault.retry_after_header}
            elif fault.retry_after is not None:
                seconds = str(round(fault.retry_after))
                headers = {"Retry-After": seconds, "RateLimit-Reset": seconds}
            return error_response(fault.status, fault.error_text, headers=headers)
        if fault.kind == "result_false":
            return ok({"result": False, "reason": fault.result_reason})
        if fault.kind == "hang":
            # Never answer: the client gives up (its disconnect cancels us) or the sim stops.
            await self._sim.closing.wait()
        return self._drop(request)

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.close()
        # aiohttp silently discards an answer to a closed connection.
        return _Dropped()

    def _find(self, request: web.Request) -> SimVehicle:
        vehicle = self._sim.vehicle_by_tag(request.match_info["vin"])
        if vehicle is None:
            raise web.HTTPNotFound
        return vehicle

    # ---- routes -------------------------------------------------------------------------------

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _list_vehicles(self, request: web.Request) -> web.Response:
        try:
            page = int(request.query.get("page", "1"))
            per_page = int(request.query.get("per_page", "100"))
        except ValueError:
            return error_response(400, "invalid_field", "page and per_page must be integers")
        if page < 1 or per_page < 1:
            return error_response(400, "invalid_field", "page and per_page must be positive")
        vehicles = list(self._sim.vehicles.values())
        pages = max(1, -(-len(vehicles) // per_page))
        chosen = vehicles[(page - 1) * per_page : page * per_page]
        pagination = {
            "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page < pages else None,
            "current": page,
            "per_page": per_page,
            "count": len(vehicles),
            "pages": pages,
        }
        return ok(
            [vehicle.summary() for vehicle in chosen], pagination=pagination, count=len(vehicles)
        )

    async def _vehicle(self, request: web.Request) -> web.Response:
        return ok(self._find(request).summary())

    async def _vehicle_data(self, request: web.Request) -> web.Response:
        vehicle = self._find(request)
        raw = request.query.get("endpoints", "")
        endpoints = [part.strip() for part in raw.replace(",", ";").split(";") if part.strip()]
        try:
            return ok(vehicle.vehicle_data(endpoints or None))
        except VehicleUnavailableError:
            return error_response(408, VEHICLE_UNAVAILABLE)

    async def _wake_up(self, request: web.Request) -> web.Response:
        return ok(self._find(request).wake_up())

    @staticmethod
    async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
        """The JSON object body (none: empty), or the 400 answer to a body that is not one."""
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return error_response(400, "invalid_request", "the body is not valid JSON")
        if not isinstance(body, dict):
            return error_response(400, "invalid_request", "the body must be a JSON object")
        return body

    async def _command(self, request: web.Request) -> web.Response:
        vehicle = self._find(request)
        if vehicle.requires_signed_commands:
            # What Fleet API answers a car that only takes the Vehicle Command Protocol.
            return error_response(403, COMMAND_PROTOCOL_REQUIRED)
        body = await self._json_object(request)
        if isinstance(body, web.Response):
            return body
        try:
            result, reason = vehicle.execute(request.match_info["command"], body)
        except InvalidCommandError:
            return error_response(400, "invalid_command", "unknown command")
        except InvalidFieldError as err:
            return error_response(400, "invalid_field", str(err))
        except VehicleUnavailableError:
            return error_response(408, VEHICLE_UNAVAILABLE)
        return ok({"result": result, "reason": reason})

    async def _signed_command(self, request: web.Request) -> web.Response:
        vehicle = self._find(request)
        body = await self._json_object(request)
        if isinstance(body, web.Response):
            return body
        encoded = body.get("routable_message")
        if not isinstance(encoded, str):
            return error_response(400, "invalid_field", "routable_message must be base64 text")
        try:
            message = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return error_response(400, "invalid_field", "routable_message is not valid base64")
        try:
            answer = vehicle.signed_command(message)
        except VehicleUnavailableError:
            return error_response(408, VEHICLE_UNAVAILABLE)
        except MessageDecodeError:
            return error_response(400, "invalid_field", "routable_message is not a RoutableMessage")
        return ok(base64.b64encode(answer).decode("ascii"))

    async def _products(self, request: web.Request) -> web.Response:
        vehicles = [vehicle.summary() for vehicle in self._sim.vehicles.values()]
        return ok(vehicles, count=len(vehicles))

    async def _region(self, request: web.Request) -> web.Response:
        return ok({"region": "eu", "fleet_api_base_url": self._sim.url})

    async def _me(self, request: web.Request) -> web.Response:
        return ok(
            {
                "email": "driver@example.com",
                "full_name": "Simulated Driver",
                "profile_image_url": None,
                "vault_uuid": "00000000-0000-4000-8000-000000000001",
            }
        )

    async def _teslemetry_true(self, request: web.Request) -> web.Response:
        return ok(True)

    async def _metadata(self, request: web.Request) -> web.Response:
        vehicles = {vin: vehicle_metadata(car) for vin, car in self._sim.vehicles.items()}
        return web.json_response(
            {
                "uid": "sim-user-1",
                "region": "EU",
                "scopes": list(SCOPES),
                "vehicles": vehicles,
                "energy_sites": {},
            }
        )


def vehicle_metadata(car: SimVehicle) -> dict[str, Any]:
    """A car's entry in Teslemetry's metadata, in the keys Home Assistant's teslemetry reads.

    polling: Teslemetry polls the car instead of streaming it (pre-2021 Model S and X);
    fleet_telemetry: the car's Fleet Telemetry version, "unknown" without one.
    """
    return {
        "name": car.display_name,
        "access": True,
        "polling": not car.streaming,
        "proxy": car.requires_signed_commands,
        "firmware": FIRMWARE,
        "discounted": False,
        "fleet_telemetry": FLEET_TELEMETRY_VERSION if car.streaming else "unknown",
    }
