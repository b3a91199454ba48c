"""Charge control for one car: start, stop, amps and target SoC, with wake-up and a soft SoC target.

Every write in the integration comes through a ChargeController: entities, services, the HTTP APIs
and the PV surplus runner. It validates before anything is sent, holds one lock per car so that any
number of waiting commands share one wake-up, and records the last command and its outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .client import (
    AuthError,
    CommandOutcome,
    CommandProtocolError,
    KeyNotPairedError,
    TeslaWallboxError,
    VehicleClient,
    VehicleUnavailableError,
)
from .const import (
    AMPS_DOUBLE_SEND_BELOW,
    CAR_LIMIT_MAX,
    CAR_LIMIT_MIN,
    CONF_ALLOW_LOW_TARGET,
    CONF_WAKE_TIMEOUT,
    DEFAULT_WAKE_TIMEOUT,
    DOMAIN,
    LOGGER,
    LOW_TARGET_MIN,
    PAIRING_URL,
)
from .coordinator import WallboxCoordinator
from .repairs import (
    async_delete_command_protocol_issue,
    async_delete_key_not_paired_issue,
    async_raise_command_protocol_issue,
    async_raise_key_not_paired_issue,
    pairing_url,
)
from .storage import LAST_COMMAND_KEY, SOFT_TARGET_KEY, CarStore
from .wallbox import CHARGING, STARTING, STOPPED, ChargeData, Connection, soft_target_reached

# Why a command was never sent (its record's reason when its state is "cancelled").
CANCELLED_BY_UNLOAD = "unloaded"  # the entry unloaded (a reload, an options change)
CANCELLED_BY_STOP = "home_assistant_stopped"
CANCELLED_BY_RESTART = "interrupted"  # still pending when Home Assistant went down
WAKE_POLL_INTERVAL = 2.0
# The most amps any Tesla takes on AC, used while the car's own maximum is not known yet.
FALLBACK_MAX_AMPS = 48

_SUCCESS_REASONS = {
    "charge_start": {"is_charging", "requested", "already_set"},
    "charge_stop": {"not_charging", "already_set", "requested"},
    "set_charging_amps": {"already_set", "requested"},
    "set_charge_limit": {"already_set", "requested"},
}


class CommandState(StrEnum):
    """Where the last command is."""

    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"  # never sent: the entry unloaded or Home Assistant stopped first


class Source(StrEnum):
    """Who asked for a command."""

    USER = "user"
    HTTP = "http"
    GOE = "goe"
    PV = "pv"
    SOFT_TARGET = "soft_target"


@dataclass(frozen=True, slots=True)
class Command:
    """One validated command: start, stop, amps or target."""

    name: str  # start | stop | amps | target
    value: int | float | None = None


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """The last command and its outcome, as the status shows it."""

    name: str
    value: int | float | None
    state: CommandState
    reason: str
    time: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "name": self.name,
            "value": self.value,
            "state": self.state.value,
            "reason": self.reason,
            "time": self.time,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, stored: Any) -> CommandRecord | None:
        """A record as as_dict() stored it; None for anything else."""
        if not isinstance(stored, dict):
            return None
        try:
            value = stored["value"]
            record = cls(
                name=str(stored["name"]),
                value=value if isinstance(value, (int, float)) else None,
                state=CommandState(stored["state"]),
                reason=str(stored["reason"]),
                time=float(stored["time"]),
                source=str(stored["source"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if record.state is CommandState.PENDING:
            # Stored while it waited, and Home Assistant went down before it could say more.
            return replace(record, state=CommandState.CANCELLED, reason=CANCELLED_BY_RESTART)
        return record


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
        self._client = client
        self._store = store
        self.vin = client.vin
        self._lock = asyncio.Lock()
        self.wake_timeout = float(entry.options.get(CONF_WAKE_TIMEOUT, DEFAULT_WAKE_TIMEOUT))
        self.allow_low_target = bool(entry.options.get(CONF_ALLOW_LOW_TARGET, False))
        # The last command survives a reload or restart, with its outcome.
        self.last_command = CommandRecord.from_dict(store.get(self.vin, LAST_COMMAND_KEY))
        self.soft_target: int | None = self._stored_soft_target()
        coordinator.soft_target = self.soft_target
        self._soft_stop_for: float | None = None  # data time a soft-target stop was sent for
        self._running: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._source: str = Source.USER  # of the command being sent
        # Failed wake-ups so far, and the last one's error: commands queued behind a failed
        # wake-up fail with it at once instead of each waking the car again.
        self._wake_failures = 0
        self._wake_error: HomeAssistantError | None = None

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
        charge = self.coordinator.data.charge
        if charge is not None and charge.charge_current_request_max:
            return charge.charge_current_request_max
        return FALLBACK_MAX_AMPS

    @property
    def min_target(self) -> int:
        """The lowest target SoC a user may set."""
        return LOW_TARGET_MIN if self.allow_low_target else CAR_LIMIT_MIN

    def validate(self, command: Command) -> Command:
        """The command if its value is allowed; ServiceValidationError otherwise."""
        if command.name in ("start", "stop"):
            return command
        value = command.value
        if command.name == "amps":
            low, high, key = 1, self.max_amps, "amps_out_of_range"
        elif command.name == "target":
            low, high, key = self.min_target, CAR_LIMIT_MAX, "target_out_of_range"
        else:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_command",
                translation_placeholders={"name": command.name},
            )
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={"value": str(value), "min": str(low), "max": str(high)},
            )
        return Command(command.name, value)

    # ----- public operations -------------------------------------------------------------------

    async def async_start(self, source: str = Source.USER) -> None:
        """Start charging."""
        await self.async_execute([Command("start")], source)

    async def async_stop(self, source: str = Source.USER) -> None:
        """Stop charging."""
        await self.async_execute([Command("stop")], source)

    async def async_wake_up(self) -> None:
        """Wake the car on the user's request, then read its data.

        A wake-up is billed ($0.02): the free state endpoint tells first whether it is needed.
        """
        if self._closed:
            raise _error("cannot_connect")
        wake_failures = self._wake_failures
        with self._cancelled_at_shutdown():
            async with self._lock:
                self.coordinator.check_not_rate_limited()
                self._check_no_failed_wake(wake_failures)
                if await self._connection() is not Connection.ONLINE:
                    await self._wake()
            await self.coordinator.async_user_refresh()

    async def async_set_amps(self, amps: float, source: str = Source.USER) -> None:
        """Set the charging current (A)."""
        await self.async_execute([Command("amps", amps)], source)

    async def async_set_target(self, percent: float, source: str = Source.USER) -> None:
        """Set the target SoC: the car's limit for 50-100, a soft target below."""
        await self.async_execute([Command("target", percent)], source)

    async def async_execute(self, commands: list[Command], source: str = Source.USER) -> None:
        """Validate all commands, then send them in order under the car's lock (one wake)."""
        checked = [self.validate(command) for command in commands]
        if not checked:
            return
        self.check_allowed(checked)
        if self._closed:
            raise _error("cannot_connect")
        first = checked[0]
        self._record(first, CommandState.PENDING, "", source)
        wake_failures = self._wake_failures
        with self._cancelled_at_shutdown():
            async with self._lock:
                for command in checked:
                    self._source = source
                    self._record(command, CommandState.PENDING, "", source)
                    try:
                        self._check_no_failed_wake(wake_failures)
                        reason = await self._send(command)
                    except HomeAssistantError as err:
                        self._record(command, CommandState.FAILED, _reason_of(err), source)
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

    def check_allowed(self, commands: list[Command]) -> None:
        """Refuse a start when the soft target is already reached (or will be by this batch)."""
        target = self.soft_target
        for command in commands:
            if command.name == "target" and command.value is not None:
                target = int(command.value) if command.value < CAR_LIMIT_MIN else None
            if command.name == "start" and soft_target_reached(
                self.coordinator.data.charge, target
            ):
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="soft_target_reached",
                    translation_placeholders={"target": str(target)},
                )

    # ----- sending -----------------------------------------------------------------------------

    async def _send(self, command: Command) -> str:
        """Send one command (waking the car first if needed); the reason the car gave."""
        self.coordinator.check_not_rate_limited()
        if self.coordinator.data.connection is not Connection.ONLINE:
            await self._wake()
        try:
            return await self._dispatch(command)
        except VehicleUnavailableError:
            # It fell asleep since we last looked: wake it once and try again, once.
            await self._wake()
        try:
            return await self._dispatch(command)
        except VehicleUnavailableError as err:
            # Still out of reach after a wake-up: the commands queued behind this one share it.
            raise self._wake_failed(_error("vehicle_unavailable")) from err

    async def _dispatch(self, command: Command) -> str:
        if command.name == "start":
            outcome = await self._call("charge_start", self._client.charge_start())
            self._after(outcome, _set(charging_state=STARTING), charge_requested=True)
        elif command.name == "stop":
            outcome = await self._call("charge_stop", self._client.charge_stop())
            stopped = _set(charging_state=STOPPED, charger_actual_current=0, charger_power=0.0)
            self._after(outcome, stopped, charge_requested=False)
        elif command.name == "amps":
            amps = int(command.value or 0)
            outcome = await self._call("set_charging_amps", self._client.set_charging_amps(amps))
            if amps < AMPS_DOUBLE_SEND_BELOW:
                # Below 5 A the car takes the value only when it comes twice.
                outcome = await self._call(
                    "set_charging_amps", self._client.set_charging_amps(amps)
                )
            self._after(outcome, _set(charge_current_request=amps), charge_requested=None)
        else:
            outcome = await self._send_target(int(command.value or 0))
        return outcome.reason

    async def _send_target(self, percent: int) -> CommandOutcome:
        soft = percent if percent < CAR_LIMIT_MIN else None
        limit = CAR_LIMIT_MIN if soft is not None else percent
        charge = self.coordinator.data.charge
        if soft is not None and charge is not None and charge.charge_limit_soc == limit:
            # The car's safety net is already in place: no need to pay for the command.
            outcome = CommandOutcome(True, "")
        else:
            outcome = await self._call("set_charge_limit", self._client.set_charge_limit(limit))
        await self._set_soft_target(soft)
        self._after(outcome, _set(charge_limit_soc=limit), charge_requested=None)
        if charge is not None and charge.charging and soft_target_reached(charge, soft):
            stop = await self._call("charge_stop", self._client.charge_stop())
            self._after(stop, _set(charging_state=STOPPED, charger_actual_current=0), False)
        return outcome

    async def _call(self, name: str, request: Any) -> CommandOutcome:
        """Await one command request; translate failures into HA errors."""
        try:
            outcome: CommandOutcome = await request
        except VehicleUnavailableError:
            raise
        except TeslaWallboxError as err:
            raise self._failure(err) from err
        # The car took a command from us: whatever refused our key before is solved.
        async_delete_command_protocol_issue(self.hass, self._entry)
        async_delete_key_not_paired_issue(self.hass, self._entry)
        if not outcome.result and outcome.reason not in _SUCCESS_REASONS[name]:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_refused",
                translation_placeholders={"command": name, "reason": outcome.reason or "unknown"},
            )
        return outcome

    async def _wake(self) -> None:
        """Wake the car once and wait until it is online, or give up after wake_timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wake_timeout
        try:
            connection = await self._client.wake()
            while connection is not Connection.ONLINE:
                if loop.time() + WAKE_POLL_INTERVAL > deadline:
                    timeout = str(round(self.wake_timeout))
                    raise self._wake_failed(_error("wake_timeout", timeout=timeout))
                await asyncio.sleep(WAKE_POLL_INTERVAL)
                connection = await self._client.state()
        except TeslaWallboxError as err:
            raise self._wake_failed(self._failure(err)) from err
        self.coordinator.note_online()

    async def _connection(self) -> Connection | None:
        """The car's connectivity, from the state endpoint (free, and it never wakes the car)."""
        try:
            return await self._client.state()
        except VehicleUnavailableError:
            return None  # not expected from this endpoint; a wake-up finds out
        except TeslaWallboxError as err:
            raise self._failure(err) from err

    def _failure(self, err: TeslaWallboxError) -> HomeAssistantError:
        """The HA error for a failed request, after what the failure asks of us."""
        if isinstance(err, AuthError):
            self._entry.async_start_reauth(self.hass)
        elif isinstance(err, CommandProtocolError):
            async_raise_command_protocol_issue(self.hass, self._entry)
        elif isinstance(err, KeyNotPairedError):
            async_raise_key_not_paired_issue(self.hass, self._entry)
            url = pairing_url(self._entry) or PAIRING_URL.format(domain="<your app's domain>")
            return _error(err.key, url=url)
        else:
            self.coordinator.note_command_error(err)
        return _error(err.key)

    def _wake_failed(self, error: HomeAssistantError) -> HomeAssistantError:
        """Remember a failed wake-up, so that the commands waiting behind it fail with it."""
        self._wake_failures += 1
        self._wake_error = error
        return error

    def _check_no_failed_wake(self, failures_before: int) -> None:
        """Fail at once if a wake-up failed while this command waited for the lock."""
        error = self._wake_error
        if self._wake_failures != failures_before and error is not None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=error.translation_key,
                translation_placeholders=error.translation_placeholders,
            )

    @callback
    def _after(
        self,
        outcome: CommandOutcome,
        update: Callable[[ChargeData], ChargeData],
        charge_requested: bool | None,
    ) -> None:
        """Show a successful command's effect at once; the coordinator confirms it soon.

        Not for the PV runner's and the soft target's own commands: the grid meter shows whether
        the car followed, and a confirming read after every current change would cost more than
        the regulation saves.
        """
        LOGGER.debug("%s: command ok (%s)", self.vin[-4:], outcome.reason or "done")
        confirm = self._source not in (Source.PV, Source.SOFT_TARGET)
        self.coordinator.note_command(update, charge_requested, confirm=confirm)

    # ----- soft target ---------------------------------------------------------------------------

    async def _set_soft_target(self, soft: int | None) -> None:
        self.soft_target = soft
        self.coordinator.set_soft_target(soft)
        await self._store.async_set_now(self.vin, SOFT_TARGET_KEY, soft)

    @callback
    def async_check_soft_target(self) -> None:
        """After each data read: stop charging once the battery reaches the soft target."""
        state = self.coordinator.data
        charge = state.charge
        if charge is None or charge.charging_state not in (STARTING, CHARGING):
            return
        if charge.fast_charging:
            return  # the soft target is this wallbox's: a Supercharger session is the driver's
        if not soft_target_reached(charge, self.soft_target) or self._lock.locked():
            return
        if self._soft_stop_for == state.data_time:
            return  # one attempt per read: a failure is not retried in a loop
        self._soft_stop_for = state.data_time
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
        self._keep(
            CommandRecord(
                name=command.name,
                value=command.value,
                state=state,
                reason=reason,
                time=self.coordinator.now(),
                source=str(source),
            )
        )

    @callback
    def _keep(self, record: CommandRecord) -> None:
        self.last_command = record
        self._store.set(self.vin, LAST_COMMAND_KEY, record.as_dict())
        self.coordinator.async_update_listeners()


def _set(**changes: Any) -> Callable[[ChargeData], ChargeData]:
    """An optimistic update of the charge data."""
    return lambda charge: replace(charge, **changes)


def _error(key: str, **placeholders: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _reason_of(err: HomeAssistantError) -> str:
    """The short reason for the status JSON: the car's reason, or our error's key."""
    placeholders = err.translation_placeholders or {}
    return placeholders.get("reason") or err.translation_key or "error"
