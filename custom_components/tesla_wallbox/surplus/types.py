"""The PV surplus controller's value types: the modes, its states and reasons, what goes in (a grid
reading, a car snapshot, the settings) and what comes out (a Decision).

Pure: enums, frozen dataclasses and the English reason texts; no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
import math

from ..commands import Action

# Voltages below this are "not charging" artefacts of the car's data (it reports 0-2 V then).
MIN_PLAUSIBLE_VOLTAGE = 100.0


class ChargeMode(StrEnum):
    """What the integration does with the car's charging by itself."""

    MANUAL = "manual"  # never acts: automations, the switch and the HTTP API are in charge
    OFF = "off"  # keeps charging stopped
    PV = "pv"  # charges only from surplus
    MIN_PV = "min_pv"  # charges at least at the minimum current, more with surplus
    FAST = "fast"  # charges at the maximum current
    PLAN = "plan"  # the departure plan's slots from the grid, PV surplus in between


AUTOMATIC_MODES = frozenset(
    {ChargeMode.OFF, ChargeMode.PV, ChargeMode.MIN_PV, ChargeMode.FAST, ChargeMode.PLAN}
)


class PvState(StrEnum):
    """What the surplus controller is doing, for the `pv_state` sensor.

    idle: manual mode, the controller does not act. off: off mode, charging is kept stopped.
    unplugged / not_at_pv_location: an automatic mode waits for the car to be plugged in at home.
    complete: the battery has reached the car's limit or the soft target.
    waiting: not charging because the conditions to start are not met yet (surplus, enable delay,
    no grid reading). paused: not charging although it would start, held back by the controller
    itself (restart hold against flapping, back-off after a failed command, a command in flight).
    charging: charging under the mode's control.
    """

    IDLE = "idle"
    OFF = "off"
    UNPLUGGED = "unplugged"
    NOT_AT_PV_LOCATION = "not_at_pv_location"
    COMPLETE = "complete"
    WAITING = "waiting"
    PAUSED = "paused"
    CHARGING = "charging"


class Reason(StrEnum):
    """Why the controller is in its state; a translation key with `Decision.params`."""

    MANUAL_MODE = "manual_mode"
    MODE_OFF = "mode_off"
    UNPLUGGED = "unplugged"
    NOT_AT_PV_LOCATION = "not_at_pv_location"
    TARGET_REACHED = "target_reached"
    GRID_UNAVAILABLE = "grid_unavailable"
    SURPLUS_TOO_LOW = "surplus_too_low"
    ENABLE_DELAY = "enable_delay"
    DISABLE_DELAY = "disable_delay"
    RESTART_HOLD = "restart_hold"
    COMMAND_PENDING = "command_pending"
    COMMAND_BACKOFF = "command_backoff"
    COMMAND_INTERVAL = "command_interval"
    FOLLOWING_SURPLUS = "following_surplus"
    MIN_CURRENT = "min_current"
    MAX_CURRENT = "max_current"
    PLANNED_SLOT = "planned_slot"
    WAITING_FOR_SLOT = "waiting_for_slot"


REASON_TEXT: dict[Reason, str] = {
    Reason.MANUAL_MODE: "Manual mode: the integration does not start, stop or change charging",
    Reason.MODE_OFF: "Charge mode off: charging is kept stopped",
    Reason.UNPLUGGED: "The car is not plugged in",
    Reason.NOT_AT_PV_LOCATION: "The car is not at the PV location",
    Reason.TARGET_REACHED: "The battery has reached the target of {target} %",
    Reason.GRID_UNAVAILABLE: "No grid power reading",
    Reason.SURPLUS_TOO_LOW: "Surplus {surplus_w} W is below the {needed_w} W the minimum needs",
    Reason.ENABLE_DELAY: "Enough surplus: starting in {remaining_s} s if it lasts",
    Reason.DISABLE_DELAY: "Surplus too low: stopping in {remaining_s} s unless it returns",
    Reason.RESTART_HOLD: "Stopped recently: the next start is allowed in {remaining_s} s",
    Reason.COMMAND_PENDING: "Waiting for the car to answer a command",
    Reason.COMMAND_BACKOFF: "A command failed: retrying in {remaining_s} s",
    Reason.COMMAND_INTERVAL: "Next change to {amps} A allowed in {remaining_s} s",
    Reason.FOLLOWING_SURPLUS: "Charging from surplus at {amps} A",
    Reason.MIN_CURRENT: "Charging at the minimum current of {amps} A",
    Reason.MAX_CURRENT: "Charging at the maximum current of {amps} A",
    Reason.PLANNED_SLOT: "Charging in a slot of the departure plan at {amps} A",
    Reason.WAITING_FOR_SLOT: "Waiting for the next slot of the departure plan",
}


@dataclass(frozen=True, slots=True)
class GridReading:
    """One grid meter reading, normalised (see `SurplusSettings.reading`).

    grid_w: positive import, negative export. battery_w: the home battery, positive while charging,
    None without a battery sensor. battery_soc: the home battery's SoC in %, None when unknown.
    """

    time: float
    grid_w: float
    battery_w: float | None = None
    battery_soc: float | None = None


@dataclass(frozen=True, slots=True)
class CarSnapshot:
    """What the controller needs to know about the car, from the coordinator's last data.

    charging: Tesla's Starting or Charging. commanded_amps: charge_current_request.
    max_amps: charge_current_request_max. phases / voltage: as measured while charging, None when
    unknown. data_time: when the car data was read (our own later commands override it).
    """

    plugged_in: bool
    at_pv_location: bool
    charging: bool
    battery_level: int | None = None
    charge_limit_soc: int | None = None
    soft_target: int | None = None
    max_amps: int | None = None
    commanded_amps: int | None = None
    phases: int | None = None
    voltage: float | None = None
    data_time: float = 0.0

    @property
    def target(self) -> int | None:
        """The level charging ends at: the lower of the car's limit and the soft target."""
        targets = [t for t in (self.charge_limit_soc, self.soft_target) if t is not None]
        return min(targets) if targets else None

    @property
    def target_reached(self) -> bool:
        """Whether the battery is at or above the target (never without a known level)."""
        target = self.target
        return (
            self.battery_level is not None and target is not None and self.battery_level >= target
        )


@dataclass(frozen=True, slots=True)
class SurplusSettings:
    """The controller's settings (options flow), with defaults chosen for a 1-3 phase home charger.

    buffer_w: surplus kept back for the house, and the hysteresis band of the current (see
    controller.py). 100 W keeps the clear-day import under 1 % of the energy charged while
    leaving little surplus behind; more suits noisy meters or fast-changing loads.
    max_amps: None uses the car's charge_current_request_max (a lower value caps it).
    enable_delay / disable_delay / min_command_interval / max_update_rate / car_response_delay /
    command_settle / max_backoff: seconds. command_settle: car data must be this much newer than our
    last command before it overrides what the command should have done (the car takes a moment to
    report the change). battery_priority_soc: below this home battery SoC (%) the battery keeps
    what it charges with and what it would still take; at or above it (or when None) the car may
    take that power (see SurplusMeter.available_w).
    invert_grid_sign / invert_battery_sign: for meters that report export (or battery discharge) as
    positive.
    """

    buffer_w: float = 100.0
    min_amps: int = 5
    max_amps: int | None = None
    enable_delay: float = 60.0
    disable_delay: float = 180.0
    min_command_interval: float = 120.0
    min_amps_step: int = 1
    assumed_phases: int = 3
    assumed_voltage: float = 230.0
    invert_grid_sign: bool = False
    invert_battery_sign: bool = False
    battery_priority_soc: float | None = None
    max_update_rate: float = 10.0
    car_response_delay: float = 20.0
    command_settle: float = 30.0
    max_backoff: float = 900.0

    def __post_init__(self) -> None:
        if self.min_amps < 1:
            raise ValueError("min_amps must be at least 1")
        if self.max_amps is not None and self.max_amps < self.min_amps:
            raise ValueError("max_amps must not be below min_amps")
        if self.min_amps_step < 1:
            raise ValueError("min_amps_step must be at least 1")
        if self.assumed_phases not in (1, 2, 3):
            raise ValueError("assumed_phases must be 1, 2 or 3")
        if self.assumed_voltage < MIN_PLAUSIBLE_VOLTAGE:
            raise ValueError("assumed_voltage must be at least 100 V")
        if self.battery_priority_soc is not None and not 0 <= self.battery_priority_soc <= 100:
            raise ValueError("battery_priority_soc must be between 0 and 100")
        for name in (
            "buffer_w",
            "enable_delay",
            "disable_delay",
            "min_command_interval",
            "max_update_rate",
            "car_response_delay",
            "command_settle",
            "max_backoff",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def reading(
        self,
        time: float,
        grid_w: float,
        battery_w: float | None = None,
        battery_soc: float | None = None,
    ) -> GridReading:
        """A GridReading from raw sensor values, with the configured sign inversions applied."""
        if self.invert_grid_sign:
            grid_w = -grid_w
        if battery_w is not None and self.invert_battery_sign:
            battery_w = -battery_w
        return GridReading(time, grid_w, battery_w, battery_soc)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one controller step.

    action / amps: the command to send (amps with START means set_charging_amps first).
    surplus_w: the available power after the buffer (None without a grid reading).
    target_amps: the current the surplus supports right now, clamped to [min, max].
    car_power_w: the car's estimated present draw. evaluated: False when the step only merged a
    reading into the next evaluation (sensor updates faster than max_update_rate).
    """

    state: PvState
    reason: Reason
    action: Action = Action.NONE
    amps: int | None = None
    surplus_w: float | None = None
    target_amps: int | None = None
    car_power_w: float = 0.0
    params: dict[str, int] = field(default_factory=dict)
    evaluated: bool = True

    @property
    def reason_text(self) -> str:
        """The reason in English, with its parameters filled in."""
        return REASON_TEXT[self.reason].format(**self.params)


def remaining_seconds(seconds: float) -> int:
    """Seconds as a Decision shows them: whole, rounded up, never negative."""
    return max(0, math.ceil(seconds - 1e-9))
