"""The pure PV surplus controller: whole simulated days in a closed loop, then every branch.

The closed loop (`run_day`): every 10 s the house, the PV array, the home battery (if any) and
the car give a meter reading, grid = house + car + battery - PV; the controller steps on it; the
simulated car follows its commands after realistic delays (a new current after 5-15 s, a start
after 20 s, Starting meanwhile) and stops at its limit. The controller sees the car only through
a data read every 5 minutes, as the coordinator would give it, and otherwise relies on its own
commands.

The outcome figures, exactly:
- chargeable surplus: at each 10 s sample, surplus = PV - house (what would be exported without the
  car; with a home battery see the battery tests). The car could physically have taken
  floor(surplus / (phases x voltage)) whole amps, clamped to the car's maximum, and nothing when
  that is below the minimum current (5 A) or the car is full. chargeable = those amps x phases x
  voltage; summed over the day (Wh). The buffer is not subtracted: it is a choice of the controller.
- share into the car: sum of min(car power, chargeable) over sum of chargeable. Car power above the
  chargeable surplus (drawn from the grid or beyond the amps step) does not count.
- the same share against the continuous surplus (clamped to [min power, max power], not rounded to
  whole amps) is reported as well, for honesty; the targets are on the whole-amps figure.
- car import share: sum of min(grid import, car power) over the energy the car drew: the import that
  would not have happened without the car, as a share of what it charged.
- amp commands per hour: set_charging_amps calls in any sliding hour, a start with amps counting as
  one (the start itself is counted separately in "all commands").
- flapping: the shortest gap between a stop and the next start; at least disable_delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import math

import pytest

from custom_components.tesla_wallbox.commands import Action
from custom_components.tesla_wallbox.surplus.controller import CUT_DELAY_S, SurplusController
from custom_components.tesla_wallbox.surplus.pacing import PENDING_TIMEOUT_S, PREMATURE_RAISE_S
from custom_components.tesla_wallbox.surplus.types import (
    REASON_TEXT,
    CarSnapshot,
    ChargeMode,
    Decision,
    GridReading,
    PvState,
    Reason,
    SurplusSettings,
)
from fleet_sim.pv import (
    DAY_S,
    HOUR_S,
    HomeBattery,
    SimCar,
    Trace,
    clear_day,
    cloudy_day,
    grid_power,
    house_load,
    passing_clouds,
)

STEP_S = 10.0
POLL_S = 300.0

# -- the closed loop ------------------------------------------------------------------------------


@dataclass
class DayResult:
    """What happened over a simulated day (energies in Wh)."""

    settings: SurplusSettings
    car_wh: float = 0.0
    chargeable_wh: float = 0.0
    chargeable_continuous_wh: float = 0.0
    into_car_wh: float = 0.0
    into_car_continuous_wh: float = 0.0
    car_import_wh: float = 0.0
    battery_possible_wh: float = 0.0  # while the battery had priority: what it could have taken
    battery_got_wh: float = 0.0  # ... and what it did take
    battery_to_car_wh: float = 0.0  # battery discharge that went into the car
    battery_max_soc: float = 0.0
    min_amps_seen: int | None = None
    commands: list[tuple[float, Action, int | None]] = field(default_factory=list)
    states: set[PvState] = field(default_factory=set)

    @property
    def share(self) -> float:
        return self.into_car_wh / self.chargeable_wh

    @property
    def continuous_share(self) -> float:
        return self.into_car_continuous_wh / self.chargeable_continuous_wh

    @property
    def import_share(self) -> float:
        return self.car_import_wh / self.car_wh

    def max_per_hour(self, *actions: Action) -> int:
        times = [t for t, action, _ in self.commands if action in actions]
        best = first = 0
        for last, t in enumerate(times):
            while times[first] <= t - HOUR_S:
                first += 1
            best = max(best, last - first + 1)
        return best

    @property
    def amp_commands_per_hour(self) -> int:
        """set_charging_amps calls, a start with amps included."""
        return self.max_per_hour(Action.SET_AMPS, Action.START)

    @property
    def commands_per_hour(self) -> int:
        """All commands: a start with amps is two API calls."""
        starts_with_amps = [(t, a, n) for t, a, n in self.commands if a is Action.START]
        both = sorted(self.commands + [(t, Action.SET_AMPS, n) for t, _, n in starts_with_amps])
        return replace(self, commands=both).max_per_hour(*Action)

    @property
    def min_stop_to_start_s(self) -> float | None:
        gaps: list[float] = []
        stopped_at: float | None = None
        for t, action, _ in self.commands:
            if action is Action.STOP:
                stopped_at = t
            elif action is Action.START and stopped_at is not None:
                gaps.append(t - stopped_at)
        return min(gaps) if gaps else None

    def summary(self) -> str:
        return (
            f"car {self.car_wh / 1000:.1f} kWh, chargeable {self.chargeable_wh / 1000:.1f} kWh, "
            f"share {self.share:.3f} (continuous {self.continuous_share:.3f}), "
            f"import {self.import_share:.4f}, amp commands/h {self.amp_commands_per_hour}, "
            f"all commands/h {self.commands_per_hour}, total {len(self.commands)}, "
            f"min stop-start {self.min_stop_to_start_s}"
        )


def snapshot(car: SimCar, now: float, *, at_pv_location: bool = True) -> CarSnapshot:
    """What a vehicle_data read would tell the controller about the simulated car."""
    drawing = car.power_w > 0
    return CarSnapshot(
        plugged_in=car.plugged_in,
        at_pv_location=at_pv_location,
        charging=car.charging,
        battery_level=math.floor(car.soc),
        charge_limit_soc=car.charge_limit_soc,
        max_amps=car.max_amps,
        commanded_amps=car.requested_amps,
        phases=car.phases if drawing else None,
        voltage=car.voltage if drawing else None,
        data_time=now,
    )


def run_day(
    pv: Trace,
    house: Trace,
    *,
    settings: SurplusSettings | None = None,
    mode: ChargeMode = ChargeMode.PV,
    car: SimCar | None = None,
    battery: HomeBattery | None = None,
) -> DayResult:
    """One day in the closed loop; the controller's commands always succeed."""
    settings = settings or SurplusSettings()
    car = car or SimCar(soc=20.0)
    controller = SurplusController(settings)
    result = DayResult(settings)
    per_amp = car.phases * car.voltage
    hours = STEP_S / HOUR_S
    data: CarSnapshot | None = None
    for i in range(int(DAY_S / STEP_S)):
        now = i * STEP_S
        car_w = car.advance(now, STEP_S)
        pv_w, house_w = pv.at(now), house.at(now)
        net_w = grid_power(pv_w, house_w, car_w)
        battery_soc = battery.soc if battery else None
        result.battery_max_soc = max(result.battery_max_soc, battery_soc or 0.0)
        battery_w = battery.step(net_w, STEP_S) if battery else 0.0
        grid_w = net_w + battery_w
        if data is None or now - data.data_time >= POLL_S:
            data = snapshot(car, now)
        reading = GridReading(now, grid_w, battery_w if battery else None, battery_soc)
        decision = controller.step(now, mode, data, reading)
        result.states.add(decision.state)
        if decision.action is Action.START:
            car.start(now, decision.amps)
        elif decision.action is Action.STOP:
            car.stop(now)
        elif decision.action is Action.SET_AMPS:
            assert decision.amps is not None
            car.set_amps(now, decision.amps)
        if decision.action is not Action.NONE:
            controller.record_command(now, decision.action, decision.amps, ok=True)
            result.commands.append((now, decision.action, decision.amps))
        if car_w > 0:
            amps = round(car_w / per_amp)
            result.min_amps_seen = min(result.min_amps_seen or amps, amps)

        surplus_w = pv_w - house_w
        battery_first = (
            battery is not None
            and settings.battery_priority_soc is not None
            and battery_soc is not None
            and battery_soc < settings.battery_priority_soc
        )
        if battery is not None and battery_first:
            result.battery_possible_wh += min(battery.max_charge_w, max(surplus_w, 0.0)) * hours
            result.battery_got_wh += max(battery_w, 0.0) * hours
            surplus_w -= min(battery.max_charge_w, max(surplus_w, 0.0))
        chargeable = continuous = 0.0
        if car.plugged_in and not car.complete:
            whole_amps = min(math.floor(surplus_w / per_amp), car.max_amps)
            if whole_amps >= settings.min_amps:
                chargeable = whole_amps * per_amp
                continuous = min(surplus_w, car.max_amps * per_amp)
        result.chargeable_wh += chargeable * hours
        result.chargeable_continuous_wh += continuous * hours
        result.into_car_wh += min(car_w, chargeable) * hours
        result.into_car_continuous_wh += min(car_w, continuous) * hours
        result.car_wh += car_w * hours
        result.car_import_wh += min(max(grid_w, 0.0), car_w) * hours
        result.battery_to_car_wh += min(max(-battery_w, 0.0), car_w) * hours
    return result


def assert_no_flapping(result: DayResult) -> None:
    gap = result.min_stop_to_start_s
    assert gap is None or gap >= result.settings.disable_delay


# -- whole days -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clear_day_meets_the_targets(seed: int) -> None:
    """The surplus controller's targets: >= 90 % of the chargeable surplus into the car, car import <= 5 % of
    the energy charged, <= 12 amp commands in any hour; no flapping. Three house-load seeds."""
    result = run_day(clear_day(), house_load(seed=seed), car=SimCar(soc=20.0, seed=seed))
    print(f"clear day, seed {seed}: {result.summary()}")
    assert result.car_wh > 40_000  # a real day of charging, not a vacuous pass
    assert result.share >= 0.90
    assert result.continuous_share >= 0.88
    assert result.import_share <= 0.05
    assert result.amp_commands_per_hour <= 12
    assert_no_flapping(result)
    assert result.min_amps_seen == 5


def test_clear_day_single_phase() -> None:
    """A single-phase car (up to 32 A, 7.4 kW): finer steps, the same targets."""
    settings = SurplusSettings(assumed_phases=1)
    car = SimCar(soc=20.0, phases=1, max_amps=32)
    result = run_day(clear_day(), house_load(), settings=settings, car=car)
    print(f"clear day, one phase: {result.summary()}")
    assert result.car_wh > 40_000
    assert result.share >= 0.90
    assert result.import_share <= 0.05
    assert result.amp_commands_per_hour <= 12
    assert_no_flapping(result)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_passing_clouds(seed: int) -> None:
    """Clouds every 10-60 min for 2-10 min: each costs a cut, often a stop and a restart. Regression
    bounds, not issue targets: most of the surplus still goes into the car, import stays small."""
    pv = passing_clouds(seed=seed)
    result = run_day(pv, house_load(seed=seed), car=SimCar(soc=20.0, seed=seed))
    print(f"passing clouds, seed {seed}: {result.summary()}")
    assert result.share >= 0.87
    assert result.import_share <= 0.05
    assert result.amp_commands_per_hour <= 15
    assert result.commands_per_hour <= 24
    assert_no_flapping(result)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cloudy_day_with_fast_swings(seed: int) -> None:
    """Sun and shade alternate every 1-4 minutes. A three-phase car cannot charge below 3.45 kW,
    and shade lasts less than the 3 min disable delay, so pv mode bridges shade from the grid:
    a quarter of the energy charged is imported. These are regression bounds that document that
    limit; the controller must still not flap nor spend commands chasing the sun."""
    pv = cloudy_day(seed=seed)
    result = run_day(pv, house_load(seed=seed), car=SimCar(soc=20.0, seed=seed))
    print(f"cloudy day, seed {seed}: {result.summary()}")
    assert result.car_wh > 10_000
    assert result.share >= 0.45
    assert result.import_share <= 0.32
    assert result.amp_commands_per_hour <= 15
    assert result.commands_per_hour <= 30
    assert_no_flapping(result)


@pytest.mark.parametrize(
    ("pv", "name"), [(clear_day(), "clear"), (passing_clouds(seed=2), "passing clouds")]
)
def test_home_battery_priority(pv: Trace, name: str) -> None:
    """A 20 kWh home battery (4 kW) starting at 10 % has priority up to 90 %.

    While it is below 90 %, the battery could take min(4 kW, PV - house): it must get >= 95 % of
    that. The car's chargeable surplus is what is left after that (counted from the surplus minus
    the battery's share while the battery has priority, the whole surplus afterwards), and the car
    must get >= 88 % of it. Battery discharge into the car stays below 5 % of the energy charged.
    """
    battery = HomeBattery(capacity_wh=20_000, max_charge_w=4_000, soc=10.0)
    settings = SurplusSettings(battery_priority_soc=90.0)
    result = run_day(pv, house_load(), settings=settings, battery=battery)
    print(
        f"battery, {name}: battery {result.battery_got_wh / result.battery_possible_wh:.3f} of "
        f"{result.battery_possible_wh / 1000:.1f} kWh; car: {result.summary()}"
    )
    assert result.battery_possible_wh > 15_000
    assert result.battery_got_wh >= 0.95 * result.battery_possible_wh
    assert result.share >= 0.88
    assert result.battery_to_car_wh <= 0.05 * result.car_wh
    assert result.import_share <= 0.05
    assert_no_flapping(result)
    assert result.battery_max_soc > 90


def test_battery_below_priority_all_day() -> None:
    """A 30 kWh battery at 3 kW never reaches its priority SoC until late: the car gets only the
    surplus beyond 3 kW, and the battery what it can take."""
    battery = HomeBattery(capacity_wh=30_000, max_charge_w=3_000, soc=10.0)
    settings = SurplusSettings(battery_priority_soc=95.0)
    result = run_day(clear_day(), house_load(), settings=settings, battery=battery)
    print(f"big battery: {result.battery_got_wh / result.battery_possible_wh:.3f}")
    assert result.battery_got_wh >= 0.97 * result.battery_possible_wh
    assert result.share >= 0.88
    assert result.car_wh > 15_000


def test_min_pv_day_never_stops_and_never_drops_below_the_minimum() -> None:
    """min_pv from midnight: charging starts at once at 5 A and follows the surplus above it."""
    result = run_day(clear_day(), house_load(), mode=ChargeMode.MIN_PV, car=SimCar(soc=10.0))
    print(f"min_pv: {result.summary()}")
    assert [a for _, a, _ in result.commands].count(Action.START) == 1
    assert Action.STOP not in [a for _, a, _ in result.commands]
    assert result.commands[0][:2] == (0.0, Action.START)
    assert result.min_amps_seen == 5
    assert result.share >= 0.90
    assert result.amp_commands_per_hour <= 12


def test_fast_day_charges_at_the_maximum() -> None:
    result = run_day(cloudy_day(), house_load(), mode=ChargeMode.FAST, car=SimCar(soc=50.0))
    assert result.commands == [(0.0, Action.START, 16)]
    assert result.min_amps_seen == 16
    assert result.states == {PvState.CHARGING, PvState.COMPLETE}


# -- every branch ---------------------------------------------------------------------------------

PER_AMP = 3 * 230.0  # W per amp on three phases
BUFFER = SurplusSettings().buffer_w


def plugged_car(**changes: object) -> CarSnapshot:
    """A car plugged in at home, not charging, half full, limit 80 %, last asked for 16 A."""
    car = CarSnapshot(
        plugged_in=True,
        at_pv_location=True,
        charging=False,
        battery_level=50,
        charge_limit_soc=80,
        max_amps=16,
        commanded_amps=16,
        data_time=0.0,
    )
    return replace(car, **changes)  # type: ignore[arg-type]


def charging_car(amps: int, **changes: object) -> CarSnapshot:
    return plugged_car(charging=True, commanded_amps=amps, **changes)


class Rig:
    """A controller on a manual clock. `surplus(w)` feeds the grid reading that makes the available
    power (after the buffer) w, given what the controller believes the car draws."""

    def __init__(
        self,
        mode: ChargeMode = ChargeMode.PV,
        car: CarSnapshot | None = None,
        settings: SurplusSettings | None = None,
    ) -> None:
        self.controller = SurplusController(settings)
        self.mode = mode
        self.car = car or plugged_car()
        self.now = 0.0
        self.fed: float | None = None  # the time of the last reading

    def grid(self, grid_w: float | None, at: float | None = None, **battery: float) -> Decision:
        if at is not None:
            self.now = at
        reading = None if grid_w is None else GridReading(self.now, grid_w, **battery)
        self.fed = self.now
        return self.controller.step(self.now, self.mode, self.car, reading)

    def surplus(self, available_w: float, at: float | None = None) -> Decision:
        car_w = self.controller.car_estimate.power_w(self.car)
        return self.grid(-(available_w + BUFFER - car_w), at)

    def hold(self, available_w: float, until: float) -> Decision:
        """Feed the same surplus every 10 s up to `until` (from now, or 10 s on if now has had its
        reading); returns the first decision with an action, or the last one."""
        decision = self.surplus(available_w, self.now + STEP_S if self.fed == self.now else None)
        while decision.action is Action.NONE and self.now + STEP_S <= until:
            decision = self.surplus(available_w, self.now + STEP_S)
        return decision

    def sent(self, decision: Decision, ok: bool = True) -> None:
        self.controller.record_command(self.now, decision.action, decision.amps, ok)


def test_manual_mode_never_acts_but_reports_the_surplus() -> None:
    rig = Rig(ChargeMode.MANUAL, charging_car(10))
    decision = rig.grid(-2_000.0)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.IDLE,
        Reason.MANUAL_MODE,
        Action.NONE,
    )
    assert decision.car_power_w == 10 * PER_AMP
    assert decision.surplus_w == 2_000 + 10 * PER_AMP - BUFFER
    assert decision.target_amps == 12
    assert decision.reason_text.startswith("Manual mode")
    for t in range(10, 600, 10):
        assert rig.grid(-20_000.0, at=t).action is Action.NONE


def test_no_reading_reports_no_surplus() -> None:
    decision = Rig(ChargeMode.MANUAL).grid(None)
    assert (decision.surplus_w, decision.target_amps) == (None, None)


@pytest.mark.parametrize(
    "mode", [ChargeMode.OFF, ChargeMode.PV, ChargeMode.MIN_PV, ChargeMode.FAST]
)
def test_automatic_modes_wait_for_the_car_at_home(mode: ChargeMode) -> None:
    away = Rig(mode, charging_car(16, at_pv_location=False)).grid(-5_000.0)
    assert (away.state, away.reason, away.action) == (
        PvState.NOT_AT_PV_LOCATION,
        Reason.NOT_AT_PV_LOCATION,
        Action.NONE,
    )
    assert away.reason_text == "The car is not at the PV location"
    unplugged = Rig(mode, plugged_car(plugged_in=False)).grid(-5_000.0)
    assert (unplugged.state, unplugged.action) == (PvState.UNPLUGGED, Action.NONE)


def test_off_mode_stops_charging_and_keeps_it_stopped() -> None:
    rig = Rig(ChargeMode.OFF, charging_car(16))
    decision = rig.grid(-8_000.0)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.OFF,
        Reason.MODE_OFF,
        Action.STOP,
    )
    rig.sent(decision)
    # The car data is still the old read: our stop counts until newer data arrives.
    decision = rig.grid(-8_000.0, at=10)
    assert (decision.state, decision.action) == (PvState.OFF, Action.NONE)
    rig.car = plugged_car(data_time=60.0)
    assert rig.grid(-8_000.0, at=60).action is Action.NONE


def test_off_mode_stop_held_by_a_back_off() -> None:
    rig = Rig(ChargeMode.OFF, charging_car(16))
    rig.sent(rig.grid(0.0), ok=False)
    decision = rig.grid(0.0, at=10)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.OFF,
        Reason.COMMAND_BACKOFF,
        Action.NONE,
    )
    assert decision.params == {"remaining_s": 110}
    assert rig.grid(0.0, at=120).action is Action.STOP


@pytest.mark.parametrize(
    ("level", "limit", "soft", "target"),
    [(80, 80, None, 80), (60, 80, 60, 60), (90, 80, 85, 80)],
)
def test_target_reached_is_complete(level: int, limit: int, soft: int | None, target: int) -> None:
    car = plugged_car(battery_level=level, charge_limit_soc=limit, soft_target=soft)
    for mode in (ChargeMode.PV, ChargeMode.MIN_PV, ChargeMode.FAST):
        decision = Rig(mode, car).grid(-9_000.0)
        assert (decision.state, decision.action) == (PvState.COMPLETE, Action.NONE)
        assert decision.params == {"target": target}
        assert decision.reason_text == f"The battery has reached the target of {target} %"


def test_target_needs_a_level_and_a_target() -> None:
    assert not plugged_car(battery_level=59, soft_target=60).target_reached
    assert plugged_car(charge_limit_soc=None, soft_target=None).target is None
    assert not plugged_car(charge_limit_soc=None, battery_level=100).target_reached
    assert not plugged_car(battery_level=None).target_reached
    assert plugged_car(charge_limit_soc=None, soft_target=70).target == 70


def test_pv_waits_while_the_surplus_is_too_low() -> None:
    decision = Rig().surplus(1_000.0)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.WAITING,
        Reason.SURPLUS_TOO_LOW,
        Action.NONE,
    )
    assert decision.params == {"surplus_w": 1_000, "needed_w": 3_450}
    assert decision.reason_text == "Surplus 1000 W is below the 3450 W the minimum needs"
    assert Rig().grid(None).reason is Reason.GRID_UNAVAILABLE


def test_pv_starts_after_the_enable_delay_at_the_minimum() -> None:
    rig = Rig()
    decision = rig.surplus(5_000.0)
    assert (decision.state, decision.reason) == (PvState.WAITING, Reason.ENABLE_DELAY)
    assert decision.params == {"remaining_s": 60}
    assert rig.surplus(5_000.0, at=30).params == {"remaining_s": 30}
    # A dip restarts the delay.
    assert rig.surplus(3_000.0, at=40).reason is Reason.SURPLUS_TOO_LOW
    assert rig.surplus(5_000.0, at=50).params == {"remaining_s": 60}
    decision = rig.hold(5_000.0, until=200)
    assert (rig.now, decision.action, decision.amps) == (110, Action.START, 5)
    assert (decision.state, decision.reason) == (PvState.CHARGING, Reason.FOLLOWING_SURPLUS)
    assert decision.reason_text == "Charging from surplus at 5 A"


def test_pv_starts_at_the_current_a_lasting_surplus_carries() -> None:
    """The surplus history does not depend on the mode: after three sunny minutes in manual, pv
    starts at once at the current those minutes carried."""
    rig = Rig(ChargeMode.MANUAL)
    rig.hold(8_000.0, until=200)
    rig.mode = ChargeMode.PV
    decision = rig.surplus(8_000.0, at=210)
    assert (decision.action, decision.amps) == (Action.START, 11)


def test_pv_restart_waits_disable_delay_after_our_stop() -> None:
    rig = Rig(car=charging_car(5))
    decision = rig.hold(1_000.0, until=600)
    assert (rig.now, decision.action) == (180, Action.STOP)
    assert (decision.state, decision.reason) == (PvState.WAITING, Reason.SURPLUS_TOO_LOW)
    rig.sent(decision)
    # Readings in the 20 s after the stop are skipped; from 200 s the surplus lasts 60 s.
    decision = rig.hold(6_000.0, until=rig.now + 80)
    assert (decision.state, decision.reason) == (PvState.PAUSED, Reason.RESTART_HOLD)
    assert decision.params == {"remaining_s": 100}
    assert decision.reason_text == "Stopped recently: the next start is allowed in 100 s"
    decision = rig.hold(6_000.0, until=1_000)
    assert (rig.now, decision.action) == (360, Action.START)


def test_pv_charging_below_the_minimum_drops_to_it_then_stops() -> None:
    rig = Rig(car=charging_car(8))
    decision = rig.surplus(2_000.0)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.CHARGING,
        Reason.DISABLE_DELAY,
        Action.NONE,
    )
    assert decision.reason_text == "Surplus too low: stopping in 180 s unless it returns"
    decision = rig.hold(2_000.0, until=100)
    assert (rig.now, decision.action, decision.amps) == (30, Action.SET_AMPS, 5)
    assert decision.params == {"remaining_s": 150}
    rig.sent(decision)
    decision = rig.hold(2_000.0, until=300)
    assert (rig.now, decision.action) == (180, Action.STOP)


def test_pv_stop_skips_the_command_interval() -> None:
    rig = Rig(car=charging_car(8), settings=SurplusSettings(disable_delay=60.0))
    decision = rig.hold(2_000.0, until=100)
    assert (rig.now, decision.action) == (30, Action.SET_AMPS)
    rig.sent(decision)
    decision = rig.hold(2_000.0, until=100)
    assert (rig.now, decision.action) == (60, Action.STOP)  # 30 s after the amps command


def test_pv_without_grid_readings_stops_after_the_disable_delay() -> None:
    rig = Rig(car=charging_car(5))
    decision = rig.grid(None)
    assert (decision.state, decision.reason) == (PvState.CHARGING, Reason.DISABLE_DELAY)
    for t in range(10, 180, 10):
        assert rig.grid(None, at=t).action is Action.NONE
    decision = rig.grid(None, at=180)
    assert (decision.action, decision.state, decision.reason) == (
        Action.STOP,
        PvState.WAITING,
        Reason.GRID_UNAVAILABLE,
    )


def test_pv_raises_when_the_surplus_lasts() -> None:
    rig = Rig(car=charging_car(5))
    decision = rig.surplus(8_000.0)
    assert (decision.state, decision.reason, decision.params) == (
        PvState.CHARGING,
        Reason.FOLLOWING_SURPLUS,
        {"amps": 5},
    )
    decision = rig.hold(8_000.0, until=300)
    assert (rig.now, decision.action, decision.amps) == (60, Action.SET_AMPS, 11)


def test_pv_lowers_after_the_car_imported_for_the_cut_delay() -> None:
    rig = Rig(car=charging_car(11))
    rig.hold(11 * PER_AMP, until=100)  # steady, exactly enough
    decision = rig.hold(5_000.0, until=300)
    assert (rig.now, decision.action, decision.amps) == (
        110 + CUT_DELAY_S,  # the first low reading comes 10 s after the last steady one
        Action.SET_AMPS,
        7,
    )
    # Within the buffer the car does not import: no cut.
    rig = Rig(car=charging_car(11))
    assert rig.hold(11 * PER_AMP - BUFFER / 2, until=300).action is Action.NONE


def test_pv_raise_after_a_cut_waits_the_raise_hold() -> None:
    rig = Rig(car=charging_car(11))
    rig.hold(11 * PER_AMP, until=100)
    cut = rig.hold(5_000.0, until=300)
    assert cut.amps == 7
    rig.sent(cut)
    cut_at = rig.now
    decision = rig.hold(8_000.0, until=cut_at + 1_000)
    # Not after enable_delay (60 s) but after disable_delay (180 s) of lasting surplus.
    # (+ 20 s: readings while the car answers the cut are skipped)
    assert (rig.now - cut_at, decision.action, decision.amps) == (200, Action.SET_AMPS, 11)
    rig.sent(decision)
    # Taken back within PREMATURE_RAISE_S: the hold doubles to 360 s, and halves again only
    # PREMATURE_RAISE_S later, so no raise comes before then though the surplus lasted 180 s.
    rig.hold(8_000.0, until=rig.now + 60)
    cut = rig.hold(5_000.0, until=rig.now + 300)
    assert cut.action is Action.SET_AMPS
    rig.sent(cut)
    cut_at = rig.now
    decision = rig.hold(8_000.0, until=cut_at + 1_000)
    assert (rig.now - cut_at, decision.amps) == (PREMATURE_RAISE_S, 11)
    rig.sent(decision)
    # Raises that hold for PREMATURE_RAISE_S halve the hold again.
    rig.hold(8_000.0, until=rig.now + PREMATURE_RAISE_S)
    cut = rig.hold(5_000.0, until=rig.now + 300)
    rig.sent(cut)
    cut_at = rig.now
    decision = rig.hold(8_000.0, until=cut_at + 1_000)
    assert rig.now - cut_at == 200


def test_pv_raise_goes_to_the_recent_level_in_one_step() -> None:
    """After a cut, a ramp back up (a cloud's edge) is followed by one raise to where it ended."""
    rig = Rig(car=charging_car(8))
    rig.hold(8 * PER_AMP, until=100)
    cut = rig.hold(3_500.0, until=300)
    assert (cut.action, cut.amps) == (Action.SET_AMPS, 5)
    rig.sent(cut)
    for watts in (4_000.0, 5_000.0, 6_000.0, 7_000.0, 8_000.0):
        assert rig.hold(watts, until=rig.now + 30).action is Action.NONE
    decision = rig.hold(8_000.0, until=rig.now + 600)
    # Not 7 A (the lowest level of the hold) and 11 A two minutes later: 11 A at once.
    assert (decision.action, decision.amps) == (Action.SET_AMPS, 11)


def test_min_pv_starts_at_once_at_the_minimum_and_never_stops() -> None:
    rig = Rig(ChargeMode.MIN_PV)
    decision = rig.grid(500.0)  # importing
    assert (decision.action, decision.amps, decision.reason) == (
        Action.START,
        5,
        Reason.MIN_CURRENT,
    )
    assert decision.reason_text == "Charging at the minimum current of 5 A"
    rig.sent(decision)
    for t in range(10, 3_600, 10):
        assert rig.grid(3_000.0, at=t).action is Action.NONE
    rig.car = charging_car(5, data_time=3_600.0)
    decision = rig.hold(8_000.0, until=7_200)
    assert (decision.action, decision.amps, decision.reason) == (
        Action.SET_AMPS,
        11,
        Reason.FOLLOWING_SURPLUS,
    )


def test_min_pv_falls_back_to_the_minimum() -> None:
    rig = Rig(ChargeMode.MIN_PV, charging_car(10))
    decision = rig.grid(None)  # no grid reading: the floor
    assert (decision.action, decision.amps) == (Action.SET_AMPS, 5)
    rig = Rig(ChargeMode.MIN_PV, charging_car(10))
    decision = rig.hold(-3_000.0, until=100)
    assert (rig.now, decision.action, decision.amps) == (30, Action.SET_AMPS, 5)


def test_fast_charges_at_the_maximum() -> None:
    decision = Rig(ChargeMode.FAST).grid(5_000.0)
    assert (decision.action, decision.amps, decision.state, decision.reason) == (
        Action.START,
        16,
        PvState.CHARGING,
        Reason.MAX_CURRENT,
    )
    decision = Rig(ChargeMode.FAST, charging_car(10)).grid(5_000.0)
    assert (decision.action, decision.amps) == (Action.SET_AMPS, 16)
    decision = Rig(ChargeMode.FAST, charging_car(16)).grid(5_000.0)
    assert (decision.action, decision.params) == (Action.NONE, {"amps": 16})
    assert decision.reason_text == "Charging at the maximum current of 16 A"
    capped = SurplusSettings(max_amps=12)
    assert Rig(ChargeMode.FAST, settings=capped).grid(0.0).amps == 12
    assert Rig(ChargeMode.FAST, plugged_car(max_amps=10), capped).grid(0.0).amps == 10
    assert Rig(ChargeMode.FAST, plugged_car(max_amps=None)).grid(0.0).amps == 16


def test_amp_changes_wait_for_the_command_interval() -> None:
    rig = Rig(ChargeMode.FAST, charging_car(10))
    rig.sent(rig.grid(0.0))  # 16 A at t=0
    rig.car = charging_car(10, data_time=60.0)  # someone else lowered it
    decision = rig.grid(0.0, at=60)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.CHARGING,
        Reason.COMMAND_INTERVAL,
        Action.NONE,
    )
    assert decision.params == {"remaining_s": 60, "amps": 16}
    assert decision.reason_text == "Next change to 16 A allowed in 60 s"
    assert rig.grid(0.0, at=120).action is Action.SET_AMPS


def test_small_changes_are_not_worth_a_command() -> None:
    settings = SurplusSettings(min_amps_step=2)
    rig = Rig(car=charging_car(8), settings=settings)
    assert rig.hold(9 * PER_AMP + 50, until=600).action is Action.NONE
    rig = Rig(car=charging_car(8), settings=settings)
    assert rig.hold(10 * PER_AMP + 50, until=600).amps == 10
    # Reaching the maximum is always worth it.
    rig = Rig(car=charging_car(15), settings=settings)
    assert rig.hold(16 * PER_AMP + 50, until=600).amps == 16


def test_failed_commands_back_off_doubling_up_to_the_maximum() -> None:
    rig = Rig(ChargeMode.FAST, settings=SurplusSettings(max_backoff=300.0))
    rig.sent(rig.grid(0.0), ok=False)
    decision = rig.grid(0.0, at=10)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.PAUSED,
        Reason.COMMAND_BACKOFF,
        Action.NONE,
    )
    assert decision.reason_text == "A command failed: retrying in 110 s"
    for t in range(20, 120, 10):
        assert rig.grid(0.0, at=t).action is Action.NONE
    retry = rig.grid(0.0, at=120)
    assert retry.action is Action.START
    rig.sent(retry, ok=False)
    assert rig.grid(0.0, at=350).action is Action.NONE
    retry = rig.grid(0.0, at=360)  # 240 s later
    assert retry.action is Action.START
    rig.sent(retry, ok=False)
    assert rig.grid(0.0, at=650).action is Action.NONE
    retry = rig.grid(0.0, at=660)  # capped at 300 s, not 480
    rig.sent(retry, ok=True)
    assert rig.grid(0.0, at=670).state is PvState.CHARGING


def test_a_command_in_flight_blocks_the_next_one() -> None:
    rig = Rig(ChargeMode.FAST)
    assert rig.grid(0.0).action is Action.START  # not reported back
    decision = rig.grid(0.0, at=10)
    assert (decision.state, decision.reason, decision.action) == (
        PvState.PAUSED,
        Reason.COMMAND_PENDING,
        Action.NONE,
    )
    assert decision.reason_text == "Waiting for the car to answer a command"
    # Never reported: after PENDING_TIMEOUT_S it counts as failed.
    decision = rig.grid(0.0, at=PENDING_TIMEOUT_S)
    assert (decision.reason, decision.action) == (Reason.COMMAND_BACKOFF, Action.NONE)


def test_a_start_the_car_did_not_follow_backs_off() -> None:
    rig = Rig(ChargeMode.FAST)
    rig.sent(rig.grid(0.0))
    # Stale data (before the command settled) does not count against it.
    rig.car = plugged_car(data_time=20.0)
    assert rig.grid(0.0, at=20).state is PvState.CHARGING
    rig.car = plugged_car(data_time=40.0)
    decision = rig.grid(0.0, at=40)
    assert (decision.state, decision.reason) == (PvState.PAUSED, Reason.COMMAND_BACKOFF)
    assert rig.grid(0.0, at=160).action is Action.START


def test_a_followed_start_or_an_unplugged_car_is_no_failure() -> None:
    rig = Rig(ChargeMode.FAST)
    rig.sent(rig.grid(0.0))
    rig.car = charging_car(16, data_time=40.0)
    assert rig.grid(0.0, at=40).reason is Reason.MAX_CURRENT
    rig = Rig(ChargeMode.FAST)
    rig.sent(rig.grid(0.0))
    rig.car = plugged_car(plugged_in=False, data_time=40.0)
    assert rig.grid(0.0, at=40).state is PvState.UNPLUGGED
    rig.car = plugged_car(data_time=50.0)
    assert rig.grid(0.0, at=50).action is Action.START


def test_our_commands_count_until_newer_car_data() -> None:
    rig = Rig(ChargeMode.FAST, plugged_car(commanded_amps=6))
    rig.sent(rig.grid(0.0))
    assert rig.controller.car_estimate.charging(rig.car)
    assert rig.controller.car_estimate.commanded_amps(rig.car) == 16
    assert rig.controller.car_estimate.power_w(rig.car) == 16 * PER_AMP
    newer = charging_car(13, data_time=60.0)
    assert rig.controller.car_estimate.commanded_amps(newer) == 13


def test_unknown_commanded_amps_while_charging() -> None:
    car = plugged_car(charging=True, commanded_amps=None)
    rig = Rig(car=car)
    assert rig.controller.car_estimate.power_w(car) == 16 * PER_AMP  # assume the worst
    decision = rig.hold(6_000.0, until=100)
    assert (decision.action, decision.amps) == (Action.SET_AMPS, 8)


def test_a_current_outside_the_range_is_brought_into_it() -> None:
    rig = Rig(car=charging_car(16), settings=SurplusSettings(max_amps=10))
    assert rig.surplus(20_000.0).amps == 10


def test_home_battery_priority_by_soc() -> None:
    settings = SurplusSettings(battery_priority_soc=80.0, buffer_w=0.0)
    controller = SurplusController(settings)

    def available(battery_w: float, soc: float | None) -> float:
        return controller.meter.available_w(GridReading(0.0, -500.0, battery_w, soc), 0.0)

    assert available(2_000.0, 50.0) == 500.0  # below: the battery keeps its 2 kW
    assert available(2_000.0, 80.0) == 2_500.0  # at or above: the car may take it
    assert available(2_000.0, None) == 500.0  # unknown SoC: the battery keeps priority
    assert available(-1_000.0, 90.0) == -500.0  # never from a discharging battery
    assert available(-1_000.0, 10.0) == -500.0
    no_priority = SurplusController(SurplusSettings(buffer_w=0.0))
    assert no_priority.meter.available_w(GridReading(0.0, 0.0, 2_000.0, 10.0), 0.0) == 2_000.0
    assert no_priority.meter.available_w(GridReading(0.0, 0.0), 1_000.0) == 1_000.0


def test_home_battery_priority_keeps_its_demand() -> None:
    """A zero-export battery gives way to the car silently; below its priority SoC the controller
    holds back what the battery took when it last had export to spare."""
    settings = SurplusSettings(battery_priority_soc=80.0)
    rig = Rig(car=charging_car(8), settings=settings)
    car_w = 8 * PER_AMP
    decision = rig.grid(-600.0, battery_w=3_000.0, battery_soc=40.0)  # exporting: 3 kW is its max
    assert decision.surplus_w == 600 + car_w - BUFFER
    decision = rig.grid(0.0, at=10, battery_w=1_000.0, battery_soc=40.0)  # the car took 2 kW
    assert decision.surplus_w == car_w - BUFFER - 2_000
    decision = rig.grid(0.0, at=20, battery_w=3_500.0, battery_soc=40.0)  # it can take more
    assert decision.surplus_w == car_w - BUFFER
    # At the priority SoC the car may take all of it.
    decision = rig.grid(0.0, at=30, battery_w=1_000.0, battery_soc=80.0)
    assert decision.surplus_w == car_w - BUFFER + 1_000


def test_battery_above_priority_starts_the_car() -> None:
    settings = SurplusSettings(battery_priority_soc=50.0)
    for soc, expected in ((40.0, Reason.SURPLUS_TOO_LOW), (60.0, Reason.ENABLE_DELAY)):
        rig = Rig(settings=settings)
        decision = rig.grid(0.0, battery_w=5_000.0, battery_soc=soc)
        assert decision.reason is expected


def test_sign_inversion() -> None:
    settings = SurplusSettings(invert_grid_sign=True, invert_battery_sign=True)
    reading = settings.reading(5.0, 2_000.0, battery_w=-500.0, battery_soc=60.0)
    assert reading == GridReading(5.0, -2_000.0, 500.0, 60.0)
    assert settings.reading(5.0, 2_000.0).battery_w is None
    assert SurplusSettings().reading(5.0, 2_000.0, 300.0) == GridReading(5.0, 2_000.0, 300.0)
    # A meter that counts export as positive: 6 kW export starts pv charging.
    controller = SurplusController(settings)
    car = plugged_car()
    for t in range(0, 70, 10):
        decision = controller.step(t, ChargeMode.PV, car, settings.reading(t, 6_000.0))
    assert (decision.action, decision.amps) == (Action.START, 5)


def test_fast_sensor_updates_are_merged() -> None:
    rig = Rig()
    first = rig.grid(-1_100.0)
    assert first.evaluated
    merged = [rig.grid(grid, at=t) for t, grid in ((2, -2_100.0), (4, -3_100.0), (6, -4_100.0))]
    assert all(not d.evaluated and d.action is Action.NONE for d in merged)
    assert all(d.surplus_w == 1_000.0 for d in merged)  # the last evaluation's
    decision = rig.grid(-5_100.0, at=10)
    assert decision.evaluated
    assert decision.surplus_w == 3_500.0  # the mean of the four readings since
    # A change of mode is evaluated at once.
    rig.mode = ChargeMode.MANUAL
    assert rig.grid(-5_100.0, at=12).state is PvState.IDLE


def test_a_reading_seen_twice_counts_once_and_holds() -> None:
    controller = SurplusController()
    reading = GridReading(0.0, -4_100.0)
    assert controller.step(0.0, ChargeMode.PV, plugged_car(), reading).surplus_w == 4_000.0
    decision = controller.step(20.0, ChargeMode.PV, plugged_car(), reading)
    assert decision.evaluated
    assert decision.surplus_w == 4_000.0  # held: a meter that does not change reports nothing new


def test_readings_while_the_car_answers_a_command_are_skipped() -> None:
    rig = Rig(ChargeMode.MIN_PV)
    start = rig.grid(-2_100.0)
    assert start.surplus_w == 2_000.0
    rig.sent(start)
    # The car still draws nothing though the controller counts 5 A already: this reading would
    # overstate the surplus by 3450 W.
    assert rig.grid(-2_100.0, at=10).surplus_w == 2_000.0
    # Drawing 5 A now.
    assert rig.grid(-2_100.0 + 5 * PER_AMP, at=20).surplus_w == 2_000.0
    assert rig.grid(-2_600.0 + 5 * PER_AMP, at=30).surplus_w == 2_500.0


def test_only_readings_taken_while_answering_a_command() -> None:
    controller = SurplusController()
    controller.record_command(0.0, Action.STOP, None, ok=True)
    decision = controller.step(5.0, ChargeMode.PV, plugged_car(), GridReading(5.0, -9_000.0))
    assert (decision.surplus_w, decision.reason) == (None, Reason.GRID_UNAVAILABLE)


def test_phases_and_voltage_from_the_car() -> None:
    controller = SurplusController()
    car = charging_car(10, phases=1, voltage=240.0)
    assert controller.car_estimate.phases_and_voltage(car) == (1, 240.0)
    assert controller.car_estimate.power_w(car) == 2_400.0
    # Not charging, the car reports nothing useful: the values of this plug session stay.
    stopped = plugged_car(phases=None, voltage=2.0)
    assert controller.car_estimate.phases_and_voltage(stopped) == (1, 240.0)
    controller.step(0.0, ChargeMode.PV, plugged_car(plugged_in=False), None)
    assert controller.car_estimate.phases_and_voltage(stopped) == (3, 230.0)
    single = SurplusController(SurplusSettings(assumed_phases=1, assumed_voltage=120.0))
    assert single.car_estimate.phases_and_voltage(plugged_car()) == (1, 120.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_amps": 0}, "min_amps"),
        ({"max_amps": 4}, "max_amps"),
        ({"min_amps_step": 0}, "min_amps_step"),
        ({"assumed_phases": 4}, "assumed_phases"),
        ({"assumed_voltage": 12.0}, "assumed_voltage"),
        ({"battery_priority_soc": 101.0}, "battery_priority_soc"),
        ({"buffer_w": -1.0}, "buffer_w"),
        ({"enable_delay": -1.0}, "enable_delay"),
        ({"max_backoff": -1.0}, "max_backoff"),
    ],
)
def test_settings_are_validated(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SurplusSettings(**changes)  # type: ignore[arg-type]


def test_record_command_needs_a_command() -> None:
    with pytest.raises(ValueError, match=r"Action\.NONE"):
        SurplusController().record_command(0.0, Action.NONE, None, ok=True)


def test_reset_forgets_everything() -> None:
    rig = Rig(ChargeMode.FAST)
    rig.sent(rig.grid(0.0), ok=False)
    assert rig.grid(0.0, at=10).reason is Reason.COMMAND_BACKOFF
    rig.controller.reset()
    assert rig.controller.last_decision is None
    assert rig.grid(0.0, at=10).action is Action.START


def test_every_reason_has_an_english_text() -> None:
    assert set(REASON_TEXT) == set(Reason)
    params = {"surplus_w": 1, "needed_w": 2, "remaining_s": 3, "amps": 4, "target": 5}
    for reason in Reason:
        text = Decision(PvState.IDLE, reason, params=params).reason_text
        assert "{" not in text


def test_start_after_an_unknown_reading_in_the_hold_uses_the_minimum() -> None:
    """A grid outage inside the raise hold leaves no known lasting surplus: start at min, no crash."""
    controller = SurplusController(SurplusSettings(enable_delay=30, disable_delay=120))
    car = CarSnapshot(plugged_in=True, at_pv_location=True, charging=False, max_amps=16)
    now = 1000.0
    controller.step(now, ChargeMode.PV, car, None)
    starts = []
    for _ in range(8):
        now += 10
        decision = controller.step(now, ChargeMode.PV, car, GridReading(now, -8000))
        if decision.action is Action.START:
            starts.append(decision.amps)
    assert starts == [5]


def test_unknown_reading_while_charging_never_raises() -> None:
    """A grid outage in the history: the current is held, not raised on a meaningless minimum."""
    controller = SurplusController(SurplusSettings(enable_delay=30, disable_delay=120))
    car = CarSnapshot(
        plugged_in=True, at_pv_location=True, charging=True, max_amps=16, commanded_amps=6
    )
    now = 1000.0
    for _ in range(10):
        now += 10
        controller.step(now, ChargeMode.PV, car, GridReading(now, -1000))
    now += 10
    controller.step(now, ChargeMode.PV, car, None)
    actions = []
    for _ in range(6):
        now += 10
        decision = controller.step(now, ChargeMode.PV, car, GridReading(now, -3000))
        actions.append(decision.action)
    assert Action.SET_AMPS not in actions[:3]


def test_min_pv_raise_when_the_disable_delay_is_shorter_than_the_enable_delay() -> None:
    """The options allow a disable delay below the enable delay: after the start (whose raise hold
    is the disable delay) a lasting surplus raises the current over the shorter span."""
    settings = replace(SurplusSettings(), enable_delay=120, disable_delay=60)
    rig = Rig(ChargeMode.MIN_PV, settings=settings)
    start = rig.surplus(8 * PER_AMP)
    assert (start.action, start.amps) == (Action.START, 5)
    rig.sent(start)
    rig.car = charging_car(5, data_time=0.0)
    decision = rig.hold(8 * PER_AMP, until=300)
    # Raised, to what the last 60 s carried, as soon as the command interval lets a command go.
    assert rig.now == settings.min_command_interval
    assert (decision.action, decision.amps) == (Action.SET_AMPS, 8)
