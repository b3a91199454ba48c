"""Solar surplus charging: a pure controller that turns grid power readings into charge commands.

This module is pure (no Home Assistant imports, an injected clock `now` in seconds):
`SurplusController.step` takes the charge mode, a snapshot of the car and the latest grid
reading and returns a `Decision`; the runner sends the command it names and reports the outcome with
`SurplusController.record_command`. The thin Home Assistant runner is surplus_runner.py, so that
this module stays importable without Home Assistant (benchmarks and tests use it as it is).

How the surplus is measured
---------------------------
available = export + the car's present charging power - buffer (+ home battery terms, see
`SurplusController.available_w`). The car's power between data reads is estimated from the amps we
last commanded (or the car last reported) x phases x voltage, so regulating needs no extra
vehicle_data reads. Readings within `car_response_delay` of one of our commands are skipped: the
car is still changing its draw, and the meter would show neither the old nor the new power.

How it decides (pv mode)
------------------------
- Start when the surplus has covered the minimum current for `enable_delay`, but never sooner than
  `disable_delay` after our last stop (no flapping). The start current is what the surplus has
  carried for the raise hold (below), else the minimum.
- Lower the current once the car has drawn from the grid (export below zero) for CUT_DELAY_S: one
  cut to the right level after a cloud's edge or a kettle, not one per meter reading.
- Raise it when the surplus has covered a higher current for `enable_delay`, or, after a cut or a
  start, for the raise hold: `disable_delay`, doubled each time a raise had to be taken back
  within PREMATURE_RAISE_S (up to MAX_RAISE_HOLD_S), halved again for every PREMATURE_RAISE_S
  without one. The hold decides whether to raise, the last `enable_delay` how far. A load that
  cycles (an oven's thermostat) or clouds that come and go thus keep the car at the lower current
  instead of being chased.
- The buffer acts twice: as a margin left for the house, and as the hysteresis band between
  raising (the surplus covers the higher current plus the buffer) and lowering (actual import).
- While the surplus is below the minimum current, drop to the minimum after CUT_DELAY_S and stop
  once that has lasted `disable_delay`. A missing grid reading counts as no surplus.
- Amp changes need `min_command_interval` since our last command and a change of at least
  `min_amps_step` (or reaching min/max). Start and stop skip that interval (the delays pace them).
  A failed command, or a start/stop the car acknowledged but newer data contradicts, backs off
  min_command_interval, doubling per consecutive failure up to `max_backoff`. While a command is
  in flight (decided, not yet reported with record_command) nothing else is decided.

The other modes: min_pv starts at once and regulates like pv but never below the minimum and never
stops; fast charges at the maximum; off stops; manual never acts. Automatic modes act only while
the car is plugged in at the PV location. At the target (the lower of the car's limit and the soft
target) they report complete and send nothing: stopping at the soft target is the
ChargeController's job, the car stops itself at its limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from enum import StrEnum
import math

from .commands import Action

# A command the runner has not reported back after this long counts as failed.
PENDING_TIMEOUT_S = 300.0
# A raise taken back within this long was premature: the next one waits twice as long, up to
# MAX_RAISE_HOLD_S.
PREMATURE_RAISE_S = 300.0
MAX_RAISE_HOLD_S = 1800.0
# The car must have drawn from the grid this long before its current is lowered: one cut after a
# cloud's edge or a kettle, not one per reading on the way down.
CUT_DELAY_S = 30.0
# Export below this is meter noise, not power the home battery left over.
_EXPORT_NOISE_W = 50.0
# The maximum current when neither the settings nor the car give one (a 16 A home charger).
_FALLBACK_MAX_AMPS = 16
# Voltages below this are "not charging" artefacts of the car's data (it reports 0-2 V then).
_MIN_PLAUSIBLE_VOLTAGE = 100.0


class ChargeMode(StrEnum):
    """What the integration does with the car's charging by itself."""

    MANUAL = "manual"  # never acts: automations, the switch and the HTTP API are in charge
    OFF = "off"  # keeps charging stopped
    PV = "pv"  # charges only from surplus
    MIN_PV = "min_pv"  # charges at least at the minimum current, more with surplus
    FAST = "fast"  # charges at the maximum current


AUTOMATIC_MODES = frozenset({ChargeMode.OFF, ChargeMode.PV, ChargeMode.MIN_PV, ChargeMode.FAST})


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

    buffer_w: surplus kept back for the house, and the hysteresis band of the current (see the
    module docstring). 100 W keeps the clear-day import under 1 % of the energy charged while
    leaving little surplus behind; more suits noisy meters or fast-changing loads.
    max_amps: None uses the car's charge_current_request_max (a lower value caps it).
    enable_delay / disable_delay / min_command_interval / max_update_rate / car_response_delay /
    command_settle / max_backoff: seconds. command_settle: car data must be this much newer than our
    last command before it overrides what the command should have done (the car takes a moment to
    report the change). battery_priority_soc: below this home battery SoC (%) the battery keeps
    what it charges with and what it would still take; at or above it (or when None) the car may
    take that power (see SurplusController.available_w).
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
        if self.assumed_voltage < _MIN_PLAUSIBLE_VOLTAGE:
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


def _ceil_s(seconds: float) -> int:
    return max(0, math.ceil(seconds - 1e-9))


class SurplusController:
    """A per-car state machine: `step` on every grid reading, `record_command` after commands."""

    def __init__(self, settings: SurplusSettings | None = None) -> None:
        self.settings = settings or SurplusSettings()
        self.reset()

    def reset(self) -> None:
        """Forget everything (timers, command history, back-off)."""
        # surplus history: (time, available W), -inf while unknown; the value holds until the next
        self._history: deque[tuple[float, float]] = deque()
        self._pending_samples: list[float] = []
        self._last_sample_time: float | None = None
        self._last_eval: float | None = None
        self._context: tuple[object, ...] | None = None
        self._last_decision: Decision | None = None
        # what our commands did
        self._last_command_time: float | None = None
        self._last_ok_command_time: float | None = None
        self._last_stop_time: float | None = None
        self._failures = 0
        self._backoff_until = -math.inf
        # (time, action, the current it changes from) of a decision not yet reported back
        self._pending: tuple[float, Action, int | None] | None = None
        # After a cut or a start, raising needs the surplus to last the raise hold: disable_delay,
        # doubled per premature raise, halved per calm PREMATURE_RAISE_S (_raise_hold_at).
        self._lowered = False
        self._raise_hold = self.settings.disable_delay
        self._last_raise_time = -math.inf
        self._last_premature_time = -math.inf
        self._expected_charging: bool | None = None
        self._expected_charging_time = -math.inf
        self._expected_amps: int | None = None
        self._expected_amps_time = -math.inf
        # the home battery's charge power when it last had export to spare (see available_w)
        self._battery_demand_w = 0.0
        # phases and voltage the car reported while charging in this plug session
        self._known_phases: int | None = None
        self._known_voltage: float | None = None

    @property
    def last_decision(self) -> Decision | None:
        """The decision of the last step."""
        return self._last_decision

    # -- the car model between data reads ----------------------------------------------------------

    def _car_is_newer(self, car: CarSnapshot, command_time: float) -> bool:
        return car.data_time >= command_time + self.settings.command_settle

    def charging(self, car: CarSnapshot) -> bool:
        """Whether the car charges: our last start/stop until newer car data says otherwise."""
        if self._expected_charging is None or self._car_is_newer(car, self._expected_charging_time):
            return car.charging
        return self._expected_charging

    def commanded_amps(self, car: CarSnapshot) -> int | None:
        """The current the car was last asked for: by us, or as newer car data reports it."""
        if self._expected_amps is None or self._car_is_newer(car, self._expected_amps_time):
            return car.commanded_amps
        return self._expected_amps

    def phases_and_voltage(self, car: CarSnapshot) -> tuple[int, float]:
        """Phases and voltage as the car reported them while charging in this plug session (they
        are remembered until it is unplugged), else the assumed ones."""
        if car.phases in (1, 2, 3):
            self._known_phases = car.phases
        if car.voltage is not None and car.voltage >= _MIN_PLAUSIBLE_VOLTAGE:
            self._known_voltage = car.voltage
        return (
            self._known_phases or self.settings.assumed_phases,
            self._known_voltage or self.settings.assumed_voltage,
        )

    def amps_range(self, car: CarSnapshot) -> tuple[int, int]:
        """(min, max) amps: the settings, capped by the car's maximum."""
        s = self.settings
        high = s.max_amps if s.max_amps is not None else (car.max_amps or _FALLBACK_MAX_AMPS)
        if car.max_amps:
            high = min(high, car.max_amps)
        low = min(s.min_amps, high)
        return low, high

    def car_power_w(self, car: CarSnapshot) -> float:
        """The car's present draw, estimated from the commanded current (no data read needed)."""
        if not self.charging(car):
            return 0.0
        phases, voltage = self.phases_and_voltage(car)
        amps = self.commanded_amps(car)
        if amps is None:
            amps = self.amps_range(car)[1]
        return amps * phases * voltage

    def available_w(self, reading: GridReading, car_power_w: float) -> float:
        """Power the car could use: export + its present draw - buffer, with the home battery.

        A discharging home battery is never available (the car must not empty it). A charging one
        counts as available when the car has priority (`car_has_priority`). Otherwise the battery
        keeps what it charges with, and what it would still take: a zero-export battery inverter
        gives way to the car silently (the meter stays at zero), so the controller remembers the
        battery's power at the last reading that showed export (then it charged as fast as it
        could) and holds the shortfall back for it.
        """
        available = -reading.grid_w + car_power_w - self.settings.buffer_w
        battery = reading.battery_w
        if battery is None:
            return available
        if battery < 0:
            return available + battery
        if self.car_has_priority(reading):
            return available + battery
        return available - max(0.0, self._battery_demand_w - battery)

    def car_has_priority(self, reading: GridReading) -> bool:
        """Whether the car comes before the home battery: its SoC at or above battery_priority_soc,
        or no priority SoC set. With the SoC unknown the battery keeps priority."""
        priority_soc = self.settings.battery_priority_soc
        if priority_soc is None:
            return True
        return reading.battery_soc is not None and reading.battery_soc >= priority_soc

    def _track_battery(self, reading: GridReading) -> None:
        """Learn the power the home battery charges with when it can take no more."""
        battery = reading.battery_w
        if battery is None:
            return
        if reading.grid_w < -_EXPORT_NOISE_W:
            self._battery_demand_w = max(0.0, battery)
        else:
            self._battery_demand_w = max(self._battery_demand_w, battery)

    # -- the surplus history -----------------------------------------------------------------------

    def _trim(self, now: float) -> None:
        keep = max(self.settings.enable_delay, self.settings.disable_delay, self._raise_hold)
        while len(self._history) >= 2 and self._history[1][0] <= now - keep:
            self._history.popleft()

    def _sustained_min(self, now: float, span: float) -> float | None:
        """The lowest surplus in force over the last `span` seconds; None if history is shorter."""
        lowest = math.inf
        for time, value in reversed(self._history):
            lowest = min(lowest, value)
            if time <= now - span:
                return lowest
        return None

    def _run_start(self, low: bool, threshold: float) -> float | None:
        """Since when the surplus has been below (low) or at/above threshold without a break."""
        since = None
        for time, value in reversed(self._history):
            if (value < threshold) != low:
                break
            since = time
        return since

    # -- commands ----------------------------------------------------------------------------------

    def record_command(self, now: float, action: Action, amps: int | None, ok: bool) -> None:
        """Tell the controller what the runner sent and whether the car accepted it."""
        if action is Action.NONE:
            raise ValueError("record_command needs a command, not Action.NONE")
        from_amps = self._pending[2] if self._pending is not None else self._expected_amps
        self._pending = None
        self._last_command_time = now
        if not ok:
            self._fail(now)
            return
        self._failures = 0
        self._backoff_until = -math.inf
        self._last_ok_command_time = now
        if amps is not None:
            if from_amps is not None and action is Action.SET_AMPS and amps != from_amps:
                self._note_change(now, lowered=amps < from_amps)
            self._expected_amps, self._expected_amps_time = amps, now
        if action is Action.START:
            # A start is a new level from the bottom: the first raise waits like one after a cut.
            self._lowered = True
            self._expected_charging, self._expected_charging_time = True, now
        elif action is Action.STOP:
            self._expected_charging, self._expected_charging_time = False, now
            self._last_stop_time = now

    def _note_change(self, now: float, *, lowered: bool) -> None:
        if not lowered:
            self._last_raise_time = now
        elif now - self._last_raise_time < PREMATURE_RAISE_S:
            self._raise_hold = min(self._raise_hold_at(now) * 2, MAX_RAISE_HOLD_S)
            self._last_premature_time = now
        self._lowered = lowered

    def _raise_hold_at(self, now: float) -> float:
        """The raise hold after a cut: halved per PREMATURE_RAISE_S without a premature raise."""
        calm = max(0.0, now - self._last_premature_time) // PREMATURE_RAISE_S
        return max(self.settings.disable_delay, self._raise_hold / 2**calm)

    def _fail(self, now: float) -> None:
        self._failures += 1
        interval = self.settings.min_command_interval
        backoff = min(
            interval * 2 ** (self._failures - 1), max(self.settings.max_backoff, interval)
        )
        self._backoff_until = now + backoff

    def _check_followed(self, car: CarSnapshot, now: float) -> None:
        """A start or stop the car acknowledged but newer data contradicts counts as failed."""
        expected = self._expected_charging
        if expected is None or not self._car_is_newer(car, self._expected_charging_time):
            return
        if car.charging != expected and car.plugged_in and not car.target_reached:
            self._fail(now)
        self._expected_charging = None

    def _blocked(self, now: float, action: Action) -> tuple[Reason, dict[str, int]] | None:
        """Why a command cannot be sent now, or None."""
        if self._pending is not None:
            return Reason.COMMAND_PENDING, {}
        if now < self._backoff_until:
            return Reason.COMMAND_BACKOFF, {"remaining_s": _ceil_s(self._backoff_until - now)}
        last = self._last_command_time
        interval = self.settings.min_command_interval
        # Start and stop skip the interval: they are rare (the delays and the restart hold pace
        # them), and a start or stop the car did not follow backs off like a failure.
        if action is Action.SET_AMPS and last is not None and now - last < interval:
            return Reason.COMMAND_INTERVAL, {"remaining_s": _ceil_s(last + interval - now)}
        return None

    # -- the step ----------------------------------------------------------------------------------

    def step(
        self, now: float, mode: ChargeMode, car: CarSnapshot, reading: GridReading | None
    ) -> Decision:
        """Decide what to do now. reading None: the grid sensor is unavailable."""
        if self._pending is not None and now - self._pending[0] >= PENDING_TIMEOUT_S:
            self._pending = None
            self._fail(now)
        if not car.plugged_in:
            self._known_phases = self._known_voltage = None
        self._check_followed(car, now)
        car_power = self.car_power_w(car)
        self._sample(now, reading, car_power)

        context = (mode, car.plugged_in, car.at_pv_location, self.charging(car), car.target_reached)
        due = (
            self._last_eval is None
            or now - self._last_eval >= self.settings.max_update_rate
            or context != self._context
            or reading is None
        )
        if not due and self._last_decision is not None:
            merged = replace(self._last_decision, action=Action.NONE, amps=None, evaluated=False)
            self._last_decision = merged
            return merged

        self._last_eval = now
        self._context = context
        surplus = self._evaluate_surplus(now, reading)
        decision = self._decide(now, mode, car, surplus, car_power)
        if decision.action is not Action.NONE:
            self._pending = (now, decision.action, self.commanded_amps(car))
        self._last_decision = decision
        return decision

    def _sample(self, now: float, reading: GridReading | None, car_power: float) -> None:
        """Collect a new reading, unless the car is still answering our last command."""
        if reading is None:
            self._pending_samples.clear()
            return
        if self._last_sample_time is not None and reading.time <= self._last_sample_time:
            return
        self._last_sample_time = reading.time
        self._track_battery(reading)
        ok_time = self._last_ok_command_time
        if ok_time is not None and reading.time < ok_time + self.settings.car_response_delay:
            return
        self._pending_samples.append(self.available_w(reading, car_power))

    def _evaluate_surplus(self, now: float, reading: GridReading | None) -> float | None:
        """The surplus now: the mean of the readings since the last evaluation, else the last."""
        if reading is None:
            value = -math.inf
        elif self._pending_samples:
            value = sum(self._pending_samples) / len(self._pending_samples)
            self._pending_samples.clear()
        elif self._history:
            value = self._history[-1][1]
        else:
            value = -math.inf  # only readings taken while the car was answering a command
        self._history.append((now, value))
        self._trim(now)
        return None if math.isinf(value) else value

    def _decide(
        self,
        now: float,
        mode: ChargeMode,
        car: CarSnapshot,
        surplus: float | None,
        car_power: float,
    ) -> Decision:
        phases, voltage = self.phases_and_voltage(car)
        low, high = self.amps_range(car)
        per_amp = phases * voltage
        base = Decision(
            PvState.IDLE,
            Reason.MANUAL_MODE,
            surplus_w=None if surplus is None else round(surplus, 1),
            target_amps=None
            if surplus is None
            else min(max(math.floor(surplus / per_amp), low), high),
            car_power_w=car_power,
        )
        ctx = _Step(now, surplus, per_amp, low, high, base)

        if mode is ChargeMode.MANUAL:
            return ctx.state(PvState.IDLE, Reason.MANUAL_MODE)
        if not car.plugged_in:
            return ctx.state(PvState.UNPLUGGED, Reason.UNPLUGGED)
        if not car.at_pv_location:
            return ctx.state(PvState.NOT_AT_PV_LOCATION, Reason.NOT_AT_PV_LOCATION)
        charging = self.charging(car)
        if mode is ChargeMode.OFF:
            if charging:
                return self._command(ctx, Action.STOP, None, PvState.OFF, Reason.MODE_OFF)
            return ctx.state(PvState.OFF, Reason.MODE_OFF)
        if car.target_reached:
            return ctx.state(PvState.COMPLETE, Reason.TARGET_REACHED, target=car.target or 0)

        current = self.commanded_amps(car)
        if mode is ChargeMode.FAST:
            return self._follow(ctx, charging, current, high, Reason.MAX_CURRENT)
        if mode is ChargeMode.MIN_PV:
            wanted = self._regulate(ctx, current) if charging else self._start_amps(ctx)
            reason = Reason.MIN_CURRENT if wanted == low else Reason.FOLLOWING_SURPLUS
            return self._follow(ctx, charging, current, wanted, reason)
        if charging:
            return self._pv_charging(ctx, current)
        return self._pv_waiting(ctx)

    def _start_amps(self, ctx: _Step) -> int:
        """Start at the current the surplus has carried as long as a raise would have to wait."""
        lasting = self._sustained_min(ctx.now, self._raise_hold_at(ctx.now))
        return ctx.low if lasting is None else ctx.amps_for(lasting)

    def _pv_waiting(self, ctx: _Step) -> Decision:
        """pv mode, not charging: start once the surplus has covered the minimum long enough."""
        now, surplus, needed = ctx.now, ctx.surplus, ctx.needed_w
        if surplus is None:
            return ctx.state(PvState.WAITING, Reason.GRID_UNAVAILABLE)
        if surplus < needed:
            return ctx.state(
                PvState.WAITING,
                Reason.SURPLUS_TOO_LOW,
                surplus_w=round(surplus),
                needed_w=round(needed),
            )
        covered = self._sustained_min(now, self.settings.enable_delay)
        if covered is None or covered < needed:
            since = self._run_start(False, needed)
            assert since is not None  # the latest value is at or above `needed`
            remaining = since + self.settings.enable_delay - now
            return ctx.state(PvState.WAITING, Reason.ENABLE_DELAY, remaining_s=_ceil_s(remaining))
        stop = self._last_stop_time
        if stop is not None and now - stop < self.settings.disable_delay:
            remaining = stop + self.settings.disable_delay - now
            return ctx.state(PvState.PAUSED, Reason.RESTART_HOLD, remaining_s=_ceil_s(remaining))
        amps = self._start_amps(ctx)
        return self._command(
            ctx, Action.START, amps, PvState.CHARGING, Reason.FOLLOWING_SURPLUS, amps=amps
        )

    def _pv_charging(self, ctx: _Step, current: int | None) -> Decision:
        """pv mode, charging: follow the surplus; below the minimum, drop to it, then stop."""
        now, surplus, needed, low = ctx.now, ctx.surplus, ctx.needed_w, ctx.low
        if surplus is not None and surplus >= needed:
            wanted = self._regulate(ctx, current)
            return self._follow(ctx, True, current, wanted, Reason.FOLLOWING_SURPLUS)
        since = self._run_start(True, needed)
        assert since is not None  # the latest value is below `needed` (or unknown)
        remaining = since + self.settings.disable_delay - now
        if remaining <= 0:
            if surplus is None:
                return self._command(
                    ctx, Action.STOP, None, PvState.WAITING, Reason.GRID_UNAVAILABLE
                )
            return self._command(
                ctx,
                Action.STOP,
                None,
                PvState.WAITING,
                Reason.SURPLUS_TOO_LOW,
                surplus_w=round(surplus),
                needed_w=round(needed),
            )
        if current is not None and current > low and now - since >= CUT_DELAY_S:
            return self._command(
                ctx,
                Action.SET_AMPS,
                low,
                PvState.CHARGING,
                Reason.DISABLE_DELAY,
                remaining_s=_ceil_s(remaining),
            )
        return ctx.state(PvState.CHARGING, Reason.DISABLE_DELAY, remaining_s=_ceil_s(remaining))

    def _regulate(self, ctx: _Step, current: int | None) -> int:
        """The current while charging: lower when the car has drawn from the grid for
        CUT_DELAY_S, raise when the surplus has carried more for the raise hold."""
        now, surplus, per_amp = ctx.now, ctx.surplus, ctx.per_amp
        if surplus is None:
            return ctx.low
        if current is None:
            return ctx.amps_for(surplus)
        if current > ctx.high or current < ctx.low:
            return ctx.clamp(current)
        # Export below zero: the car draws from the grid. The buffer is the hysteresis band.
        import_below = current * per_amp - self.settings.buffer_w
        if surplus < import_below:
            since = self._run_start(True, import_below)
            assert since is not None  # the latest value is below the threshold
            if now - since >= CUT_DELAY_S:
                return min(ctx.amps_for(surplus), current)
            return current
        # Raising after a cut waits as long as a restart after a stop: no chasing cycling loads.
        hold = self._raise_hold_at(now) if self._lowered else self.settings.enable_delay
        covered = self._sustained_min(now, hold)
        if (
            covered is not None
            and math.isfinite(covered)
            and math.floor(covered / per_amp) > current
        ):
            # The hold decides whether to raise, the last enable_delay how far: one step after a
            # ramp (a cloud's edge) instead of one per command interval.
            recent = self._sustained_min(now, self.settings.enable_delay)
            assert recent is not None  # the history covers the longer hold
            return max(current, ctx.amps_for(recent))
        return current

    def _follow(
        self, ctx: _Step, charging: bool, current: int | None, wanted: int, reason: Reason
    ) -> Decision:
        """Start at `wanted` amps, or change to them when the change is worth a command."""
        if not charging:
            return self._command(ctx, Action.START, wanted, PvState.CHARGING, reason, amps=wanted)
        if current is None or ctx.worth_changing(current, wanted, self.settings.min_amps_step):
            return self._command(
                ctx, Action.SET_AMPS, wanted, PvState.CHARGING, reason, amps=wanted
            )
        return ctx.state(PvState.CHARGING, reason, amps=current)

    def _command(
        self,
        ctx: _Step,
        action: Action,
        command_amps: int | None,
        ok_state: PvState,
        reason: Reason,
        **params: int,
    ) -> Decision:
        """A decision to send `action`, or the reason it is held back (and the state meanwhile)."""
        blocked = self._blocked(ctx.now, action)
        if blocked is None:
            decided = ctx.state(ok_state, reason, **params)
            return replace(decided, action=action, amps=command_amps)
        why, extra = blocked
        if why is Reason.COMMAND_INTERVAL and command_amps is not None:
            extra = {**extra, "amps": command_amps}
        if action is Action.START:
            return ctx.state(PvState.PAUSED, why, **extra)
        # A held stop or amp change: the car goes on charging meanwhile.
        return ctx.state(PvState.OFF if ok_state is PvState.OFF else PvState.CHARGING, why, **extra)


@dataclass(frozen=True, slots=True)
class _Step:
    """The fixed facts of one evaluation."""

    now: float
    surplus: float | None
    per_amp: float  # W per amp: phases x voltage
    low: int
    high: int
    base: Decision

    @property
    def needed_w(self) -> float:
        """The surplus the minimum current needs."""
        return self.low * self.per_amp

    def clamp(self, amps: int) -> int:
        return min(max(amps, self.low), self.high)

    def amps_for(self, power_w: float) -> int:
        """The whole amps power_w carries, clamped to [min, max] (min for an unknown surplus)."""
        if not math.isfinite(power_w):
            return self.low
        return self.clamp(math.floor(power_w / self.per_amp))

    def state(self, state: PvState, reason: Reason, **params: int) -> Decision:
        return replace(self.base, state=state, reason=reason, params=params)

    def worth_changing(self, current: int, wanted: int, step: int) -> bool:
        """A change of at least `step` amps, or any change that reaches the min or max current."""
        if current == wanted:
            return False
        return abs(wanted - current) >= step or wanted in (self.low, self.high)
