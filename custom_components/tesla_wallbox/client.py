"""The clients that talk to tesla_fleet_api (with errors.py, the only modules that import it).

One `AccountClient` per config entry builds the library object for the chosen backend; one
`VehicleClient` per car reads its state and data, wakes it and sends charge commands. Every library
error becomes one of our own exceptions (errors.py), and every billable request is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import datetime as dt
import os
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
from tesla_fleet_api import TeslaFleetApi, Teslemetry, Tessie, exceptions as tfe
from tesla_fleet_api.tesla import VehicleFleet

from .const import (
    LOGGER,
    PRICE_COMMAND,
    PRICE_DATA,
    PRICE_WAKE,
    TESLEMETRY_SERVER,
    TESSIE_SERVER,
    Backend,
)
from .errors import TeslaWallboxError, VehicleUnavailableError, map_error
from .vehicle_data import Connection

if TYPE_CHECKING:
    from .ble_client import BluetoothCar

REQUEST_TIMEOUT = 30.0
# Which way an answer came: over Bluetooth (free), from the cloud, or in Teslemetry's stream.
type Path = Literal["bluetooth", "cloud", "stream"]
BLUETOOTH: Final = "bluetooth"
CLOUD: Final = "cloud"
# How the free Bluetooth requests are counted beside the billed ones (they cost nothing).
BLUETOOTH_CATEGORY: Final = "bluetooth_{}"


def _billed(status: Any) -> bool:
    """Tesla bills answers below 500, but not a refused token (no account to bill)."""
    return isinstance(status, int) and status < 500 and status != 401


@dataclass
class CallCounter:
    """Billable requests per category for one day (answers below 500 but 401 are billed)."""

    day: dt.date | None = None
    counts: dict[str, int] = field(default_factory=dict)
    # Called after every count, to persist the day's figures.
    on_change: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def record(self, category: str, today: dt.date) -> None:
        """Count one billable request."""
        if self.day != today:
            self.day = today
            self.counts = {}
        self.counts[category] = self.counts.get(category, 0) + 1
        if self.on_change is not None:
            self.on_change()

    def as_dict(self) -> dict[str, Any]:
        """The day and its counts, as stored."""
        return {"day": self.day.isoformat() if self.day else None, "counts": dict(self.counts)}

    def restore(self, stored: Any, today: dt.date) -> None:
        """Take back today's counts from before a restart; another day's are dropped."""
        if not isinstance(stored, dict) or not isinstance(stored.get("counts"), dict):
            return
        try:
            day = dt.date.fromisoformat(str(stored.get("day")))
        except ValueError:
            return
        if day != today:
            return
        self.day = day
        self.counts = {
            str(category): count
            for category, count in stored["counts"].items()
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0
        }

    def cost(self, today: dt.date) -> float:
        """Today's cost at Tesla's list prices."""
        if self.day != today:
            return 0.0
        return (
            self.counts.get("data", 0) * PRICE_DATA
            + self.counts.get("command", 0) * PRICE_COMMAND
            + self.counts.get("wake", 0) * PRICE_WAKE
        )


@dataclass(frozen=True, slots=True)
class VehicleInfo:
    """A car on the account, as the vehicle list shows it."""

    vin: str
    name: str
    connection: Connection | None


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What the car answered to a command."""

    result: bool
    reason: str


def _connection(value: Any) -> Connection | None:
    try:
        return Connection(value)
    except ValueError:
        return None


class VehicleClient:
    """Reads and commands for one car, each counted and mapped to our errors.

    With a Bluetooth path (`local`, set when the user paired the car over BLE), every request goes
    over BLE first while Home Assistant sees the car, and to the cloud only when BLE cannot serve
    it (out of range, a lost link or answer). What the car itself says over BLE (asleep, a
    refused command) is its answer: the cloud is not asked again.
    """

    def __init__(
        self,
        vin: str,
        vehicle: VehicleFleet[Any],
        command_vehicle: VehicleFleet[Any],
        today: Callable[[], dt.date],
    ) -> None:
        self.vin = vin
        self._vehicle = vehicle
        self._command_vehicle = command_vehicle
        self._today = today
        self.calls = CallCounter()
        self.local: BluetoothCar | None = None
        # The way the last data and the last command went (None: none yet).
        self.data_path: Path | None = None
        self.command_path: Path | None = None

    @property
    def bluetooth_in_range(self) -> bool:
        """Whether Home Assistant sees the car over Bluetooth now (then reads cost nothing)."""
        return self.local is not None and self.local.in_range

    def restore_calls(self, stored: Any) -> None:
        """Take back today's billable counts from the store (a new day starts from zero)."""
        self.calls.restore(stored, self._today())

    async def _call(self, category: str, request: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        """Run one request with a timeout; count it when Tesla would bill it."""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                answer = await request
        except (Exception, tfe.TeslaFleetError) as err:
            mapped = map_error(err)
            status = getattr(err, "status", None)
            if _billed(status) and category != "state":
                self.calls.record(category, self._today())
            LOGGER.debug("%s %s failed: %s", self.vin[-4:], category, mapped)
            raise mapped from err
        if category != "state":
            self.calls.record(category, self._today())
        response = answer.get("response") if isinstance(answer, dict) else None
        return response if isinstance(response, dict) else {}

    async def _over_bluetooth[T](
        self, category: str, request: Callable[[BluetoothCar], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        """Try a request over BLE: (True, answer) when BLE served it, (False, None) when the
        cloud must. A sleeping car (VehicleUnavailableError) is BLE's answer and passes."""
        local = self.local
        if local is None or not local.in_range:
            return False, None
        try:
            answer = await request(local)
        except VehicleUnavailableError:
            self.calls.record(BLUETOOTH_CATEGORY.format(category), self._today())
            raise
        except TeslaWallboxError as err:
            if err.key != "bluetooth_unreachable":
                raise
            return False, None
        self.calls.record(BLUETOOTH_CATEGORY.format(category), self._today())
        return True, answer

    async def state(self) -> Connection | None:
        """The car's connectivity (never wakes the car): over BLE from the security computer,
        else from the cloud's vehicle endpoint."""
        served, connection = await self._over_bluetooth("state", lambda car: car.state())
        if served:
            return connection
        response = await self._call("state", self._vehicle.vehicle())
        return _connection(response.get("state"))

    async def data(self, *, location: bool) -> dict[str, Any]:
        """vehicle_data with charge_state and drive_state (location_data only when asked)."""
        served, answer = await self._over_bluetooth("data", lambda car: car.data(location=location))
        if served and answer is not None:
            self.data_path = BLUETOOTH
            return answer
        endpoints = ["charge_state", "drive_state"]
        if location:
            endpoints.append("location_data")
        answer = await self._call("data", self._vehicle.vehicle_data(endpoints=endpoints))
        self.data_path = CLOUD
        return answer

    async def wake(self, wait_s: float = REQUEST_TIMEOUT) -> Connection | None:
        """Wake the car: over BLE (free, it waits until the car answers), else ask the cloud
        (billed; the car comes online some seconds later)."""
        served, connection = await self._over_bluetooth("wake", lambda car: car.wake(wait_s))
        if served:
            return connection
        response = await self._call("wake", self._vehicle.wake_up())
        return _connection(response.get("state"))

    async def _command(
        self, name: str, args: tuple[int, ...], request: Callable[[], Awaitable[dict[str, Any]]]
    ) -> CommandOutcome:
        served, answer = await self._over_bluetooth("command", lambda car: car.command(name, *args))
        if served and answer is not None:
            self.command_path = BLUETOOTH
            return CommandOutcome(bool(answer.get("result")), str(answer.get("reason") or ""))
        # Over BLE a lost ack leaves open whether the car took it: sending it again is safe, as
        # each of these commands asks for a state, not a change.
        response = await self._call("command", request())
        self.command_path = CLOUD
        return CommandOutcome(bool(response.get("result")), str(response.get("reason") or ""))

    async def charge_start(self) -> CommandOutcome:
        """Start charging."""
        return await self._command("charge_start", (), self._command_vehicle.charge_start)

    async def charge_stop(self) -> CommandOutcome:
        """Stop charging."""
        return await self._command("charge_stop", (), self._command_vehicle.charge_stop)

    async def set_charging_amps(self, amps: int) -> CommandOutcome:
        """Set the charging current."""
        return await self._command(
            "set_charging_amps", (amps,), lambda: self._command_vehicle.set_charging_amps(amps)
        )

    async def set_charge_limit(self, percent: int) -> CommandOutcome:
        """Set the car's charge limit (50-100)."""
        return await self._command(
            "set_charge_limit", (percent,), lambda: self._command_vehicle.set_charge_limit(percent)
        )


@dataclass(frozen=True, slots=True)
class Connect:
    """How to reach an account: the backend and its settings from the config entry."""

    backend: Backend
    token: str | Callable[[], Awaitable[str]]
    url: str | None = None  # custom server; for Fleet: the regional server found at setup
    proxy_url: str | None = None  # Fleet: a tesla-http-proxy that signs commands
    private_key_path: str | None = None  # Fleet: sign commands here with this key (PEM file)


class AccountClient:
    """The library object for one account, and a VehicleClient per car."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        connect: Connect,
        today: Callable[[], dt.date] = dt.date.today,
        proxy_session: aiohttp.ClientSession | None = None,
    ) -> None:
        """proxy_session: for the command proxy only (it may skip certificate checks)."""
        self._today = today
        self.api = _build_api(session, connect)
        self._command_api = (
            TeslaFleetApi(
                proxy_session or session,
                access_token=connect.token,
                server=connect.proxy_url.rstrip("/"),
            )
            if connect.proxy_url
            else self.api
        )
        self._private_key_path = connect.private_key_path
        self._signing = False

    async def load_private_key(self) -> None:
        """Load the key that signs commands, when the user gave one (Fleet backend)."""
        path = self._private_key_path
        if path is None:
            return
        if not await asyncio.to_thread(os.path.isfile, path):
            raise TeslaWallboxError(f"private key file not found: {path}")
        try:
            await self._command_api.get_private_key(path)
        except (Exception, tfe.TeslaFleetError) as err:
            raise TeslaWallboxError(f"private key not usable: {type(err).__name__}") from err
        self._signing = True

    @property
    def signing_key(self) -> ec.EllipticCurvePrivateKey | None:
        """The key commands are signed with here (Fleet with the user's key), else None."""
        if not self._signing:
            return None
        return self._command_api.private_key

    async def list_vehicles(self) -> list[VehicleInfo]:
        """The cars on the account (a free read that never wakes them)."""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                answer = await self.api.products()
        except (Exception, tfe.TeslaFleetError) as err:
            raise map_error(err) from err
        vehicles: list[VehicleInfo] = []
        for item in answer.get("response") or []:
            if not isinstance(item, dict) or not isinstance(item.get("vin"), str):
                continue
            # The name is kept in the entry: printable characters only (no control characters,
            # no lone surrogates, which no JSON store can write).
            name = "".join(
                char for char in str(item.get("display_name") or "") if char.isprintable()
            )
            vin = str(item["vin"])
            vehicles.append(VehicleInfo(vin, name.strip() or vin, _connection(item.get("state"))))
        return vehicles

    async def metadata(self) -> dict[str, Any]:
        """Teslemetry's account metadata (its region, and per car whether it streams): a free
        read. The client keeps its server (Teslemetry's load balancer, or the entry's URL)."""
        if not isinstance(self.api, Teslemetry):
            raise TeslaWallboxError("only Teslemetry has account metadata")
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                answer = await self.api.metadata(update_region=False)
        except (Exception, tfe.TeslaFleetError) as err:
            raise map_error(err) from err
        return answer if isinstance(answer, dict) else {}

    def vehicle(self, vin: str) -> VehicleClient:
        """The client for one car."""
        reader = VehicleFleet(self.api, vin)
        if self._signing:
            commander: VehicleFleet[Any] = self._command_api.vehicles.createSigned(vin)
        elif self._command_api is self.api:
            commander = reader
        else:
            commander = VehicleFleet(self._command_api, vin)
        return VehicleClient(vin, reader, commander, self._today)


def _build_api(session: aiohttp.ClientSession, connect: Connect) -> TeslaFleetApi:
    """The library object for the backend."""
    server = connect.url.rstrip("/") if connect.url else None
    if connect.backend is Backend.TESLEMETRY:
        return Teslemetry(session, access_token=connect.token, server=server or TESLEMETRY_SERVER)
    if connect.backend is Backend.TESSIE:
        tessie = Tessie(session, access_token=cast(str, connect.token))
        # Tessie serves the Fleet API's own paths under its host.
        tessie.server = server or TESSIE_SERVER
        return tessie
    if server is None:
        raise ValueError("a server URL is required")
    return TeslaFleetApi(session, access_token=connect.token, server=server)


async def find_fleet_server(session: aiohttp.ClientSession, token: str) -> tuple[str, str]:
    """The user's region and regional Fleet API server, from the token (tried on each region)."""
    api = TeslaFleetApi(session, access_token=token, region="na")
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT * 3):
            region = await api.find_server()
    except (Exception, tfe.TeslaFleetError) as err:
        raise map_error(err) from err
    assert api.server is not None
    return region, api.server
