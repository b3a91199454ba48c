"""A bleak backend client that reaches the simulator's cars over a simulated radio.

``SimBleakClient`` is a ``bleak.backends.client.BaseBleakClient``, the way an ESPHome proxy's
client is one: Home Assistant's ``HaBluetoothConnector`` builds it for a BLEDevice the proxy saw
(ha_radio.py), or ``bleak.BleakClient(device, backend=SimBleakClient)`` without Home Assistant
(``SimBleakClientFacade``, for ``bleak.BleakClient`` itself). It finds the car by the device's
address among the cars of every Simulator (``ble.find``), and offers Tesla's GATT service and the
GAP device name. Notifications are delivered on the event loop, after the write that caused them
returned, as a radio does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bleak import BleakClient
from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError

from . import ble
from .ble import BleLink

# GATT handles of the simulated car: the GAP service, then Tesla's.
_GAP_SERVICE = ("00001800-0000-1000-8000-00805f9b34fb", 1)
_TESLA_SERVICE = (ble.SERVICE_UUID, 16)
_CHARACTERISTICS: tuple[tuple[str, int, int, list[str]], ...] = (
    (ble.DEVICE_NAME_UUID, 1, 3, ["read"]),
    (ble.APPEARANCE_UUID, 1, 5, ["read"]),
    (ble.WRITE_UUID, 16, 18, ["write"]),
    (ble.READ_UUID, 16, 20, ["read", "notify", "indicate"]),
    (ble.VERSION_UUID, 16, 23, ["read"]),
)


def gatt_services(mtu: int) -> BleakGATTServiceCollection:
    """The car's GATT table: the GAP service (name, appearance) and Tesla's service."""
    collection = BleakGATTServiceCollection()
    services: dict[int, BleakGATTService] = {}
    for uuid, handle in (_GAP_SERVICE, _TESLA_SERVICE):
        services[handle] = BleakGATTService(None, handle, uuid)
        collection.add_service(services[handle])
    for uuid, service_handle, handle, properties in _CHARACTERISTICS:
        collection.add_characteristic(
            BleakGATTCharacteristic(
                None,
                handle,
                uuid,
                properties,  # type: ignore[arg-type]
                lambda: mtu - ble.ATT_HEADER,
                services[service_handle],
            )
        )
    return collection


class SimBleakClient(BaseBleakClient):
    """A GATT client of one simulated car, over its ``BleLink``."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._link: BleLink | None = None
        self._car: ble.BleCar | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._notify: NotifyCallback | None = None

    @property
    def name(self) -> str:
        """The car's advertised name."""
        car = ble.find(self.address)
        return car.name if car is not None else self.address

    @property
    def mtu_size(self) -> int:
        """The link's MTU (the car's, once connected)."""
        return self._car.mtu if self._car is not None else 23

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._link is not None and self._link.connected

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        """Connect: TimeoutError when the car is out of range, BleakError when there is none."""
        car = ble.find(self.address)
        if car is None:
            raise BleakError(f"Device with address {self.address} was not found")
        self._loop = asyncio.get_running_loop()
        self._car = car
        self._link = car.connect(self._deliver, self._lost)
        self.services = gatt_services(car.mtu)

    async def disconnect(self) -> None:
        """Close the link (the disconnected callback is for a link the radio loses)."""
        link, self._link = self._link, None
        if link is not None:
            link.close()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """BLE bonding: Tesla's protocol does not use it; nothing to do."""

    async def unpair(self) -> None:
        """See pair."""

    def _linked(self) -> BleLink:
        if self._link is None or not self._link.connected:
            raise BleakError("Not connected")
        return self._link

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read the name, the appearance or the protocol version."""
        try:
            return bytearray(self._linked().read(characteristic.uuid))
        except ConnectionError as err:
            raise BleakError("Not connected") from err

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """The simulated car has no descriptors to read."""
        raise BleakError(f"descriptor {descriptor.handle} not readable")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write to the write characteristic: a frame (or part of one) for the car."""
        if characteristic.uuid != ble.WRITE_UUID:
            raise BleakError(f"characteristic {characteristic.uuid} is not writable")
        try:
            self._linked().write(bytes(data))
        except ConnectionError as err:
            raise BleakError("Not connected") from err

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """The simulated car has no descriptors to write."""
        raise BleakError(f"descriptor {descriptor.handle} not writable")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Notifications of the read characteristic."""
        self._linked()
        if characteristic.uuid != ble.READ_UUID:
            raise BleakError(f"characteristic {characteristic.uuid} does not notify")
        self._notify = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """No more notifications."""
        self._notify = None

    def _deliver(self, chunk: bytes) -> None:
        if self._loop is not None and self._notify is not None:
            self._loop.call_soon(self._notify_now, bytearray(chunk))

    def _notify_now(self, chunk: bytearray) -> None:
        if self._notify is not None and self.is_connected:
            self._notify(chunk)

    def _lost(self) -> None:
        self._link = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()


class SimBleakClientFacade(BleakClient):
    """``bleak.BleakClient`` with ``SimBleakClient`` as its backend, for use without Home
    Assistant (put it in place of ``bleak.BleakClient``, which tesla-fleet-api looks up when it
    connects, as habluetooth puts its own wrapper there)."""

    def __init__(self, address_or_ble_device: BLEDevice | str, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("_is_retry_client", None)
        kwargs["backend"] = SimBleakClient
        super().__init__(address_or_ble_device, *args, **kwargs)


def sim_device(car: ble.BleCar, details: dict[str, Any] | None = None) -> BLEDevice:
    """A BLEDevice for a car, as a scan would find it."""
    return BLEDevice(car.address, car.name, details or {})


__all__ = ["SimBleakClient", "SimBleakClientFacade", "gatt_services", "sim_device"]
