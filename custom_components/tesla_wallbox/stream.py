"""Teslemetry's stream for one entry: one connection for every car that streams, each event
handed to its car's coordinator at once.

teslemetry-stream connects, reads the server-sent events and reconnects with its own back-off
(1, 2, 4 ... 600 s); nothing here retries on top of it. What its errors ask of us is told the way
polling tells it: a token refused (401/403, after which the library stops) starts
re-authentication; a stream that cannot connect is asked about with one free request (the
account's metadata), which names a missing subscription (402) as the repair issue polling raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from teslemetry_stream import TeslemetryStream, TeslemetryStreamAuthenticationError

from .client import AccountClient
from .const import DOMAIN, LOGGER
from .coordinator import WallboxCoordinator
from .errors import AuthError, PaymentRequiredError, TeslaWallboxError
from .repairs import async_delete_subscription_issue, async_raise_subscription_issue
from .stream_data import LOCATION, NEEDED_SIGNALS, probe_due, read_event

# The event kinds the wallbox reads; `config` keeps the library's record of each car's fields.
TOPICS: Final = ("state", "data", "config")
# Set-up gives up making sure of the cars' streaming fields after this long.
FIELDS_TIMEOUT: Final = 60.0


def stream_session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """The session the stream connects with: Home Assistant's shared one. (Tests point
    Teslemetry's host names at the simulator here, the one thing it cannot serve itself.)"""
    return async_get_clientsession(hass)


class CarStreams:
    """The entry's Teslemetry stream, and what it told each car's coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        account: AccountClient,
        token: str | Callable[[], Awaitable[str]],
        *,
        server: str,
        coordinators: dict[str, WallboxCoordinator],
    ) -> None:
        self.hass = hass
        self._entry = entry
        self._account = account
        self._cars = coordinators
        self.server = server
        self._stream = TeslemetryStream(
            stream_session(hass),
            token,
            server=server,
            parse_timestamp=True,
            manual=True,
            topics=TOPICS,
        )
        self.connected: bool | None = None  # None: not tried yet
        # Per car: the events heard (of every kind), and Home Assistant's time of the last one.
        self.events: dict[str, int] = dict.fromkeys(coordinators, 0)
        self.last_event: dict[str, float] = {}
        self._failed_connects = 0
        self._probed_at: float | None = None
        self._probe: asyncio.Task[None] | None = None
        self._unsubs: list[Callable[[], None]] = []
        self._stopped = False

    @callback
    def async_start(self) -> None:
        """Listen for every car that streams, and connect (in the background)."""
        for vin in self._cars:
            # The library's record of the car's fields, kept from its config events from now on.
            self._stream.get_vehicle(vin)
            self._unsubs.append(
                self._stream.async_add_listener(partial(self._on_event, vin), {"vin": vin})
            )
        self._unsubs.append(self._stream.async_add_connection_listener(self._on_connection))
        self._entry.async_on_unload(self._async_stop)
        self._entry.async_create_background_task(self.hass, self._listen(), f"{DOMAIN} stream")
        self._entry.async_create_background_task(
            self.hass, self._ensure_fields(), f"{DOMAIN} stream fields"
        )

    @callback
    def _async_stop(self) -> None:
        """At unload: close the stream; what it reports on the way out is not news."""
        self._stopped = True
        self._stream.close()
        while self._unsubs:
            self._unsubs.pop()()

    def car_status(self, vin: str) -> dict[str, Any]:
        """The stream as one car sees it, for diagnostics (no VIN, no token)."""
        last = self.last_event.get(vin)
        return {
            "server": self.server,
            "connected": self.connected,
            "events": self.events.get(vin, 0),
            "last_event_age": None if last is None else round(self._cars[vin].now() - last, 1),
        }

    # ----- what the library reports ----------------------------------------------------------

    @callback
    def _on_event(self, vin: str, event: dict[str, Any]) -> None:
        coordinator = self._cars[vin]
        self.last_event[vin] = coordinator.now()
        self.events[vin] += 1
        reading = read_event(event)
        if not reading.empty:
            coordinator.client.data_path = "stream"
            coordinator.async_apply_stream(reading)

    @callback
    def _on_connection(self, connected: bool) -> None:
        """Connected, or down: a lost connection, or an attempt that failed."""
        if self._stopped:
            return
        was, self.connected = self.connected, connected
        for coordinator in self._cars.values():
            coordinator.async_stream_connection(connected)
        if connected:
            self._failed_connects = 0
            async_delete_subscription_issue(self.hass, self._entry)
            if was is not True:
                LOGGER.info("Teslemetry's stream is connected (%s)", self.server)
            return
        if was is True:
            LOGGER.info("Teslemetry's stream was lost: teslemetry-stream reconnects")
            return
        self._failed_connects += 1
        self._maybe_probe()

    async def _listen(self) -> None:
        """The library's listen loop; it only ends for good when the token is refused."""
        try:
            await self._stream.listen()
        except TeslemetryStreamAuthenticationError:
            LOGGER.warning("Teslemetry refused the token on its stream: sign in again")
            self._auth_failed()

    @callback
    def _auth_failed(self) -> None:
        """As a poll refused with 401: the data entities are unavailable until a new token."""
        failure = ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
        for coordinator in self._cars.values():
            coordinator.async_set_update_error(failure)
        self._entry.async_start_reauth(self.hass)

    # ----- why it cannot connect ---------------------------------------------------------------

    @callback
    def _maybe_probe(self) -> None:
        now = self.hass.loop.time()
        if not probe_due(self._failed_connects, self._probed_at, now):
            return
        if self._probe is not None and not self._probe.done():
            return
        self._probed_at = now
        self._probe = self._entry.async_create_background_task(
            self.hass, self._ask_the_account(), f"{DOMAIN} stream probe"
        )

    async def _ask_the_account(self) -> None:
        """One free request, which answers 402 when the subscription is what is missing."""
        try:
            await self._account.metadata()
        except AuthError:
            self._auth_failed()
            return
        except PaymentRequiredError:
            LOGGER.warning("Teslemetry's stream cannot connect: the subscription is required")
            async_raise_subscription_issue(self.hass, self._entry)
            return
        except TeslaWallboxError as err:
            LOGGER.debug("Teslemetry's stream cannot connect; the metadata failed too: %s", err)
            return
        LOGGER.debug("Teslemetry's stream cannot connect; the account answers as usual")

    # ----- the cars' streaming config ----------------------------------------------------------

    async def _ensure_fields(self) -> None:
        """Add the signals the wallbox needs to each car's streaming config where missing
        (Teslemetry's default interval; no other field is changed)."""
        signals = list(NEEDED_SIGNALS)
        if any(coordinator.pv_zone is not None for coordinator in self._cars.values()):
            signals.append(LOCATION)
        for vin in self._cars:
            vehicle = self._stream.get_vehicle(vin)
            try:
                async with asyncio.timeout(FIELDS_TIMEOUT):
                    results = await asyncio.gather(
                        *(vehicle.add_field(signal) for signal in signals), return_exceptions=True
                    )
            except TimeoutError:
                results = [TimeoutError()]
            for result in results:
                if isinstance(result, Exception):
                    LOGGER.warning("A car's streaming fields could not be checked: %s", result)
                    break
