"""The PV surplus controller: each charge mode's decision, from the surplus and the car's estimate.

Pure (no Home Assistant imports, an injected clock `now` in seconds): `SurplusController.step`
takes the charge mode, a snapshot of the car and the latest grid reading and returns a `Decision`;
the runner sends the command it names and reports the outcome with
`SurplusController.record_command`. What the surplus is comes from meter.py, what the car draws
from car.py, when a command may be sent from pacing.py.

How it decides (pv mode)
------------------------
- Start when the surplus has covered the minimum current for `enable_delay`, but never sooner than
  `disable_delay` after our last stop (no flapping). The start current is what the surplus has
  carried for the raise hold (below), else the minimum.
- Lower the current once the car has drawn from the grid (export below zero) for CUT_DELAY_S: one
  cut to the right level after a cloud's edge or a kettle, not one per meter reading.
- Raise it when the surplus has covered a higher current for `enable_delay`, or, after a cut or a
  start, for the raise hold (pacing.py). The hold decides whether to raise, the last
  `enable_delay` how far. A load that cycles (an oven's thermostat) or clouds that come and go
  thus keep the car at the lower current instead of being chased.
- The buffer acts twice: as a margin left for the house, and as the hysteresis band between
  raising (the surplus covers the higher current plus the buffer) and lowering (actual import).
- While the surplus is below the minimum current, drop to the minimum after CUT_DELAY_S and stop
  once that has lasted `disable_delay`. A missing grid reading counts as no surplus.
- Amp changes need a change of at least `min_amps_step` (or reaching min/max), and whatever the
  pacing allows (the command interval, the back-off after a failure, no command in flight).

plan mode charges at the maximum current while the departure plan lets the grid charge (the
runner says so with `grid_allowed`), and like pv in between when there is a grid reading; without
one it keeps charging stopped between the plan's slots.

The other modes: min_pv starts at once and regulates like pv but never below the minimum and never
stops; fast charges at the maximum; off stops; manual never acts. Automatic modes act only while
the car is plugged in at the PV location. At the target (the lower of the car's limit and the soft
target) they report complete and send nothing: stopping at the soft target is the
ChargeController's job, the car stops itself at its limit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import math

from ..commands import Action
from .car import CarEstimate
from .meter import SurplusMeter
from .pacing import CommandPacing
from .types import (
    CarSnapshot,
    ChargeMode,
    Decision,
    GridReading,
    PvState,
    Reason,
    SurplusSettings,
    remaining_seconds,
)

# The car must have drawn from the grid this long before its current is lowered: one cut after a
# cloud's edge or a kettle, not one per reading on the way down.
CUT_DELAY_S = 30.0


class SurplusController:
    """A per-car state machine: `step` on every grid reading, `record_command` after commands."""

    def __init__(self, settings: SurplusSettings | None = None) -> None:
        self.settings = settings or SurplusSettings()
        self.reset()

    def reset(self) -> None:
        """Forget everything (timers, command history, back-off)."""
        self.meter = SurplusMeter(self.settings)
        self.car_estimate = CarEstimate(self.settings)
        self.pacing = CommandPacing(self.settings)
        self._last_eval: float | None = None
        self._context: tuple[object, ...] | None = None
        self._last_decision: Decision | None = None

    @property
    def last_decision(self) -> Decision | None:
        """The decision of the last step."""
        return self._last_decision

    def record_command(self, now: float, action: Action, amps: int | None, ok: bool) -> None:
        """Tell the controller what the runner sent and whether the car accepted it."""
        if action is Action.NONE:
            raise ValueError("record_command needs a command, not Action.NONE")
        self.pacing.record(now, action, amps, ok, self.car_estimate.expected_amps)
        if ok:
            self.car_estimate.expect(now, action, amps)

    # -- the step ----------------------------------------------------------------------------------

    def step(
        self,
        now: float,
        mode: ChargeMode,
        car: CarSnapshot,
        reading: GridReading | None,
        *,
        grid_allowed: bool = False,
    ) -> Decision:
        """Decide now. reading None: no grid reading. grid_allowed: the plan lets the grid in."""
        estimate, pacing = self.car_estimate, self.pacing
        pacing.expire(now)
        if not car.plugged_in:
            estimate.unplugged()
        if estimate.not_followed(car):
            pacing.fail(now)
        car_power = estimate.power_w(car)
        self.meter.sample(reading, car_power, pacing.last_ok_command_time)

        charging = estimate.charging(car)
        facts = (car.plugged_in, car.at_pv_location, charging, car.target_reached)
        context = (mode, grid_allowed, *facts)
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
        surplus = self.meter.evaluate(now, reading, pacing.raise_hold_limit)
        decision = self._decide(now, mode, car, surplus, car_power, grid_allowed=grid_allowed)
        if decision.action is not Action.NONE:
            pacing.begin(now, decision.action, estimate.commanded_amps(car))
        self._last_decision = decision
        return decision

    def _decide(
        self,
        now: float,
        mode: ChargeMode,
        car: CarSnapshot,
        surplus: float | None,
        car_power: float,
        *,
        grid_allowed: bool = False,
    ) -> Decision:
        phases, voltage = self.car_estimate.phases_and_voltage(car)
        low, high = self.car_estimate.amps_range(car)
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
        ctx = _Step(now, surplus, per_amp, low, high, base, self.pacing)

        if mode is ChargeMode.MANUAL:
            return ctx.state(PvState.IDLE, Reason.MANUAL_MODE)
        if not car.plugged_in:
            return ctx.state(PvState.UNPLUGGED, Reason.UNPLUGGED)
        if not car.at_pv_location:
            return ctx.state(PvState.NOT_AT_PV_LOCATION, Reason.NOT_AT_PV_LOCATION)
        charging = self.car_estimate.charging(car)
        if mode is ChargeMode.OFF:
            if charging:
                return ctx.command(Action.STOP, None, PvState.OFF, Reason.MODE_OFF)
            return ctx.state(PvState.OFF, Reason.MODE_OFF)
        if car.target_reached:
            return ctx.state(PvState.COMPLETE, Reason.TARGET_REACHED, target=car.target or 0)

        current = self.car_estimate.commanded_amps(car)
        if mode is ChargeMode.FAST or (mode is ChargeMode.PLAN and grid_allowed):
            reason = Reason.MAX_CURRENT if mode is ChargeMode.FAST else Reason.PLANNED_SLOT
            return self._follow(ctx, charging, current, high, reason)
        if mode is ChargeMode.PLAN and surplus is None:  # between slots, without a grid reading
            if not charging:
                return ctx.state(PvState.WAITING, Reason.WAITING_FOR_SLOT)
            return ctx.command(Action.STOP, None, PvState.WAITING, Reason.WAITING_FOR_SLOT)
        if mode is ChargeMode.MIN_PV:
            wanted = self._regulate(ctx, current) if charging else self._start_amps(ctx)
            reason = Reason.MIN_CURRENT if wanted == low else Reason.FOLLOWING_SURPLUS
            return self._follow(ctx, charging, current, wanted, reason)
        if charging:
            return self._pv_charging(ctx, current)
        return self._pv_waiting(ctx)

    def _start_amps(self, ctx: _Step) -> int:
        """Start at the current the surplus has carried as long as a raise would have to wait."""
        lasting = self.meter.sustained_min(ctx.now, self.pacing.raise_hold_at(ctx.now))
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
        covered = self.meter.sustained_min(now, self.settings.enable_delay)
        if covered is None or covered < needed:
            since = self.meter.run_start(False, needed)
            assert since is not None  # the latest value is at or above `needed`
            remaining = remaining_seconds(since + self.settings.enable_delay - now)
            return ctx.state(PvState.WAITING, Reason.ENABLE_DELAY, remaining_s=remaining)
        stop = self.pacing.last_stop_time
        if stop is not None and now - stop < self.settings.disable_delay:
            remaining = remaining_seconds(stop + self.settings.disable_delay - now)
            return ctx.state(PvState.PAUSED, Reason.RESTART_HOLD, remaining_s=remaining)
        amps = self._start_amps(ctx)
        return ctx.command(
            Action.START, amps, PvState.CHARGING, Reason.FOLLOWING_SURPLUS, amps=amps
        )

    def _pv_charging(self, ctx: _Step, current: int | None) -> Decision:
        """pv mode, charging: follow the surplus; below the minimum, drop to it, then stop."""
        now, surplus, needed, low = ctx.now, ctx.surplus, ctx.needed_w, ctx.low
        if surplus is not None and surplus >= needed:
            wanted = self._regulate(ctx, current)
            return self._follow(ctx, True, current, wanted, Reason.FOLLOWING_SURPLUS)
        since = self.meter.run_start(True, needed)
        assert since is not None  # the latest value is below `needed` (or unknown)
        remaining = since + self.settings.disable_delay - now
        if remaining <= 0:
            if surplus is None:
                return ctx.command(Action.STOP, None, PvState.WAITING, Reason.GRID_UNAVAILABLE)
            return ctx.command(
                Action.STOP,
                None,
                PvState.WAITING,
                Reason.SURPLUS_TOO_LOW,
                surplus_w=round(surplus),
                needed_w=round(needed),
            )
        remaining_s = remaining_seconds(remaining)
        if current is not None and current > low and now - since >= CUT_DELAY_S:
            return ctx.command(
                Action.SET_AMPS,
                low,
                PvState.CHARGING,
                Reason.DISABLE_DELAY,
                remaining_s=remaining_s,
            )
        return ctx.state(PvState.CHARGING, Reason.DISABLE_DELAY, remaining_s=remaining_s)

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
            since = self.meter.run_start(True, import_below)
            assert since is not None  # the latest value is below the threshold
            if now - since >= CUT_DELAY_S:
                return min(ctx.amps_for(surplus), current)
            return current
        # Raising after a cut waits as long as a restart after a stop: no chasing cycling loads.
        hold = self.pacing.raise_hold_at(now) if self.pacing.lowered else self.settings.enable_delay
        covered = self.meter.sustained_min(now, hold)
        if (
            covered is not None
            and math.isfinite(covered)
            and math.floor(covered / per_amp) > current
        ):
            # The hold decides whether to raise, the last enable_delay (or the hold, if shorter:
            # the disable delay may be below it) how far: one step after a ramp (a cloud's edge)
            # instead of one per command interval.
            recent = self.meter.sustained_min(now, min(hold, self.settings.enable_delay))
            assert recent is not None  # the history covers the hold, so the shorter span too
            return max(current, ctx.amps_for(recent))
        return current

    def _follow(
        self, ctx: _Step, charging: bool, current: int | None, wanted: int, reason: Reason
    ) -> Decision:
        """Start at `wanted` amps, or change to them when the change is worth a command."""
        if not charging:
            return ctx.command(Action.START, wanted, PvState.CHARGING, reason, amps=wanted)
        if current is None or ctx.worth_changing(current, wanted, self.settings.min_amps_step):
            return ctx.command(Action.SET_AMPS, wanted, PvState.CHARGING, reason, amps=wanted)
        return ctx.state(PvState.CHARGING, reason, amps=current)


@dataclass(frozen=True, slots=True)
class _Step:
    """The fixed facts of one evaluation."""

    now: float
    surplus: float | None
    per_amp: float  # W per amp: phases x voltage
    low: int
    high: int
    base: Decision
    pacing: CommandPacing

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

    def command(
        self,
        action: Action,
        command_amps: int | None,
        ok_state: PvState,
        reason: Reason,
        **params: int,
    ) -> Decision:
        """A decision to send `action`, or the reason it is held back (and the state meanwhile)."""
        blocked = self.pacing.blocked(self.now, action)
        if blocked is None:
            decided = self.state(ok_state, reason, **params)
            return replace(decided, action=action, amps=command_amps)
        why, extra = blocked
        if why is Reason.COMMAND_INTERVAL and command_amps is not None:
            extra = {**extra, "amps": command_amps}
        if action is Action.START:
            return self.state(PvState.PAUSED, why, **extra)
        # A held stop or amp change: the car goes on charging meanwhile.
        return self.state(
            PvState.OFF if ok_state is PvState.OFF else PvState.CHARGING, why, **extra
        )
