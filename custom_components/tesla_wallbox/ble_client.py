"""One car over Bluetooth LE, through tesla_fleet_api's `VehicleBluetooth` (with client.py and
errors.py, the only modules that import tesla_fleet_api).

The BLE device comes from Home Assistant's bluetooth integration (ble_link.py), so a local adapter
and ESPHome Bluetooth proxies both work. Nothing here is billed: a reading, a command or a wake-up
over BLE costs nothing. Nothing here wakes the car by itself either: a sleeping car is seen from
the security computer's status (answered while it sleeps), and only `wake()` wakes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bleak.backends.device import BLEDevice
from cryptography.hazmat.primitives.asymmetric import ec
from tesla_fleet_api import exceptions as tfe

from . import ble_data
from .const import LOGGER
from .errors import (
    BluetoothUnreachableError,
    KeyNotPairedError,
    TeslaWallboxError,
    VehicleUnavailableError,
    map_error,
)
from .vehicle_data import Connection

T = TypeVar("T")

# What this integration needs of the library's Bluetooth support (tesla-fleet-api 1.18 has it; the
# oldest version the manifest accepts has a Bluetooth vehicle without these).
_NEEDED = ("BluetoothTransportError", "BluetoothUnconfirmedCommand", "BluetoothCommandFailed")
# How long one exchange over BLE may take before the cloud is asked instead (a connect through a
# proxy can take some seconds; the library's own waits are shorter).
EXCHANGE_TIMEOUT = 30.0
# The library's answer to a whitelist operation for a key the car knows already.
_ALREADY_PAIRED = "WhitelistOperationAttemptingToAddExistingKey"
# How often pairing asks the car whether the key card was tapped.
PAIR_POLL = 2.0


def supported() -> bool:
    """Whether the installed tesla-fleet-api can drive a car over BLE the way we do."""
    return all(hasattr(tfe, name) for name in _NEEDED)


def ble_name(vin: str) -> str:
    """The name a Tesla advertises over BLE, derived from its VIN."""
    from tesla_fleet_api.tesla.bluetooth import TeslaBluetooth  # noqa: PLC0415

    return TeslaBluetooth().get_name(vin)


class BluetoothCar:
    """Reads, commands, wake-up and pairing over BLE for one car; errors become ours.

    `device` gives the car's BLEDevice as Home Assistant sees it now, or None when the car is out
    of range (then every call raises BluetoothUnreachableError at once, and the caller asks the
    cloud).
    """

    def __init__(
        self, vin: str, key: ec.EllipticCurvePrivateKey, device: Callable[[], BLEDevice | None]
    ) -> None:
        from tesla_fleet_api.tesla.bluetooth import TeslaBluetooth  # noqa: PLC0415

        self.vin = vin
        self._device = device
        self._vehicle = TeslaBluetooth().vehicles.createBluetooth(
            vin,
            key,
            # The ack proves the car took the command; a lost ack is raised, not taken as success,
            # so that the cloud can send it again (our four commands may be sent twice).
            confirmation="ack",
            raise_unconfirmed=True,
            # We decide when the car is woken (a data read never wakes it).
            wake_if_asleep=False,
            # A held link with keep-alive reads would keep the car awake; it reconnects when needed.
            keepalive_interval=None,
        )

    @property
    def in_range(self) -> bool:
        """Whether Home Assistant sees the car over BLE now (an adapter or a proxy)."""
        return self._device() is not None

    async def _run(
        self, what: str, request: Callable[[], Awaitable[T]], limit_s: float = EXCHANGE_TIMEOUT
    ) -> T:
        device = self._device()
        if device is None:
            raise BluetoothUnreachableError("not in range")
        self._vehicle.set_device(device)
        try:
            async with asyncio.timeout(limit_s):
                return await request()
        except (Exception, tfe.TeslaFleetError) as err:
            mapped = _map(err)
            LOGGER.debug("%s %s over Bluetooth failed: %r", self.vin[-4:], what, err)
            raise mapped from err

    async def state(self) -> Connection:
        """Asleep or online, from the security computer (it answers while the car sleeps)."""
        status = await self._run("state", self._vehicle.vehicle_state)
        asleep = status.vehicleSleepStatus == _sleep_status("VEHICLE_SLEEP_STATUS_ASLEEP")
        awake = status.vehicleSleepStatus == _sleep_status("VEHICLE_SLEEP_STATUS_AWAKE")
        if not (asleep or awake):
            raise BluetoothUnreachableError("sleep status unknown")
        return Connection.ASLEEP if asleep else Connection.ONLINE

    async def data(self, *, location: bool) -> dict[str, Any]:
        """charge_state and drive_state as the cloud's vehicle_data gives them; one request per
        section (the car's answers over BLE are size-capped). A sleeping car is not woken:
        VehicleUnavailableError, as the cloud's 408."""
        if await self.state() is Connection.ASLEEP:
            raise VehicleUnavailableError("asleep (Bluetooth)")
        from tesla_fleet_api.tesla.bluetooth import toDict  # noqa: PLC0415

        charge = toDict(await self._run("charge_state", self._vehicle.charge_state))
        drive = toDict(await self._run("drive_state", self._vehicle.drive_state))
        place = (
            toDict(await self._run("location", self._vehicle.location_state)) if location else None
        )
        return ble_data.vehicle_data(charge, drive, place)

    async def wake(self, wait_s: float) -> Connection:
        """Wake the car (free over BLE) and wait until infotainment answers."""

        async def wake_up() -> dict[str, Any]:
            return await self._vehicle.wake_up(wait=True, timeout=wait_s)

        await self._run("wake_up", wake_up, wait_s + EXCHANGE_TIMEOUT)
        return Connection.ONLINE

    async def command(self, name: str, *args: int) -> dict[str, Any]:
        """A charging command (charge_start, charge_stop, set_charging_amps, set_charge_limit);
        the car's answer as the cloud gives it ({"result", "reason"})."""
        method = getattr(self._vehicle, name)

        async def send() -> dict[str, Any]:
            answer: dict[str, Any] = await method(*args)
            return answer

        answer = await self._run(name, send)
        response = answer.get("response") if isinstance(answer, dict) else None
        return response if isinstance(response, dict) else {}

    async def pair(self, wait_s: float, poll_s: float = PAIR_POLL) -> bool:
        """Add our key to the car: the car asks the user to tap a key card on the console.
        True when the car knows the key now (also when it knew it before), False when nobody
        tapped within `wait_s`. KeyNotPairedError: the car refused the key."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s

        async def pair() -> None:
            await self._vehicle.pair(timeout=wait_s, poll_interval=poll_s)

        try:
            await self._run("pair", pair, wait_s + EXCHANGE_TIMEOUT)
        except KeyNotPairedError as err:
            if err.detail == _ALREADY_PAIRED:
                return True
            raise
        except BluetoothUnreachableError as err:
            if err.detail != "BluetoothTimeout":
                raise
        # The library takes the car's first answer for success, and that may be "waiting for the
        # key card" (protocol.md's OPERATIONSTATUS_WAIT): the key counts once a handshake with it
        # goes through.
        while True:
            if await self.knows_key():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(poll_s, remaining))

    async def knows_key(self) -> bool:
        """Whether the car has our key already (a security-computer handshake with it)."""
        try:
            await self._run("handshake", self._vehicle.handshakeVehicleSecurity)
        except KeyNotPairedError:
            return False
        return True

    async def disconnect(self) -> None:
        """Let the link go (at unload)."""
        try:
            await self._vehicle.disconnect()
        except (Exception, tfe.TeslaFleetError) as err:
            LOGGER.debug("Bluetooth disconnect of %s failed: %r", self.vin[-4:], err)


def _sleep_status(name: str) -> int:
    from tesla_protocol.command.vcsec_pb2 import VehicleSleepStatus_E  # noqa: PLC0415

    return int(VehicleSleepStatus_E.Value(name))


def _map(err: BaseException) -> TeslaWallboxError:
    """Our exception for a failure over BLE. A refused key or a whitelist answer is the car's
    word; everything else (out of range, a dropped link, a lost answer) means: ask the cloud."""
    whitelist = getattr(tfe, "WhitelistOperationStatus", None)
    if isinstance(whitelist, type) and isinstance(err, whitelist):
        return KeyNotPairedError(type(err).__name__)
    mapped = map_error(err)
    if isinstance(mapped, (KeyNotPairedError, BluetoothUnreachableError)):
        return mapped
    return BluetoothUnreachableError(type(err).__name__)
