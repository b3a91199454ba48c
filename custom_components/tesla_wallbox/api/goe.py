"""The go-eCharger HTTP API v2 compatible endpoint: /tlwb/{car}/goe/{key}/api/status and api/set.

Clients of go-e's local API (evcc, Home Assistant's go-e integrations, goecharger-api-lite) cannot
send headers, so the entry's API key is part of the base URL. The mapping lives in goe_keys.py and
goe_plan.py; these views authenticate, take one snapshot of the car, and hand writes to the car's
ChargeController.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.loader import async_get_integration

from ..commands import Command, CommandState, Source
from ..const import DOMAIN, HTTP_BASE
from ..models import Car, WallboxConfigEntry
from ..storage import CarStore
from ..vehicle_data import Connection
from ..wallbox import soft_target_reached
from .common import (
    DEFAULT_WAIT,
    ApiError,
    ApiView,
    describe_failure,
    find_car,
    key_matches,
    loaded_entries,
    not_loaded,
    not_loaded_entries,
    note_late_outcome,
    unauthorized,
)
from .goe_keys import FRC_NEUTRAL, FRC_VALUES, GoeSource, parse_filter, select, status_values
from .goe_plan import SetPlan, plan_set

GOE_ROOT = HTTP_BASE + "/{car}/goe/{key}"
GOE_BASE = GOE_ROOT + "/api"
# Per car in the entry's store: the force state and friendly name go-e clients set.
STORE_KEY = "goe"


def _kept(store: CarStore, car: Car) -> tuple[int, str]:
    """The stored force state and friendly name (defaults: neutral, the car's name)."""
    stored = store.get(car.vin, STORE_KEY)
    stored = stored if isinstance(stored, dict) else {}
    frc = stored.get("frc")
    name = stored.get("fna")
    return (
        frc if frc in FRC_VALUES else FRC_NEUTRAL,
        name if isinstance(name, str) and name and name.isprintable() else car.name,
    )


async def _source(hass: HomeAssistant, store: CarStore, car: Car) -> GoeSource:
    """One snapshot of the car, as the go-e keys and plans need it: its last data, none fetched."""
    state = car.coordinator.data
    frc, name = _kept(store, car)
    integration = await async_get_integration(hass, DOMAIN)
    return GoeSource(
        charge=state.charge,
        charge_requested=state.charge_requested,
        start_blocked=soft_target_reached(state.charge, car.controller.soft_target),
        max_amps=car.controller.max_amps,
        total_wh=car.energy.total_wh,
        frc=frc,
        name=name,
        serial=f"{car.number:06d}",
        firmware=str(integration.version or "0"),
        online=state.connection is Connection.ONLINE,
    )


async def _run(hass: HomeAssistant, entry: WallboxConfigEntry, car: Car, plan: SetPlan) -> int:
    """Send the plan's actions (or its wake-up); wait briefly, as go-e clients time out soon.

    The HTTP status of the answer: 200, 409 when the controller refused before sending anything
    (the soft target is reached), 502 when the car or the Tesla API failed a command.
    """
    if plan.actions:
        commands = [Command(action.name, action.value) for action in plan.actions]
        task = entry.async_create_background_task(
            hass, car.controller.async_execute(commands, Source.GOE), f"{DOMAIN} go-e command"
        )
    else:
        # evcc repeats su=1 while the car does not start: a second su joins the wake-up under way.
        task = car.controller.async_wake_up_task()
    done, _ = await asyncio.wait({task}, timeout=DEFAULT_WAIT)
    if not done:
        # Accepted: a command that must first wake the car goes on in the background.
        task.add_done_callback(note_late_outcome("go-e"))
        return HTTPStatus.OK
    if task.cancelled():
        plan.fail("cancelled", None)
        return HTTPStatus.SERVICE_UNAVAILABLE
    error = task.exception()
    if error is None:
        return HTTPStatus.OK
    record = car.controller.last_command
    # A validation error comes before any command is recorded: then nothing was sent.
    sent = not isinstance(error, ServiceValidationError)
    failed = (
        record.name if sent and record is not None and record.state is CommandState.FAILED else None
    )
    plan.fail(describe_failure(error), failed)
    return HTTPStatus.BAD_GATEWAY if sent else HTTPStatus.CONFLICT


def _keep(store: CarStore, car: Car, plan: SetPlan) -> None:
    """Store the force state and name that were accepted (and whose command did not fail)."""
    frc, name = _kept(store, car)
    new_frc = plan.frc if plan.frc is not None and plan.results.get("frc") is True else frc
    new_name = plan.name if plan.name is not None else name
    if (new_frc, new_name) != (frc, name):
        store.set(car.vin, STORE_KEY, {"frc": new_frc, "fna": new_name})


class _GoeView(ApiView):
    """The entry's API key in the path; a wrong key counts toward Home Assistant's IP ban.

    go-e clients cannot send a token: the key in the path is checked in each request.
    """

    @staticmethod
    def _car(hass: HomeAssistant, car_id: str, key: str) -> tuple[WallboxConfigEntry, Car]:
        """The car, if the key opens it. The right key of an entry that is not loaded (a reload,
        a set-up retrying or waiting for re-authentication) is a 503, never a failed login."""
        entries = [entry for entry in loaded_entries(hass) if key_matches(entry, key)]
        waiting = any(key_matches(entry, key) for entry in not_loaded_entries(hass))
        if not entries and not waiting:
            raise unauthorized("Wrong API key in the go-e base URL.")
        found = find_car(hass, car_id)
        if found is None or found[0] not in entries:
            if waiting:
                raise not_loaded()
            raise ApiError(HTTPStatus.NOT_FOUND, "unknown_car", f"No car {car_id!r}")
        return found


class GoeStatusView(_GoeView):
    """GET {base}/api/status[?filter=k1,k2]: the keys, from the last data."""

    url = GOE_BASE + "/status"
    name = f"api:{DOMAIN}:goe:status"

    async def get(self, request: web.Request, car: str, key: str) -> web.Response:
        """All keys, or the filtered ones."""
        hass: HomeAssistant = request.app["hass"]
        try:
            entry, found = self._car(hass, car, key)
        except ApiError as err:
            return err.response()
        values = status_values(await _source(hass, entry.runtime_data.store, found))
        wanted = parse_filter(request.query.getall("filter", []))
        return web.json_response(select(values, wanted))


class GoeSetView(_GoeView):
    """GET {base}/api/set?k=v[&k=v]: JSON values; true or an error text per key."""

    url = GOE_BASE + "/set"
    name = f"api:{DOMAIN}:goe:set"

    async def get(self, request: web.Request, car: str, key: str) -> web.Response:
        """Validate all keys, then apply them through the car's ChargeController."""
        hass: HomeAssistant = request.app["hass"]
        try:
            entry, found = self._car(hass, car, key)
        except ApiError as err:
            return err.response()
        # Taken now: an unload while a command runs takes the entry's runtime data away.
        store = entry.runtime_data.store
        plan = plan_set(request.query.items(), await _source(hass, store, found))
        if not plan.accepted:
            # The charger answers 500 to any refused key; bad input is a 4xx here (nothing sent).
            return web.json_response(plan.results, status=HTTPStatus.BAD_REQUEST)
        needs_car = plan.actions or plan.wake
        status = await _run(hass, entry, found, plan) if needs_car else HTTPStatus.OK
        _keep(store, found, plan)
        return web.json_response(plan.results, status=status)


class GoeUnknownView(_GoeView):
    """Any other path under the base URL (go-e's API v1 /status, a websocket): a JSON 404.

    With the right key this must not count toward the IP ban: evcc falls back to API v1 when its
    start-up probe fails, and would get its own host banned within minutes.
    """

    url = GOE_ROOT
    extra_urls = [GOE_ROOT + "/{path:.*}"]
    name = f"api:{DOMAIN}:goe:unknown"

    async def get(self, request: web.Request, car: str, key: str, path: str = "") -> web.Response:
        """Not served here."""
        try:
            self._car(request.app["hass"], car, key)
        except ApiError as err:
            return err.response()
        message = "This go-eCharger endpoint serves HTTP API v2 only: api/status and api/set."
        return ApiError(HTTPStatus.NOT_FOUND, "unknown_path", message).response()
