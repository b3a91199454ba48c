"""The Simulator: cars, clock, ledger and faults behind one aiohttp server."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from . import ble as ble_registry
from .admin import AdminApi
from .ble import BleCar
from .clock import SimClock
from .faults import FaultInjector
from .ledger import Ledger
from .oauth import OAuthApi
from .server import FleetApi
from .stream import StreamHub
from .tls import TlsFront, teslemetry_connector
from .vehicle import SimVehicle, VehicleConfig

# Seconds stop() grants running requests before it cancels them.
_SHUTDOWN_TIMEOUT = 0.5


class Simulator:
    """A Tesla Fleet API server with simulated cars, for tests, benchmarks and demos."""

    def __init__(
        self,
        *,
        clock: SimClock | None = None,
        vehicles: int | list[VehicleConfig] = 1,
        token: str | None = None,
        wake_delay: float = 20.0,
        sleep_after: float = 900.0,
        state_price: float = 0.0,
        tls: bool = False,
    ) -> None:
        self.clock = clock or SimClock()
        self.wake_delay = wake_delay
        self.sleep_after = sleep_after
        self.ledger = Ledger(state_price)
        self.faults = FaultInjector()
        self.vehicles: dict[str, SimVehicle] = {}
        self._ble: dict[str, BleCar] = {}
        self.url: str | None = None
        # With tls=True, start() also serves HTTPS (for Teslemetry's host names, see tls.py).
        self.tls = tls
        self.tls_url: str | None = None
        self._tls_address: tuple[str, int] | None = None
        self._tls_front: TlsFront | None = None
        self._token = token
        self._retired_tokens: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        configs = (
            [VehicleConfig() for _ in range(vehicles)] if isinstance(vehicles, int) else vehicles
        )
        for config in configs:
            self.add_vehicle(config)
        self.stream = StreamHub(self)
        self.app = web.Application()
        FleetApi(self).register(self.app)
        AdminApi(self).register(self.app)
        self.stream.register(self.app)
        self.oauth = OAuthApi(self)
        self.oauth.register(self.app)

    # ---- cars and time ------------------------------------------------------------------------

    def add_vehicle(self, config: VehicleConfig | None = None) -> SimVehicle:
        """Add a car (index = position + 1, which also picks its default VIN and name)."""
        vehicle = SimVehicle(
            config or VehicleConfig(),
            index=len(self.vehicles) + 1,
            clock=self.clock,
            wake_delay=self.wake_delay,
            sleep_after=self.sleep_after,
        )
        if vehicle.vin in self.vehicles:
            raise ValueError(f"duplicate VIN {vehicle.vin}")
        self.vehicles[vehicle.vin] = vehicle
        ble_car = BleCar(vehicle, self.clock, self.ledger)
        self._ble[vehicle.vin] = ble_car
        ble_registry.register(ble_car)
        return vehicle

    def ble(self, key: str | int) -> BleCar:
        """A car's Bluetooth LE side, by VIN or 1-based index (as ``vehicle``)."""
        return self._ble[self.vehicle(key).vin]

    @property
    def ble_cars(self) -> list[BleCar]:
        """Every car's Bluetooth LE side, in the cars' order."""
        return list(self._ble.values())

    def vehicle(self, key: str | int) -> SimVehicle:
        """A car by VIN or 1-based index; KeyError if there is none."""
        if isinstance(key, str) and key in self.vehicles:
            return self.vehicles[key]
        text = str(key)
        cars = list(self.vehicles.values())
        if text.isdigit() and 1 <= int(text) <= len(cars):
            return cars[int(text) - 1]
        raise KeyError(key)

    def vehicle_by_tag(self, tag: str) -> SimVehicle | None:
        """A car by VIN or Tesla's numeric id, the two forms the Fleet API accepts in a path."""
        if tag in self.vehicles:
            return self.vehicles[tag]
        return next((car for car in self.vehicles.values() if str(car.id) == tag), None)

    def now(self) -> float:
        """The simulated time."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the clock forward and bring every car up to date."""
        self.clock.advance(seconds)
        for vehicle in self.vehicles.values():
            vehicle.sync()
        self.stream.poke()

    # ---- authentication -----------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        """The one accepted token; None accepts any non-empty Bearer token."""
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        if self._token is not None and self._token != value:
            # The old token now answers "token expired", like a rotated Tesla token.
            self._retired_tokens.add(self._token)
        self._token = value
        if value is not None:
            self._retired_tokens.discard(value)

    def is_retired_token(self, token: str) -> bool:
        """Whether ``token`` was valid once and has been replaced."""
        return token in self._retired_tokens

    # ---- server -------------------------------------------------------------------------------

    @property
    def closing(self) -> asyncio.Event:
        """Set when the server stops; hung requests wait for it."""
        return self._closing

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        # A fresh event per run: an asyncio.Event belongs to the loop that first waits on it.
        self._closing = asyncio.Event()
        runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            plain = runner.addresses[0]
            if self.tls:
                self._tls_front = TlsFront((plain[0], plain[1]))
                self._tls_address = await self._tls_front.start(host)
                self.tls_url = _base_url("https", self._tls_address)
        except BaseException:
            await self._close_tls()
            await runner.cleanup()
            raise
        self._runner = runner
        for ble_car in self._ble.values():
            ble_registry.register(ble_car)
        self.url = _base_url("http", plain)
        return self.url

    async def _close_tls(self) -> None:
        front, self._tls_front = self._tls_front, None
        if front is not None:
            await front.close()
        self.tls_url = self._tls_address = None

    def teslemetry_connector(self) -> aiohttp.TCPConnector:
        """A client connector that reaches this simulator for every ``*.teslemetry.com`` name,
        over HTTPS it verifies (needs ``tls=True`` and a running simulator)."""
        if self._tls_address is None:
            raise RuntimeError("the simulator serves no HTTPS: Simulator(tls=True), then start()")
        return teslemetry_connector(*self._tls_address)

    async def stop(self) -> None:
        """Stop serving; hung requests are dropped."""
        if self._runner is None:
            return
        self.closing.set()
        await self.stream.close()
        await self._close_tls()
        runner, self._runner = self._runner, None
        for ble_car in self._ble.values():
            for link in list(ble_car.links):
                link.drop()
            ble_registry.unregister(ble_car)
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def _base_url(scheme: str, address: Any) -> str:
    """``scheme://host:port`` for a bound socket address (IPv6 hosts in brackets)."""
    host, port = address[0], address[1]
    shown_host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown_host}:{port}"
