"""A simulated tesla-http-proxy: takes the Fleet API's plain REST commands and sends them to the
car signed with its own key, as Tesla's proxy (teslamotors/vehicle-command, pkg/proxy) does.

The signing is the real tesla-fleet-api library's (`createSigned`), against the simulator's
`signed_command` endpoint, so the car checks what a real proxy would send. The answers follow the
proxy's: `200 {"response": {"result": true, "reason": ""}}` when the car took the command;
`200 {"response": {"result": false, "reason": ...}}` when the car refused it for a reason of its
own; `500 {"response": null, "error": ..., "error_description": ""}` when it could not be sent,
among them "vehicle rejected request: your public key has not been paired with the vehicle"; the
Fleet API's own status and body when Tesla's server answered an error (a 408 for a car asleep).
Other `/api/1/...` requests are forwarded to the simulator unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
from typing import Any, Self

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from tesla_fleet_api import TeslaFleetApi, exceptions as tfe

# The texts of vehicle-command's pkg/protocol/error.go for the faults a car answers.
KEY_NOT_PAIRED = "vehicle rejected request: your public key has not been paired with the vehicle"

type Command = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]

# The REST commands the proxy signs (the charging ones this project sends), and how.
COMMANDS: dict[str, Command] = {
    "charge_start": lambda car, body: car.charge_start(),
    "charge_stop": lambda car, body: car.charge_stop(),
    "set_charging_amps": lambda car, body: car.set_charging_amps(int(body["charging_amps"])),
    "set_charge_limit": lambda car, body: car.set_charge_limit(int(body["percent"])),
    "charge_port_door_open": lambda car, body: car.charge_port_door_open(),
}


def _error(status: int, text: str) -> web.Response:
    return web.json_response(
        {"response": None, "error": text, "error_description": ""}, status=status
    )


class HttpProxy:
    """The proxy in front of a simulator: `async with HttpProxy(sim.url, key) as proxy`."""

    def __init__(self, upstream: str, private_key: ec.EllipticCurvePrivateKey) -> None:
        self.upstream = upstream.rstrip("/")
        self.private_key = private_key
        self.url: str | None = None
        self.signed: list[str] = []  # the commands it signed, in order
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._signers: dict[tuple[str, str], Any] = {}
        self.app = web.Application()
        self.app.router.add_post("/api/1/vehicles/{vin}/command/{name}", self._command)
        self.app.router.add_route("*", "/api/1/{rest:.*}", self._forward)

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        assert self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    def _signer(self, request: web.Request, vin: str) -> Any:
        """The library's signed vehicle for the client's token: kept, with its session with the
        car, as tesla-http-proxy keeps its sessions (a handshake only for a new one)."""
        assert self._session is not None
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        signer = self._signers.get((token, vin))
        if signer is None:
            api = TeslaFleetApi(self._session, access_token=token, server=self.upstream)
            api.private_key = self.private_key
            signer = self._signers[(token, vin)] = api.vehicles.createSigned(vin)
        return signer

    async def _command(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        vin = request.match_info["vin"]
        command = COMMANDS.get(name)
        if command is None:
            return _error(400, f"unsupported command {name!r}")
        try:
            body = await request.json() if request.can_read_body else {}
            car = self._signer(request, vin)
            answer = await command(car, body if isinstance(body, dict) else {})
        except (KeyError, TypeError, ValueError, json.JSONDecodeError):
            return _error(400, "error occurred while parsing request parameters")
        except tfe.TeslaFleetMessageFaultUnknownKeyId:
            return _error(500, KEY_NOT_PAIRED)
        except tfe.TeslaFleetError as err:
            status = getattr(err, "status", None)
            if isinstance(status, int) and status != 200:
                # Tesla's server answered (a 408 for a car asleep): its answer, as it was.
                data = err.data if isinstance(err.data, dict) else {"error": str(err.data)}
                return web.json_response(data, status=status)
            return _error(500, str(err.message if hasattr(err, "message") else err))
        self.signed.append(name)
        response = answer.get("response") if isinstance(answer, dict) else None
        if isinstance(response, dict) and response.get("result") is False:
            return web.json_response(
                {"response": {"result": False, "reason": response.get("reason", "")}}
            )
        return web.json_response({"response": {"result": True, "reason": ""}})

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        headers = {
            key: value
            for key, value in request.headers.items()
            if key in ("Authorization", "Content-Type")
        }
        async with self._session.request(
            request.method,
            f"{self.upstream}{request.rel_url}",
            headers=headers,
            data=await request.read(),
        ) as upstream:
            return web.Response(
                status=upstream.status,
                body=await upstream.read(),
                content_type=upstream.content_type,
            )
