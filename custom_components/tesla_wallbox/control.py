"""Charge control for one car: start, stop, amps and target SoC, with wake-up and a soft SoC target.

Every write in the integration comes through a ChargeController: entities, services, the HTTP APIs
and the PV surplus runner. It validates before anything is sent (commands.py), holds one lock per
car so that any number of waiting commands share one wake-up (car_access.py wakes the car, sends
the requests and translates their errors), runs one wake-up at a time on request, whoever asks,
and records the last command and its outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .car_access import CarAccess, ha_error, reason_of, refused
from .client import CommandOutcome, VehicleClient
from .commands import (
    CANCELLED_BY_UNLOAD,
    Action,
    Command,
    CommandRecord,
    CommandState,
    InvalidCommandError,
    Source,
    blocked_start,
    charge_update,
    command_effect,
    max_amps,
    min_target,
    soft_stop_due,
    split_target,
    validate,
)
from .const import CONF_ALLOW_LOW_TARGET, CONF_WAKE_TIMEOUT, DEFAULT_WAKE_TIMEOUT, DOMAIN, LOGGER
from .coordinator import WallboxCoordinator
from .fact_updates import CommandEffect
from .storage import LAST_COMMAND_KEY, SOFT_TARGET_KEY, CarStore
from .vehicle_data import STOPPED
from .wallbox import soft_target_reached

# The least time between two attempts to stop at the soft target.
SOFT_STOP_RETRY_S = 300.0


class ChargeController:
    """The one way to change charging on a car."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: WallboxCoordinator,
        client: VehicleClient,
        store: CarStore,
    ) -> None:
        self.hass = hass
        self._entry = entry
        self.coordinator = coordinator
        self._store = store
        self.vin = client.vin
        self._lock = asyncio.Lock()
        wake_timeout = float(entry.options.get(CONF_WAKE_TIMEOUT, DEFAULT_WAKE_TIMEOUT))
        self._car = CarAccess(hass, entry, coordinator, client, wake_timeout)
        self.allow_low_target = bool(entry.options.get(CONF_ALLOW_LOW_TARGET, False))
        # The last command survives a reload or restart, with its outcome.
        self.last_command = CommandRecord.from_dict(store.get(self.vin, LAST_COMMAND_KEY))
        self.soft_target: int | None = self._stored_soft_target()
        coordinator.set_soft_target(self.soft_target)
        self._soft_stop_for: float | None = None  # data time a soft-target stop was sent for
        self._soft_stop_at: float | None = None  # when it was sent
        self._running: set[asyncio.Task[Any]] = set()
        self._wake_up: asyncio.Task[None] | None = None  # one at a time, whoever asks
        self._closed = False
        self._source: str = Source.USER  # of the command being sent

    def _stored_soft_target(self) -> int | None:
        """The soft target from before a restart, unless targets below 50 % are switched off."""
        soft = self._store.get(self.vin, SOFT_TARGET_KEY)
        if not isinstance(soft, int) or isinstance(soft, bool):
            return None
        if not self.allow_low_target:
            # Our stop goes with the option; the car's own limit (50 %) stays as it is.
            LOGGER.info("Targets below 50 %% are off: the soft target of %s %% is cleared", soft)
            self._store.set(self.vin, SOFT_TARGET_KEY, None)
            return None
        return soft

    # ----- validation (nothing is sent for invalid input) ------------------------------------

    @property
    def max_amps(self) -> int:
        """The car's maximum current request, as last reported."""
        return max_amps(self.coordinator.data.charge)

    @property
    def min_target(self) -> int:
        """The lowest target SoC a user may set."""
        return min_target(self.allow_low_target)

    def validate(self, command: Command) -> Command:
        """The command if its value is allowed; ServiceValidationError otherwise."""
        try:
            return validate(command, amps_max=self.max_amps, target_min=self.min_target)
        except InvalidCommandError as err:
            raise refused(err) from None

    def check_allowed(self, commands: list[Command]) -> None:
        """Refuse a start when the soft target is already reached (or will be by this batch)."""
        target = blocked_start(commands, self.soft_target, self.coordinator.data.charge)
        if target is not None:
            blocked = InvalidCommandError(translation_key="soft_target_reached", target=str(target))
            raise refused(blocked)

    # ----- public operations -------------------------------------------------------------------

    async def async_start(self, source: str = Source.USER) -> None:
        """Start charging."""
        await self.async_execute([Command(Action.START)], source)

    async def async_stop(self, source: str = Source.USER) -> None:
        """Stop charging."""
        await self.async_execute([Command(Action.STOP)], source)

    async def async_set_amps(self, amps: float, source: str = Source.USER) -> None:
        """Set the charging current (A)."""
        await self.async_execute([Command(Action.SET_AMPS, amps)], source)

    async def async_set_target(self, percent: float, source: str = Source.USER) -> None:
        """Set the target SoC: the car's limit for 50-100, a soft target below."""
        await self.async_execute([Command(Action.SET_TARGET, percent)], source)

    async def async_wake_up(self) -> None:
        """Wake the car on the user's request, then read its data (the wake-up under way, if any).

        A caller that goes away leaves the wake-up to the others; unload and stop cancel it.
        """
        await asyncio.shield(self.async_wake_up_task())

    @callback
    def async_wake_up_task(self) -> asyncio.Task[None]:
        """The wake-up and data read under way, or a new one: one at a time per car, whoever asks
        (the button, or evcc repeating su=1 while the car does not start)."""
        if self._wake_up is None or self._wake_up.done():
            self._wake_up = self._entry.async_create_background_task(
                self.hass, self._wake_up_and_read(), f"{DOMAIN} wake-up {self.vin[-4:]}"
            )
        return self._wake_up

    async def _wake_up_and_read(self) -> None:
        if self._closed:
            raise ha_error("cannot_connect")
        wake_failures = self._car.wake_failures
        with self._cancelled_at_shutdown():
            async with self._lock:
                await self._car.wake_if_asleep(wake_failures)
            await self.coordinator.async_user_refresh()

    async def async_execute(self, commands: list[Command], source: str = Source.USER) -> None:
        """Validate all commands, then send them in order under the car's lock (one wake)."""
        checked = [self.validate(command) for command in commands]
        if not checked:
            return
        self.check_allowed(checked)
        if self._closed:
            raise ha_error("cannot_connect")
        self._record(checked[0], CommandState.PENDING, "", source)
        wake_failures = self._car.wake_failures
        with self._cancelled_at_shutdown():
            async with self._lock:
                for command in checked:
                    self._source = source
                    self._record(command, CommandState.PENDING, "", source)
                    try:
                        self._car.check_no_failed_wake(wake_failures)
                        reason = await self._car.send(partial(self._dispatch, command))
                    except HomeAssistantError as err:
                        self._record(command, CommandState.FAILED, reason_of(err), source)
                        raise
                    self._record(command, CommandState.OK, reason, source)

    @contextmanager
    def _cancelled_at_shutdown(self) -> Iterator[None]:
        """The calling task is cancelled by async_shutdown (unload, or Home Assistant stopping)
        while it waits for the lock, a wake-up or an answer."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            yield
        finally:
            self._running.discard(task)

    @callback
    def async_shutdown(self, reason: str = CANCELLED_BY_UNLOAD) -> None:
        """At unload or when Home Assistant stops: cancel commands and wake-ups still waiting (for
        the lock, a wake-up or an answer), send nothing more, and record a waiting command as
        cancelled (before the store's last write at unload, which follows).

        Commands are not persisted, so a restart can never send a waiting command twice.
        """
        self._closed = True
        record = self.last_command
        if record is not None and record.state is CommandState.PENDING:
            self._keep(replace(record, state=CommandState.CANCELLED, reason=reason))
        for task in list(self._running):
            task.cancel()

    # ----- sending -----------------------------------------------------------------------------

    async def _dispatch(self, command: Command) -> str:
        """Send one command's request, and show its effect; the reason the car gave."""
        value = int(command.value or 0)
        if command.name == Action.SET_TARGET:
            return (await self._send_target(value)).reason
        outcome = await self._car.request(command.name, value)
        self._after(outcome, command_effect(command.name, value))
        return outcome.reason

    async def _send_target(self, percent: int) -> CommandOutcome:
        limit, soft = split_target(percent)
        charge = self.coordinator.data.charge
        if soft is not None and charge is not None and charge.charge_limit_soc == limit:
            # The car's safety net is already in place: no need to pay for the command.
            outcome = CommandOutcome(True, "")
        else:
            outcome = await self._car.request(Action.SET_TARGET, limit)
        await self._set_soft_target(soft)
        self._after(outcome, command_effect(Action.SET_TARGET, limit))
        if charge is not None and charge.charging and soft_target_reached(charge, soft):
            stop = await self._car.request(Action.STOP)
            stopped = charge_update(charging_state=STOPPED, charger_actual_current=0)
            self._after(stop, CommandEffect(stopped, charge_requested=False))
        return outcome

    @callback
    def _after(self, outcome: CommandOutcome, effect: CommandEffect) -> None:
        """Show a successful command's effect at once; the coordinator confirms it soon.

        Not for the PV runner's and the soft target's own commands: the grid meter shows whether
        the car followed, and a confirming read after every current change would cost more than
        the regulation saves.
        """
        LOGGER.debug("%s: command ok (%s)", self.vin[-4:], outcome.reason or "done")
        confirm = self._source not in (Source.PV, Source.SOFT_TARGET)
        self.coordinator.note_command(replace(effect, confirm=confirm))

    # ----- soft target ---------------------------------------------------------------------------

    async def _set_soft_target(self, soft: int | None) -> None:
        self.soft_target = soft
        self.coordinator.set_soft_target(soft)
        await self._store.async_set_now(self.vin, SOFT_TARGET_KEY, soft)

    @callback
    def async_check_soft_target(self) -> None:
        """After each data read: stop charging once the battery reaches the soft target."""
        state = self.coordinator.data
        if not soft_stop_due(state.charge, self.soft_target) or self._lock.locked():
            return
        now = self.coordinator.now()
        if self._soft_stop_for == state.data_time or (
            self._soft_stop_at is not None and now - self._soft_stop_at < SOFT_STOP_RETRY_S
        ):
            # One attempt per read, and a few minutes apart: a failure is not retried in a loop,
            # not even when a stream brings new data every few seconds.
            return
        self._soft_stop_for, self._soft_stop_at = state.data_time, now
        self._entry.async_create_background_task(
            self.hass, self._soft_stop(), f"{DOMAIN} soft target stop {self.vin[-4:]}"
        )

    async def _soft_stop(self) -> None:
        try:
            await self.async_stop(Source.SOFT_TARGET)
        except HomeAssistantError as err:
            LOGGER.warning("Could not stop charging at the soft target: %s", err)

    # ----- bookkeeping ---------------------------------------------------------------------------

    @callback
    def _record(self, command: Command, state: CommandState, reason: str, source: str) -> None:
        if self._closed:
            return  # a cancelled command's task ending after the shutdown: it stays cancelled
        self._keep(CommandRecord.of(command, state, reason, self.coordinator.now(), source))

    @callback
    def _keep(self, record: CommandRecord) -> None:
        self.last_command = record
        self._store.set(self.vin, LAST_COMMAND_KEY, record.as_dict())
        self.coordinator.async_update_listeners()
