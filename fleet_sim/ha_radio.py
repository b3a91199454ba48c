"""A simulated Bluetooth proxy in Home Assistant, for tests and the bench only.

The one fleet_sim module that imports Home Assistant (and habluetooth): it registers a remote
scanner with Home Assistant's ``bluetooth`` integration, as an ESPHome Bluetooth proxy looks to
it. The scanner hears the simulator's cars advertise (their local name ``S...C``, address, an
RSSI, connectable) and connects to them through ``SimBleakClient`` (ble_bleak.py), so
``bluetooth.async_ble_device_from_address`` finds a car and the ``bleak.BleakClient`` Home
Assistant wraps reaches it over the simulated radio.

It needs Home Assistant's ``bluetooth`` integration set up (in tests and the bench with Home
Assistant's own test helpers, whose host adapter is a stand-in). Not for a real Home Assistant:
it would show simulated cars next to real ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from bluetooth_data_tools import monotonic_time_coarse
from habluetooth import BaseHaRemoteScanner, HaBluetoothConnector, get_manager
from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval

from .ble import BleCar
from .ble_bleak import SimBleakClient
from .simulator import Simulator

SOURCE: Final = "AA:BB:CC:00:00:01"
ADVERTISE_EVERY: Final = timedelta(seconds=10)
# A car parked next to the proxy.
RSSI: Final = -60
# ESPHome proxies offer three connections at a time.
CONNECTION_SLOTS: Final = 3


class SimProxyScanner(BaseHaRemoteScanner):
    """The proxy's scanner: what it hears is what the simulator's cars advertise."""


class SimRadio:
    """One simulated proxy in range of the simulator's cars."""

    def __init__(self, hass: HomeAssistant, sim: Simulator, source: str = SOURCE) -> None:
        self.hass = hass
        self.sim = sim
        self.source = source
        self.rssi = RSSI
        connector = HaBluetoothConnector(
            client=SimBleakClient, source=source, can_connect=lambda: True
        )
        self.scanner = SimProxyScanner(
            source=source, adapter="sim_proxy", connector=connector, connectable=True
        )
        self._cancels: list[CALLBACK_TYPE] = []

    def start(self) -> None:
        """Register the scanner with Home Assistant and advertise now and periodically."""
        self._cancels = [
            bluetooth.async_register_scanner(
                self.hass, self.scanner, connection_slots=CONNECTION_SLOTS
            ),
            self.scanner.async_setup(),
            async_track_time_interval(self.hass, self._tick, ADVERTISE_EVERY),
        ]
        self.advertise()

    @callback
    def _tick(self, _now: datetime) -> None:
        self.advertise()

    @callback
    def advertise(self) -> None:
        """One advertisement from every car in range."""
        now = monotonic_time_coarse()
        for car in self.sim.ble_cars:
            if car.in_range:
                # ESPHome's and Shelly's scanners hand their advertisements over the same way.
                self.scanner._async_on_advertisement(
                    car.address, self.rssi, car.name, [], {}, {}, None, {}, now
                )

    @callback
    def lose(self, car: BleCar) -> None:
        """The car goes out of range: its links drop, it stops advertising, and Home Assistant
        forgets it at once (``async_track_unavailable`` callbacks fire)."""
        car.in_range = False
        # What the scanner's expiry and the manager's periodic check would do after some
        # minutes of silence, done now: habluetooth offers no public way to do either.
        self.scanner._previous_service_info.pop(car.address, None)
        manager = get_manager()
        # The check schedules its next run itself: the pending one goes, or two would be left.
        if manager._cancel_unavailable_tracking is not None:
            manager._cancel_unavailable_tracking.cancel()
        manager._async_check_unavailable()

    @callback
    def find(self, car: BleCar) -> None:
        """The car is back in range and advertises again."""
        car.in_range = True
        self.advertise()

    @callback
    def stop(self) -> None:
        """Unregister the scanner and stop advertising."""
        cancels, self._cancels = self._cancels, []
        for cancel in reversed(cancels):
            cancel()


async def async_start_sim_radio(hass: HomeAssistant, sim: Simulator) -> SimRadio:
    """A started SimRadio for the simulator's cars (Home Assistant's bluetooth must be set up)."""
    radio = SimRadio(hass, sim)
    radio.start()
    return radio
