"""One GATT link to a simulated car: Tesla's characteristics, the framing, the MTU.

protocol.md ("BLE"): a client writes to the write characteristic and gets notifications on the
read characteristic; each message is a serialized RoutableMessage after a two-byte big-endian
length. An answer is cut into notifications of the link's MTU less the ATT header.
"""

from __future__ import annotations

from collections.abc import Callable
import struct
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .ble import BleCar

SERVICE_UUID: Final = "00000211-b2d1-43f0-9b88-960cebf8b91e"
WRITE_UUID: Final = "00000212-b2d1-43f0-9b88-960cebf8b91e"
READ_UUID: Final = "00000213-b2d1-43f0-9b88-960cebf8b91e"
VERSION_UUID: Final = "00000214-b2d1-43f0-9b88-960cebf8b91e"
DEVICE_NAME_UUID: Final = "00002a00-0000-1000-8000-00805f9b34fb"
APPEARANCE_UUID: Final = "00002a01-0000-1000-8000-00805f9b34fb"
# The version characteristic's value: no public source gives one, this is the simulator's own.
PROTOCOL_VERSION: Final = b"\x00\x00\x00\x01"
# An ATT notification carries the MTU less its 3-byte header.
ATT_HEADER: Final = 3
DEFAULT_MTU: Final = 185


class BleLink:
    """One GATT connection to the car: frames in from writes, answers out as notifications."""

    def __init__(
        self, car: BleCar, notify: Callable[[bytes], None], dropped: Callable[[], None]
    ) -> None:
        self._car = car
        self._notify = notify
        self._dropped = dropped
        self._buffer = bytearray()
        self.connected = True

    def write(self, data: bytes) -> None:
        """A write to the write characteristic; every complete frame reaches the car."""
        if not self.connected:
            raise ConnectionError("the link is closed")
        self._buffer += data
        while len(self._buffer) >= 2:
            length = struct.unpack(">H", self._buffer[:2])[0]
            if len(self._buffer) < 2 + length:
                return
            frame = bytes(self._buffer[2 : 2 + length])
            del self._buffer[: 2 + length]
            self._car.receive(self, frame)

    def read(self, uuid: str) -> bytes:
        """A read of one of the car's characteristics (it does not keep the car awake)."""
        if not self.connected:
            raise ConnectionError("the link is closed")
        if uuid == VERSION_UUID:
            return PROTOCOL_VERSION
        if uuid == DEVICE_NAME_UUID:
            # Tesla's GAP name: a key symbol before the car's name, as tesla-fleet-api expects.
            return f"🔑 {self._car.vehicle.display_name}".encode()
        if uuid == APPEARANCE_UUID:
            return b"\x00\x00"
        return b""

    def send(self, message: bytes) -> None:
        """The car sends one message: length-prefixed, cut into MTU-sized notifications."""
        if not self.connected:
            return  # a reply to a link that is gone is lost, as over the air
        framed = struct.pack(">H", len(message)) + message
        size = max(self._car.mtu - ATT_HEADER, 20)
        for start in range(0, len(framed), size):
            self._notify(framed[start : start + size])

    def close(self) -> None:
        """The client disconnects."""
        self.connected = False
        self._car.forget(self)

    def drop(self) -> None:
        """The radio loses the link: closed, and the client is told."""
        if self.connected:
            self.close()
            self._dropped()
