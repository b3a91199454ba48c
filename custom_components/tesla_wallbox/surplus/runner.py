"""The Home Assistant side of PV surplus charging: sensors in, ChargeController commands out.

It reads the grid (and home battery) sensors on every change and at least every STEP_INTERVAL,
asks the pure SurplusController what to do, sends that through the car's ChargeController
(source "pv"), and reports the outcome back. The charge mode survives restarts.

The one module of the surplus package that imports Home Assistant; the rest stays pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval

from ..commands import Action, Command, Source
from ..const import (
    CONF_ASSUMED_PHASES,
    CONF_ASSUMED_VOLTAGE,
    CONF_BATTERY_POWER_SENSOR,
    CONF_BATTERY_PRIORITY_SOC,
    CONF_BATTERY_SOC_SENSOR,
    CONF_DISABLE_DELAY,
    CONF_ENABLE_DELAY,
    CONF_GRID_SENSOR,
    CONF_INVERT_BATTERY,
    CONF_INVERT_GRID,
    CONF_MAX_AMPS,
    CONF_MIN_AMPS,
    CONF_MIN_AMPS_STEP,
    CONF_MIN_COMMAND_INTERVAL,
    CONF_SURPLUS_BUFFER,
    DOMAIN,
    LOGGER,
)
from ..control import ChargeController
from ..coordinator import WallboxCoordinator
from ..storage import CarStore
from .controller import SurplusController
from .types import CarSnapshot, ChargeMode, Decision, GridReading, PvState, SurplusSettings

STEP_INTERVAL = timedelta(seconds=30)
# The modes in which the controller follows the surplus, so that it knows the car's current.
REGULATED_MODES = frozenset({ChargeMode.PV, ChargeMode.MIN_PV})
STORE_KEY = "charge_mode"


def surplus_settings(options: dict[str, Any]) -> SurplusSettings:
    """The controller's settings from the entry's options (defaults where not set)."""
    defaults = SurplusSettings()
    max_amps = options.get(CONF_MAX_AMPS)
    priority = options.get(CONF_BATTERY_PRIORITY_SOC)
    return SurplusSettings(
        buffer_w=float(options.get(CONF_SURPLUS_BUFFER, defaults.buffer_w)),
        min_amps=int(options.get(CONF_MIN_AMPS, defaults.min_amps)),
        max_amps=int(max_amps) if max_amps else None,
        enable_delay=float(options.get(CONF_ENABLE_DELAY, defaults.enable_delay)),
        disable_delay=float(options.get(CONF_DISABLE_DELAY, defaults.disable_delay)),
        min_command_interval=float(
            options.get(CONF_MIN_COMMAND_INTERVAL, defaults.min_command_interval)
        ),
        min_amps_step=int(options.get(CONF_MIN_AMPS_STEP, defaults.min_amps_step)),
        assumed_phases=int(options.get(CONF_ASSUMED_PHASES, defaults.assumed_phases)),
        assumed_voltage=float(options.get(CONF_ASSUMED_VOLTAGE, defaults.assumed_voltage)),
        invert_grid_sign=bool(options.get(CONF_INVERT_GRID, False)),
        invert_battery_sign=bool(options.get(CONF_INVERT_BATTERY, False)),
        battery_priority_soc=float(priority) if priority not in (None, "") else None,
    )


@dataclass(frozen=True, slots=True)
class SensorIds:
    """The entities the runner reads."""

    grid: str | None
    battery_power: str | None
    battery_soc: str | None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SensorIds:
        """The entity ids from the options; empty means not configured."""
        return cls(
            options.get(CONF_GRID_SENSOR) or None,
            options.get(CONF_BATTERY_POWER_SENSOR) or None,
            options.get(CONF_BATTERY_SOC_SENSOR) or None,
        )

    def all(self) -> list[str]:
        """The configured ones."""
        return [entity for entity in (self.grid, self.battery_power, self.battery_soc) if entity]


class SurplusRunner:
    """Drives one car's charging from the PV surplus, in the chosen charge mode."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: WallboxCoordinator,
        controller: ChargeController,
        store: CarStore,
    ) -> None:
        self.hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self._charge = controller
        self._store = store
        self.sensors = SensorIds.from_options(dict(entry.options))
        self.surplus = SurplusController(surplus_settings(dict(entry.options)))
        stored = store.get(coordinator.vin, STORE_KEY)
        self.mode = ChargeMode(stored) if stored in set(ChargeMode) else ChargeMode.MANUAL
        self.decision: Decision | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._sending = False
        self._queued: tuple[float, Decision] | None = None
        self._generation = 0  # a mode change starts a new one: older outcomes are not reported
        # In plan mode: whether the departure plan lets the grid charge at a time (plan/runner.py).
        self.grid_allowed: Callable[[float], bool] | None = None

    # ----- life cycle -------------------------------------------------------------------------

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow the sensors, the clock and the car; returns the function that stops it all."""
        if self.sensors.all():
            self._unsubs.append(
                async_track_state_change_event(self.hass, self.sensors.all(), self._on_sensor)
            )
        self._unsubs.append(async_track_time_interval(self.hass, self._on_tick, STEP_INTERVAL))
        self._unsubs.append(self._coordinator.async_add_listener(self._on_car))
        self._last_car_data: float | None = self._coordinator.data.data_time
        self.async_step()
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Stop following."""
        while self._unsubs:
            self._unsubs.pop()()
        self._coordinator.set_pv_regulated(False)

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> Callable[[], None]:
        """Call listener after every step (the PV entities)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def _on_sensor(self, _event: Event[EventStateChangedData]) -> None:
        self.async_step()

    @callback
    def _on_tick(self, _now: datetime) -> None:
        self.async_step()

    @callback
    def _on_car(self) -> None:
        # Only new car data is news; the coordinator also notifies on command records.
        data_time = self._coordinator.data.data_time
        if data_time != self._last_car_data:
            self._last_car_data = data_time
            self.async_step()

    # ----- the mode --------------------------------------------------------------------------

    async def async_set_mode(self, mode: ChargeMode) -> None:
        """Switch the charge mode (kept across restarts) and act on it at once."""
        self.mode = mode
        self.surplus.reset()
        self._generation += 1
        self._queued = None
        await self._store.async_set_now(self._coordinator.vin, STORE_KEY, mode.value)
        self.async_step()

    # ----- one step -----------------------------------------------------------------------------

    def _reading(self, now: float) -> GridReading | None:
        """The sensors now, or None while the grid sensor has no number."""
        if self.sensors.grid is None:
            return None
        grid = self._number(self.sensors.grid)
        if grid is None:
            return None
        return self.surplus.settings.reading(
            now,
            grid,
            self._number(self.sensors.battery_power) if self.sensors.battery_power else None,
            self._number(self.sensors.battery_soc) if self.sensors.battery_soc else None,
        )

    def _number(self, entity_id: str) -> float | None:
        state = self.hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        # Power sensors in kW are common; the controller works in W.
        if state.attributes.get("unit_of_measurement") == "kW":
            value *= 1000
        return value

    def _snapshot(self) -> CarSnapshot:
        state = self._coordinator.data
        charge = state.charge
        if charge is None:
            return CarSnapshot(
                plugged_in=False, at_pv_location=state.at_pv_location is True, charging=False
            )
        return CarSnapshot(
            plugged_in=charge.plugged_in,
            at_pv_location=state.at_pv_location is True,
            charging=charge.charging,
            battery_level=charge.battery_level,
            charge_limit_soc=charge.charge_limit_soc,
            soft_target=self._charge.soft_target,
            max_amps=charge.charge_current_request_max,
            commanded_amps=charge.charge_current_request,
            phases=charge.phases or None,
            voltage=float(charge.charger_voltage or 0) if charge.phases else None,
            data_time=state.data_time or 0.0,
        )

    @callback
    def async_step(self) -> None:
        """Ask the controller, send what it decides, tell the entities."""
        now = self._coordinator.now()
        grid = self.mode is ChargeMode.PLAN and self.grid_allowed is not None
        decision = self.surplus.step(
            now,
            self.mode,
            self._snapshot(),
            self._reading(now),
            grid_allowed=grid and self.grid_allowed is not None and self.grid_allowed(now),
        )
        self.decision = decision
        self._coordinator.set_pv_regulated(
            self.mode in REGULATED_MODES and decision.state is PvState.CHARGING
        )
        if decision.action is not Action.NONE:
            if self._sending:
                # Only after a mode change while a command was on its way: send it next.
                self._queued = (now, decision)
            else:
                self._dispatch(now, decision)
        for listener in list(self._listeners):
            listener()

    @callback
    def _dispatch(self, now: float, decision: Decision) -> None:
        self._sending = True
        self._entry.async_create_background_task(
            self.hass, self._send(now, decision, self._generation), f"{DOMAIN} pv command"
        )

    async def _send(self, now: float, decision: Decision, generation: int) -> None:
        commands: list[Command] = []
        if decision.action in (Action.SET_AMPS, Action.START) and decision.amps is not None:
            commands.append(Command(Action.SET_AMPS, decision.amps))
        if decision.action in (Action.START, Action.STOP):
            commands.append(Command(decision.action))
        ok = True
        try:
            await self._charge.async_execute(commands, Source.PV)
        except HomeAssistantError as err:
            ok = False
            LOGGER.warning("PV charging: %s failed: %s", decision.action, err)
        finally:
            self._sending = False
        if generation == self._generation:
            self.surplus.record_command(self._coordinator.now(), decision.action, decision.amps, ok)
        if self._queued is not None:
            queued_at, queued = self._queued
            self._queued = None
            self._dispatch(queued_at, queued)
            return
        self.async_step()

    @property
    def state(self) -> PvState:
        """What the runner is doing."""
        return self.decision.state if self.decision else PvState.IDLE
