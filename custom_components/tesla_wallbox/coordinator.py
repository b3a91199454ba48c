"""One coordinator per car: runs the polling policy and publishes a WallboxState.

It never wakes the car. It reads only when policy.py says so, and it tells entities when the data
has gone stale (one log line when it does, one when it recovers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
import random
from typing import Any

from homeassistant.components.zone import in_zone
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .client import (
    MAX_RETRY_AFTER,
    AuthError,
    CommandProtocolError,
    RateLimitedError,
    TeslaWallboxError,
    TransientError,
    VehicleClient,
    VehicleUnavailableError,
)
from .const import (
    CONF_CHARGING_INTERVAL,
    CONF_CONFIRM_DELAY,
    CONF_IDLE_QUIET,
    CONF_PV_CHARGING_INTERVAL,
    CONF_PV_ZONE,
    CONF_SLEEP_CHECK_INTERVAL,
    CONF_STALE_AFTER,
    DEFAULT_CHARGING_INTERVAL,
    DEFAULT_CONFIRM_DELAY,
    DEFAULT_IDLE_QUIET,
    DEFAULT_PV_CHARGING_INTERVAL,
    DEFAULT_PV_ZONE,
    DEFAULT_SLEEP_CHECK_INTERVAL,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    LOGGER,
)
from .policy import (
    PollFacts,
    PollKind,
    PollPlan,
    PollSettings,
    is_stale,
    plan_next,
    refused_read_gap,
    wants_data,
)
from .repairs import async_delete_command_protocol_issue, async_raise_command_protocol_issue
from .storage import NOT_BEFORE_KEY, CarStore
from .wallbox import (
    ChargeData,
    Connection,
    LevelProjection,
    WallboxState,
    position_of,
    reply_connection,
)

# A 429 without Retry-After still waits this long.
DEFAULT_RETRY_AFTER = 60.0
# After the predicted moment the car reaches its own limit, read this much later to see Complete.
LIMIT_READ_DELAY = 60.0


def poll_settings(options: dict[str, Any]) -> PollSettings:
    """The policy's intervals from the entry's options."""
    return PollSettings(
        charging_interval=float(options.get(CONF_CHARGING_INTERVAL, DEFAULT_CHARGING_INTERVAL)),
        pv_charging_interval=float(
            options.get(CONF_PV_CHARGING_INTERVAL, DEFAULT_PV_CHARGING_INTERVAL)
        ),
        sleep_check_interval=float(
            options.get(CONF_SLEEP_CHECK_INTERVAL, DEFAULT_SLEEP_CHECK_INTERVAL)
        ),
        idle_quiet=float(options.get(CONF_IDLE_QUIET, DEFAULT_IDLE_QUIET)),
        confirm_delay=float(options.get(CONF_CONFIRM_DELAY, DEFAULT_CONFIRM_DELAY)),
    )


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
    ) -> None:
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {name}", update_interval=None
        )
        self.client = client
        self.vin = client.vin
        self._store = store
        self.settings = poll_settings(dict(entry.options))
        self.stale_after = float(entry.options.get(CONF_STALE_AFTER, DEFAULT_STALE_AFTER))
        self.pv_zone: str | None = entry.options.get(CONF_PV_ZONE, DEFAULT_PV_ZONE) or None
        self.facts = PollFacts(not_before=self._restored_not_before())
        self.plan: PollPlan | None = None
        self.soft_target: int | None = None  # kept by the charge controller; read for predictions
        self._projection: LevelProjection | None = None  # the battery level since the last read
        self._user_refresh = False
        self._unsub_poll: CALLBACK_TYPE | None = None
        self._unsub_stale: CALLBACK_TYPE | None = None
        self._was_stale = False
        self._shutdown = False
        self._raised_protocol_issue = False  # by a poll; a command's refusal is not ours to clear
        self.data = self._restored_state()
        self._unsub_zone: CALLBACK_TYPE | None = None
        if self.pv_zone is not None:
            self._unsub_zone = async_track_state_change_event(
                hass, [self.pv_zone], self._on_pv_zone_changed
            )

    # ----- time and state -------------------------------------------------------------------

    @staticmethod
    def now() -> float:
        """Seconds since the epoch, from HA's clock (frozen in tests)."""
        return dt_util.utcnow().timestamp()

    def _restored_not_before(self) -> float | None:
        """A Retry-After from before a restart that has not passed yet: it still holds. One
        further off than we would ever honour (stored by an older version) is dropped."""
        not_before = self._store.get(self.vin, NOT_BEFORE_KEY)
        now = self.now()
        if not isinstance(not_before, (int, float)) or not now < not_before:
            return None
        if not_before > now + MAX_RETRY_AFTER:
            LOGGER.info(
                "%s: a stored Retry-After beyond %d s was dropped", self.name, MAX_RETRY_AFTER
            )
            self._store.set(self.vin, NOT_BEFORE_KEY, None)
            return None
        return float(not_before)

    def _hold_back(self, retry_after: float | None) -> None:
        """Nothing goes to the API for `retry_after` seconds (a 429's Retry-After; at most
        MAX_RETRY_AFTER), across restarts."""
        seconds = DEFAULT_RETRY_AFTER if retry_after is None else min(retry_after, MAX_RETRY_AFTER)
        not_before = self.now() + seconds
        self.facts = replace(self.facts, not_before=not_before)
        self._store.set(self.vin, NOT_BEFORE_KEY, not_before)

    def _restored_state(self) -> WallboxState:
        """The last data from before a restart: a sleeping car's charge state does not change."""
        stored = self._store.get(self.vin, "state")
        if not isinstance(stored, dict):
            return WallboxState(vin=self.vin).with_position(None, self.at_pv_location(None))
        charge = stored.get("charge")
        position = position_of(stored)
        session_place = stored.get("session_at_pv_location")
        # A car asleep at home after a restart is still at home: PV modes may act on it.
        return WallboxState(
            vin=self.vin,
            charge=ChargeData.from_api(charge) if isinstance(charge, dict) else None,
            data_time=stored.get("data_time"),
            confirmed_time=stored.get("confirmed_time"),
            session_charged=bool(stored.get("session_charged")),
            session_at_pv_location=session_place if isinstance(session_place, bool) else None,
        ).with_position(position, self.at_pv_location(position))

    def _persist(self, state: WallboxState) -> None:
        self._store.set(
            self.vin,
            "state",
            {
                "charge": state.charge.as_dict() if state.charge else None,
                "latitude": state.latitude,
                "longitude": state.longitude,
                "data_time": state.data_time,
                "confirmed_time": state.confirmed_time,
                "session_charged": state.session_charged,
                "session_at_pv_location": state.session_at_pv_location,
            },
        )

    @property
    def stale(self) -> bool:
        """Whether the last successful contact is older than stale_after."""
        return is_stale(self.now(), self.data.checked_time, self.stale_after)

    @property
    def age(self) -> float | None:
        """Seconds since the data was last known to be current."""
        if self.data.confirmed_time is None:
            return None
        return max(0.0, self.now() - self.data.confirmed_time)

    def at_pv_location(self, position: tuple[float, float] | None) -> bool | None:
        """Whether a position lies inside the PV zone: False without a PV zone (there is no PV
        location), None when it cannot be told (no position, or the zone entity is missing)."""
        if self.pv_zone is None:
            return False
        zone = self.hass.states.get(self.pv_zone)
        if position is None or zone is None:
            return None
        return in_zone(zone, *position)

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
                state = self._with_connection(state, connection, now)
                online = state.connection is Connection.ONLINE
                if not (online and user_asked) and not wants_data(now, self.facts, self.settings):
                    return self._finish(state, now)
            data = await self.client.data(location=self.pv_zone is not None)
            state = self._with_data(state, data, now)
        except AuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except VehicleUnavailableError:
            # The car fell asleep (or out of reach) since we last looked: find out which, for free,
            # and leave vehicle_data alone for a while in case the state endpoint says online.
            refused = self.facts.refused_reads + 1
            self.facts = replace(
                self.facts,
                connection=None,
                refused_reads=refused,
                data_not_before=now + refused_read_gap(refused, self.settings),
            )
            state = replace(state, connection=None, checked_time=now)
        except RateLimitedError as err:
            self._hold_back(err.retry_after)
            self.facts = replace(self.facts, failures=self.facts.failures + 1)
            state = replace(state, last_error=err.key)
        except CommandProtocolError as err:
            # The account or the car wants signed requests or another key: the user must act.
            async_raise_command_protocol_issue(self.hass, self.config_entry)
            self._raised_protocol_issue = True
            self.facts = replace(self.facts, failures=self.facts.failures + 1)
            state = replace(state, last_error=err.key)
        except TeslaWallboxError as err:
            self.facts = replace(self.facts, failures=self.facts.failures + 1)
            state = replace(state, last_error=err.key)
            if self.data.checked_time is None and self.data.charge is None:
                # Nothing known yet: let HA retry the setup rather than show empty entities.
                raise UpdateFailed(translation_domain=DOMAIN, translation_key=err.key) from err
            LOGGER.debug("Poll of %s failed: %s", self.name, err)
        return self._finish(state, now, failed=state.last_error is not None)

    def _with_connection(
        self, state: WallboxState, connection: Connection | None, now: float
    ) -> WallboxState:
        facts = self.facts
        woke = facts.woke_time
        if connection is Connection.ONLINE and facts.connection is not Connection.ONLINE:
            woke = now
        self.facts = replace(facts, connection=connection, woke_time=woke, failures=0)
        confirmed = state.confirmed_time
        if connection is Connection.ASLEEP and state.data_time is not None:
            confirmed = now  # asleep since our last read: nothing can have changed
        return replace(
            state,
            connection=connection,
            checked_time=now,
            confirmed_time=confirmed,
            last_error=None,
        )

    def _with_data(self, state: WallboxState, data: dict[str, Any], now: float) -> WallboxState:
        """Apply a vehicle_data reply.

        A reply whose own state is not online is cached data (tesla-fleet-api: vehicle_data "may
        return cached data if the vehicle is offline"): it tells the car's state, like a state
        check, and its sections, of unknown age, change nothing. A live reply without a
        charge_state keeps the last charge data; one without coordinates leaves the position
        unknown.
        """
        connection = reply_connection(data)
        if connection is not Connection.ONLINE:
            # Like a 408: vehicle_data is left alone for a while, so that an online state check
            # (or a state we do not know) cannot buy one cached answer after another.
            refused = self.facts.refused_reads + 1
            self.facts = replace(
                self.facts,
                refused_reads=refused,
                data_not_before=now + refused_read_gap(refused, self.settings),
            )
            return self._with_connection(state, connection, now)
        charge = ChargeData.from_reply(data.get("charge_state"))
        position = position_of(data.get("drive_state"))
        at_pv = self.at_pv_location(position)
        new_state = state.with_charge(charge, now).with_position(position, at_pv)
        facts = self.facts
        # Due moments up to now are settled by this read: kept, they would ask for another at once.
        confirm_at = facts.confirm_at if facts.confirm_at and facts.confirm_at > now else None
        if charge is not None:
            self._projection = LevelProjection.from_charge(charge, now)
            charging = charge.charging
            target_at = self._target_time(charge, now)
        else:
            charging = facts.charging
            target_at = facts.target_at if facts.target_at and facts.target_at > now else None
        if self._raised_protocol_issue:
            self._raised_protocol_issue = False
            async_delete_command_protocol_issue(self.hass, self.config_entry)
        self.facts = replace(
            facts,
            connection=Connection.ONLINE,
            charging=charging,
            data_time=now,
            activity_time=now,
            confirm_at=confirm_at,
            target_at=target_at,
            failures=0,
            refused_reads=0,
            data_not_before=None,
        )
        self._persist(new_state)
        return new_state

    def _target_time(self, charge: ChargeData, now: float) -> float | None:
        """When the battery should reach the soft target, or else the car's limit (to see it stop).

        A read then stops charging at the soft target, or sees the car Complete so that the
        charging reads end (and, in PV mode, no command goes to a full car).
        """
        targets = [charge.charge_limit_soc, self.soft_target]
        level = min((target for target in targets if target is not None), default=None)
        if level is None or self._projection is None:
            return None
        at = self._projection.time_of(level)
        if at is None:
            return None
        if level == charge.charge_limit_soc and level != self.soft_target:
            at += LIMIT_READ_DELAY  # the car reports Complete a little after the level
        return at if at > now else None

    def _finish(self, state: WallboxState, now: float, failed: bool = False) -> WallboxState:
        if not failed:
            self.facts = replace(self.facts, failures=0)
        self._schedule(now)
        self._check_stale(state, now)
        return state

    @callback
    def _schedule(self, now: float) -> None:
        """Plan the next poll and set a timer for it."""
        if self._shutdown:
            return
        self.plan = plan_next(now, self.facts, self.settings, jitter=random.random())
        if self._unsub_poll:
            self._unsub_poll()
        self._unsub_poll = async_track_point_in_utc_time(
            self.hass, self._on_poll_due, dt_util.utc_from_timestamp(self.plan.at)
        )
        LOGGER.debug(
            "%s: next poll %s in %.0f s (%s)",
            self.name,
            self.plan.kind,
            self.plan.at - now,
            self.plan.reason,
        )

    @callback
    def _on_poll_due(self, _when: datetime) -> None:
        self._unsub_poll = None
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{self.name} poll"
        )

    @callback
    def _check_stale(self, state: WallboxState, now: float) -> None:
        """Log the moment data goes stale and when it recovers; wake entities at that moment."""
        stale = is_stale(now, state.checked_time, self.stale_after)
        if stale and not self._was_stale and state.checked_time is not None:
            LOGGER.warning(
                "No contact with %s for over %.0f s: its entities are unavailable until it answers",
                self.name,
                self.stale_after,
            )
        elif self._was_stale and not stale:
            LOGGER.info("Contact with %s is back", self.name)
        self._was_stale = stale
        if self._unsub_stale:
            self._unsub_stale()
            self._unsub_stale = None
        if not stale and state.checked_time is not None:
            self._unsub_stale = async_track_point_in_utc_time(
                self.hass,
                self._on_stale_due,
                dt_util.utc_from_timestamp(state.checked_time + self.stale_after + 0.001),
            )

    @callback
    def _on_stale_due(self, _when: datetime) -> None:
        self._unsub_stale = None
        self._check_stale(self.data, self.now())
        self.async_update_listeners()

    async def async_user_refresh(self) -> None:
        """A refresh the user asked for: a state check, and a data read if the car is online."""
        self.check_not_rate_limited()
        self._user_refresh = True
        await self.async_refresh()

    # ----- what the charge controller tells us ----------------------------------------------

    @callback
    def note_online(self) -> None:
        """The controller woke the car and saw it online."""
        now = self.now()
        self.facts = replace(self.facts, connection=Connection.ONLINE, activity_time=now)
        self.async_set_updated_data(
            replace(self.data, connection=Connection.ONLINE, checked_time=now)
        )

    @callback
    def note_command(
        self,
        update: Callable[[ChargeData], ChargeData] | None,
        charge_requested: bool | None,
        *,
        confirm: bool = True,
    ) -> None:
        """A command succeeded: show its effect at once, and (confirm) check it with a read soon."""
        now = self.now()
        state = self.data
        target_at = self.facts.target_at
        if update is not None and state.charge is not None:
            charge = update(state.charge)
            target_at = self._reproject(state.charge, charge, now)
            state = replace(
                state, charge=charge, session_charged=state.session_charged or charge.charging
            )
        if charge_requested is not None:
            state = replace(state, charge_requested=charge_requested)
        charging = state.charge.charging if state.charge else self.facts.charging
        self.facts = replace(
            self.facts,
            connection=Connection.ONLINE,
            activity_time=now,
            charging=charging,
            confirm_at=now + self.settings.confirm_delay if confirm else self.facts.confirm_at,
            target_at=target_at,
        )
        state = replace(state, connection=Connection.ONLINE, checked_time=now)
        self.async_set_updated_data(state)
        self._schedule(now)

    def _reproject(self, before: ChargeData, after: ChargeData, now: float) -> float | None:
        """A command changed the charge: move the projected moment of the target with it."""
        if not after.charging:
            self._projection = None
            return None
        if self._projection is None:
            return self.facts.target_at
        if after.charge_current_request != before.charge_current_request:
            amps = after.charge_current_request or 0
            pilot = after.charger_pilot_current
            self._projection = self._projection.with_amps(now, min(amps, pilot) if pilot else amps)
        return self._target_time(after, now)

    @callback
    def set_pv_regulated(self, regulated: bool) -> None:
        """The PV controller took over the current (or let go): reads follow its interval."""
        if regulated == self.facts.pv_regulated:
            return
        self.facts = replace(self.facts, pv_regulated=regulated)
        if self.plan is not None:
            self._schedule(self.now())

    def check_not_rate_limited(self) -> None:
        """Refuse to send anything before a 429's Retry-After has passed."""
        not_before = self.facts.not_before
        now = self.now()
        if not_before is not None and not_before > now:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                translation_placeholders={"seconds": str(round(not_before - now))},
            )

    @callback
    def note_command_error(self, err: TeslaWallboxError) -> None:
        """A command failed: a 429 holds back every request until its Retry-After."""
        if isinstance(err, RateLimitedError):
            self._hold_back(err.retry_after)
            self._schedule(self.now())

    @callback
    def set_soft_target(self, soft_target: int | None) -> None:
        """The soft target changed: plan a read for the moment it is reached."""
        self.soft_target = soft_target
        now = self.now()
        target_at = None
        if self.data.charge is not None:
            target_at = self._target_time(self.data.charge, now)
        self.facts = replace(self.facts, target_at=target_at)
        if self.plan is not None:
            self._schedule(now)

    @callback
    def _on_pv_zone_changed(self, _event: Event[EventStateChangedData]) -> None:
        """The PV zone moved or changed its radius: is the car still inside?"""
        state = self.data
        inside = self.at_pv_location(state.position)
        if inside != state.at_pv_location:
            self.async_set_updated_data(state.with_position(state.position, inside))

    async def async_shutdown(self) -> None:
        """Cancel the timers."""
        self._shutdown = True
        for unsub in (self._unsub_poll, self._unsub_stale, self._unsub_zone):
            if unsub:
                unsub()
        self._unsub_poll = self._unsub_stale = self._unsub_zone = None
        await super().async_shutdown()
