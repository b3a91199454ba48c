"""One coordinator per car: polls as policy.py plans and publishes a WallboxState; never wakes.

A car that streams (stream.py) is not polled on a timer: each event of its stream is published at
once. How each answer or event changes what is known is fact_updates.py's, what survives a restart
storage.py's, and the watch that makes stale data unavailable (one log line each way)
staleness.py's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from . import fact_updates, policy
from .client import VehicleClient
from .const import DOMAIN, LOGGER
from .errors import (
    AuthError,
    CommandProtocolError,
    PaymentRequiredError,
    RateLimitedError,
    TeslaWallboxError,
    TransientError,
    VehicleUnavailableError,
)
from .fact_updates import CommandEffect
from .policy import PollFacts, PollKind, PollPlan
from .poll_timer import PollTimer
from .projection import Targets
from .pv_zone import PvZone
from .repairs import (
    async_delete_command_protocol_issue,
    async_delete_subscription_issue,
    async_raise_command_protocol_issue,
    async_raise_subscription_issue,
)
from .staleness import StalenessWatch
from .storage import CarStore, restore_not_before, restore_state, store_not_before, store_state
from .stream_data import StreamReading
from .vehicle_data import ChargeData, Connection, position_of, reply_connection
from .wallbox import WallboxState


class WallboxCoordinator(DataUpdateCoordinator[WallboxState]):
    """Polls one car as the policy plans, and holds what is known about it."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: VehicleClient,
        store: CarStore,
        name: str,
        *,
        streaming: bool = False,  # its data comes from its stream (stream.py feeds it)
    ) -> None:
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {name}", update_interval=None
        )
        self.client = client
        self.vin = client.vin
        self._store = store
        self._settings = policy.poll_settings(entry.options)
        self._zone = PvZone.from_options(hass, entry.options)
        self.pv_zone = self._zone.entity_id
        not_before = restore_not_before(store, self.vin, self.now(), self.name)
        self.streaming = streaming  # never polled on a timer
        self.facts = PollFacts(not_before=not_before, streaming=streaming)
        self.plan: PollPlan | None = None
        self._targets = Targets()  # the soft target (the charge controller's) and the projection
        self._user_refresh = False
        self._raised_protocol_issue = False  # by a poll; a command's refusal is not ours to clear
        self._partial: ChargeData | None = None  # streamed charge fields, before a charging state
        self.data = restore_state(store, self.vin, self._zone.contains)
        self._timer = PollTimer(hass, entry, self.name, self.async_refresh)
        self._staleness = StalenessWatch(self, self._settings.stale_after)
        self._zone.async_track(self._on_pv_zone_changed)

    @staticmethod
    def now() -> float:
        """Seconds since the epoch, from HA's clock (frozen in tests)."""
        return dt_util.utcnow().timestamp()

    @property
    def settings(self) -> policy.PollSettings:
        """The options' intervals; reads while charging come sooner while they are free."""
        return policy.read_intervals(self._settings, free=self.client.bluetooth_in_range)

    @property
    def stale(self) -> bool:
        """Whether the last successful contact is older than stale_after."""
        return self._staleness.stale(self.now())

    @property
    def age(self) -> float | None:
        """Seconds since the data was last known to be current (none while the stream is up)."""
        if self.data.confirmed_time is None:
            return None
        if self._staleness.live:
            return 0.0
        return max(0.0, self.now() - self.data.confirmed_time)

    @property
    def soft_target(self) -> int | None:
        """The charge controller's soft target, which reads are planned for."""
        return self._targets.soft_target

    # ----- polling ---------------------------------------------------------------------------

    async def _async_update_data(self) -> WallboxState:
        """One poll: a state check and/or a data read, as planned."""
        now = self.now()
        state = self.data
        user_asked, self._user_refresh = self._user_refresh, False
        kind = PollKind.STATE if user_asked or self.plan is None else self.plan.kind
        if self.facts.not_before is not None and self.facts.not_before > now:
            return self._finish(state, now)  # a 429's Retry-After, maybe from before a restart
        try:
            if kind is PollKind.STATE or state.connection is not Connection.ONLINE:
                try:
                    connection = await self.client.state()
                except VehicleUnavailableError as err:
                    # Never expected from the state endpoint: a failure like any other.
                    raise TransientError("408 on a state check") from err
                self.facts, state = fact_updates.after_state_check(
                    self.facts, state, connection, now
                )
                online = state.connection is Connection.ONLINE
                known = state.charge is not None
                wanted = policy.wants_data(now, self.facts, self.settings, charge_known=known)
                if not (online and user_asked) and not wanted:
                    return self._finish(state, now)
            data = await self.client.data(location=self.pv_zone is not None)
            state = self._with_data(state, data, now)
        except AuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except VehicleUnavailableError:
            self.facts, state = fact_updates.after_refused_read(
                self.facts, state, now, self.settings
            )
        except TeslaWallboxError as err:
            self.facts, state = fact_updates.after_failure(self.facts, state, err.key)
            if isinstance(err, PaymentRequiredError):
                async_raise_subscription_issue(self.hass, self.config_entry)
            if isinstance(err, RateLimitedError):
                self._hold_back(err.retry_after)
            elif isinstance(err, CommandProtocolError):
                # The account or the car wants signed requests or another key: the user must act.
                async_raise_command_protocol_issue(self.hass, self.config_entry)
                self._raised_protocol_issue = True
            elif self.data.checked_time is None and self.data.charge is None:
                # Nothing known yet: let HA retry the setup rather than show empty entities.
                raise UpdateFailed(translation_domain=DOMAIN, translation_key=err.key) from err
            else:
                LOGGER.debug("Poll of %s failed: %s", self.name, err)
        return self._finish(state, now, failed=state.last_error is not None)

    def _with_data(self, state: WallboxState, data: dict[str, Any], now: float) -> WallboxState:
        """Apply a vehicle_data reply: a cached one tells only the car's state."""
        connection = reply_connection(data)
        if connection is not Connection.ONLINE:
            self.facts, state = fact_updates.after_cached_reply(
                self.facts, state, connection, now, self.settings
            )
            return state
        charge = ChargeData.from_reply(data.get("charge_state"))
        position = position_of(data.get("drive_state"))
        at_pv = self._zone.contains(position)
        self.facts, state, self._targets = fact_updates.after_reply(
            self.facts, state, charge, position, at_pv, now=now, targets=self._targets
        )
        if self._raised_protocol_issue:
            self._raised_protocol_issue = False
            async_delete_command_protocol_issue(self.hass, self.config_entry)
        async_delete_subscription_issue(self.hass, self.config_entry)
        store_state(self._store, self.vin, state)
        return state

    def _finish(self, state: WallboxState, now: float, failed: bool = False) -> WallboxState:
        self.facts = fact_updates.after_poll(self.facts, failed=failed)
        self._schedule(now)
        self._staleness.async_check(state.checked_time, now)
        return state

    @callback
    def _schedule(self, now: float) -> None:
        """Plan the next poll and set a timer for it."""
        self.plan = self._timer.async_schedule(now, self.facts, self.settings) or self.plan

    def _hold_back(self, retry_after: float | None) -> None:
        """Nothing goes to the API for a 429's Retry-After, across restarts."""
        not_before = fact_updates.hold_until(self.now(), retry_after)
        self.facts = replace(self.facts, not_before=not_before)
        store_not_before(self._store, self.vin, not_before)

    async def async_user_refresh(self) -> None:
        """A refresh the user asked for: a state check, and a data read if the car is online."""
        self.check_not_rate_limited()
        self._user_refresh = True
        await self.async_refresh()

    # ----- what the car's stream tells us (stream.py) ---------------------------------------

    @callback
    def async_apply_stream(self, reading: StreamReading) -> None:
        """An event of the car's stream: what it changed is published at once."""
        now = self.now()
        at_pv = self._zone.contains(reading.position_or(self.data.position))
        outcome = fact_updates.after_stream(
            self.facts, self.data, reading, at_pv, self._targets, partial=self._partial, now=now
        )
        self.facts, self._targets, self._partial = outcome.facts, outcome.targets, outcome.partial
        if outcome.state is not self.data:
            store_state(self._store, self.vin, outcome.state)
            self.async_set_updated_data(outcome.state)

    @callback
    def async_stream_connection(self, connected: bool) -> None:
        """The stream connected, or went down: the moment it went down is the last contact."""
        now = self.now()
        if self._staleness.live and not connected:
            self.data = replace(self.data, checked_time=now)
        self._staleness.live = connected
        self._staleness.async_check(self.data.checked_time, now)
        self.async_update_listeners()

    # ----- what the charge controller tells us ----------------------------------------------

    @callback
    def note_online(self) -> None:
        """The controller woke the car and saw it online."""
        self.facts, state = fact_updates.after_wake(self.facts, self.data, self.now())
        self.async_set_updated_data(state)

    @callback
    def note_command(self, effect: CommandEffect) -> None:
        """A command succeeded: show its effect at once, and (confirm) check it with a read soon."""
        now = self.now()
        self.facts, state, self._targets = fact_updates.after_command(
            self.facts, self.data, self._targets, effect, now, settings=self.settings
        )
        self.async_set_updated_data(state)
        self._schedule(now)

    @callback
    def note_command_error(self, err: TeslaWallboxError) -> None:
        """A command failed: a 429 holds back every request until its Retry-After."""
        if isinstance(err, RateLimitedError):
            self._hold_back(err.retry_after)
            self._schedule(self.now())

    def check_not_rate_limited(self) -> None:
        """Refuse to send anything before a 429's Retry-After has passed."""
        if (seconds := policy.held_back_for(self.facts, self.now())) is not None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                translation_placeholders={"seconds": str(seconds)},
            )

    @callback
    def set_pv_regulated(self, regulated: bool) -> None:
        """The PV controller took over the current (or let go): reads follow its interval."""
        if regulated != self.facts.pv_regulated:
            self.facts = replace(self.facts, pv_regulated=regulated)
            if self.plan is not None:  # polling has begun: plan again with the new facts
                self._schedule(self.now())

    @callback
    def set_soft_target(self, soft_target: int | None) -> None:
        """The soft target changed: plan a read for the moment it is reached."""
        self.facts, self._targets = fact_updates.with_soft_target(
            self.facts, self._targets, self.data.charge, soft_target, self.now()
        )
        if self.plan is not None:
            self._schedule(self.now())

    @callback
    def _on_pv_zone_changed(self) -> None:
        """The PV zone moved or changed its radius: is the car still inside?"""
        if (inside := self._zone.contains(self.data.position)) != self.data.at_pv_location:
            self.async_set_updated_data(self.data.with_position(self.data.position, inside))

    async def async_shutdown(self) -> None:
        """Cancel the timers."""
        self._timer.async_close()
        self._staleness.async_cancel()
        self._zone.async_untrack()
        await super().async_shutdown()
