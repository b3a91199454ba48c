"""Solar production, house load, a home battery and a charging car: a small household power model.

Everything here is pure and deterministic (seeded), stdlib only. The traces feed the surplus
algorithm's tests, the benchmark's simulated day and the demo's grid power sensor.

Sign conventions, used throughout:
- PV production, house load and car power are positive watts.
- Grid power is positive when importing from the grid and negative when exporting to it.
- Home battery power is positive while the battery charges and negative while it discharges.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
import math
import random

DAY_S = 86_400.0
HOUR_S = 3_600.0


@dataclass(frozen=True, slots=True)
class Trace:
    """Power samples in W at a fixed step from a time of day.

    values[i] is the power at start_s + i * step_s seconds after midnight. Between samples the power
    is interpolated linearly; before the first and after the last sample it holds the edge value.
    """

    step_s: float
    start_s: float
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.step_s <= 0:
            raise ValueError("step_s must be positive")
        if not self.values:
            raise ValueError("a trace needs at least one sample")

    @classmethod
    def from_function(
        cls,
        power_at: Callable[[float], float],
        *,
        step_s: float = 10.0,
        start_s: float = 0.0,
        end_s: float = DAY_S,
    ) -> Trace:
        """Sample power_at(t) at every step from start_s up to, not including, end_s."""
        if step_s <= 0:
            raise ValueError("step_s must be positive")
        count = max(1, math.ceil((end_s - start_s) / step_s - 1e-9))
        return cls(step_s, start_s, tuple(power_at(start_s + i * step_s) for i in range(count)))

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[float]:
        return iter(self.values)

    @property
    def end_s(self) -> float:
        """The time of the last sample."""
        return self.start_s + (len(self.values) - 1) * self.step_s

    def at(self, t: float) -> float:
        """The power at t seconds after midnight, interpolated between samples."""
        position = (t - self.start_s) / self.step_s
        if position <= 0:
            return self.values[0]
        last = len(self.values) - 1
        if position >= last:
            return self.values[last]
        index = int(position)
        fraction = position - index
        low = self.values[index]
        return low + (self.values[index + 1] - low) * fraction

    def times(self) -> Iterator[float]:
        """The time of day of every sample."""
        return (self.start_s + i * self.step_s for i in range(len(self.values)))

    def samples(self) -> Iterator[tuple[float, float]]:
        """(time of day, power) for every sample."""
        return zip(self.times(), self.values, strict=True)

    def energy_wh(self) -> float:
        """The energy of the trace in Wh, each sample held for one step."""
        return sum(self.values) * self.step_s / HOUR_S

    def peak(self) -> float:
        """The highest sample."""
        return max(self.values)

    def map(self, fn: Callable[[float], float]) -> Trace:
        """A trace with fn applied to every sample."""
        return Trace(self.step_s, self.start_s, tuple(fn(v) for v in self.values))

    def scaled(self, factor: float) -> Trace:
        """This trace times factor."""
        return self.map(lambda v: v * factor)

    def resampled(self, step_s: float) -> Trace:
        """The span [start_s, end_s + step_s) sampled every step_s seconds (interpolated)."""
        return Trace.from_function(
            self.at, step_s=step_s, start_s=self.start_s, end_s=self.end_s + self.step_s
        )

    def minus(self, other: Trace) -> Trace:
        """This trace minus other, at this trace's sample times (e.g. PV minus house load)."""
        return Trace(
            self.step_s,
            self.start_s,
            tuple(v - other.at(t) for t, v in self.samples()),
        )


def _hours(h: float) -> float:
    return h * HOUR_S


def clear_sky(t: float, *, peak_w: float, sunrise_h: float, sunset_h: float) -> float:
    """Clear-sky production at t seconds after midnight: a sine arch, slightly narrowed.

    The exponent 1.25 narrows the arch as the low sun's longer air path does near dawn and dusk.
    """
    day = _hours(sunset_h) - _hours(sunrise_h)
    x = (t - _hours(sunrise_h)) / day
    if x <= 0.0 or x >= 1.0:
        return 0.0
    return peak_w * float(math.sin(math.pi * x) ** 1.25)


def clear_day(
    *,
    peak_w: float = 9_000.0,
    step_s: float = 10.0,
    sunrise_h: float = 5.5,
    sunset_h: float = 20.5,
    start_s: float = 0.0,
    end_s: float = DAY_S,
) -> Trace:
    """A cloudless summer day of a peak_w array (default 9 kW AC peak, a 10 kWp roof)."""
    return Trace.from_function(
        lambda t: clear_sky(t, peak_w=peak_w, sunrise_h=sunrise_h, sunset_h=sunset_h),
        step_s=step_s,
        start_s=start_s,
        end_s=end_s,
    )


@dataclass(frozen=True, slots=True)
class _Shade:
    """A cloud over the array: transmission falls to `factor` with ramps of `edge_s`."""

    start_s: float
    end_s: float
    factor: float
    edge_s: float

    def transmission(self, t: float) -> float:
        if t <= self.start_s or t >= self.end_s:
            return 1.0
        ramp = min(t - self.start_s, self.end_s - t, self.edge_s) / self.edge_s
        return 1.0 - (1.0 - self.factor) * ramp


def _shaded(
    shades: list[_Shade],
    *,
    peak_w: float,
    step_s: float,
    sunrise_h: float,
    sunset_h: float,
    start_s: float,
    end_s: float,
) -> Trace:
    starts = [s.start_s for s in shades]

    def power(t: float) -> float:
        clear = clear_sky(t, peak_w=peak_w, sunrise_h=sunrise_h, sunset_h=sunset_h)
        index = bisect_right(starts, t) - 1
        return clear * (shades[index].transmission(t) if index >= 0 else 1.0)

    return Trace.from_function(power, step_s=step_s, start_s=start_s, end_s=end_s)


def cloudy_day(
    *,
    peak_w: float = 9_000.0,
    step_s: float = 10.0,
    seed: int = 1,
    sunrise_h: float = 5.5,
    sunset_h: float = 20.5,
    start_s: float = 0.0,
    end_s: float = DAY_S,
) -> Trace:
    """Broken cumulus all day: sunny spells and shade alternate every one to four minutes.

    Sun lasts 30 s to 4 min (mean 100 s), shade 30 s to 5 min (mean 120 s) at 15-40 % of clear sky,
    with 10-20 s edges: the fast swings that make a naive controller chase the sun.
    """
    rng = random.Random(seed)
    shades: list[_Shade] = []
    t = _hours(sunrise_h)
    while t < _hours(sunset_h):
        t += min(max(rng.expovariate(1 / 100), 30.0), 240.0)
        length = min(max(rng.expovariate(1 / 120), 30.0), 300.0)
        shades.append(_Shade(t, t + length, rng.uniform(0.15, 0.4), rng.uniform(10.0, 20.0)))
        t += length
    return _shaded(
        shades,
        peak_w=peak_w,
        step_s=step_s,
        sunrise_h=sunrise_h,
        sunset_h=sunset_h,
        start_s=start_s,
        end_s=end_s,
    )


def passing_clouds(
    *,
    peak_w: float = 9_000.0,
    step_s: float = 10.0,
    seed: int = 1,
    sunrise_h: float = 5.5,
    sunset_h: float = 20.5,
    start_s: float = 0.0,
    end_s: float = DAY_S,
) -> Trace:
    """A sunny day with a cloud every 10 to 60 minutes (mean 25), each 2 to 10 minutes long.

    A cloud cuts production to 30-60 % of clear sky, with 30-90 s edges.
    """
    rng = random.Random(seed)
    shades: list[_Shade] = []
    t = _hours(sunrise_h)
    while t < _hours(sunset_h):
        t += min(max(rng.expovariate(1 / 1500), 600.0), 3600.0)
        length = rng.uniform(120.0, 600.0)
        edge = min(rng.uniform(30.0, 90.0), length / 2)
        shades.append(_Shade(t, t + length, rng.uniform(0.3, 0.6), edge))
        t += length
    return _shaded(
        shades,
        peak_w=peak_w,
        step_s=step_s,
        sunrise_h=sunrise_h,
        sunset_h=sunset_h,
        start_s=start_s,
        end_s=end_s,
    )


@dataclass(frozen=True, slots=True)
class Appliance:
    """An appliance run: `power_w` from start_s for duration_s.

    With a thermostat (on_s, off_s) the element switches on and off after the first on_s of
    preheating, the way an oven or a kettle-less hob holds its temperature.
    """

    name: str
    start_s: float
    duration_s: float
    power_w: float
    on_s: float | None = None
    off_s: float | None = None
    preheat_s: float = 0.0

    def power(self, t: float) -> float:
        """The appliance's draw at t."""
        elapsed = t - self.start_s
        if elapsed < 0 or elapsed >= self.duration_s:
            return 0.0
        if self.on_s is None or self.off_s is None or elapsed < self.preheat_s:
            return self.power_w
        phase = (elapsed - self.preheat_s) % (self.on_s + self.off_s)
        return self.power_w if phase < self.on_s else 0.0


def household_appliances(seed: int = 1) -> list[Appliance]:
    """A day of appliance runs for a family home, with seeded jitter on times and lengths."""
    rng = random.Random(seed)

    def at(h: float, jitter_min: float = 20.0) -> float:
        return _hours(h) + rng.uniform(-jitter_min, jitter_min) * 60.0

    runs = [
        Appliance("kettle", at(6.8), rng.uniform(150, 210), 2_000.0),
        Appliance("coffee", at(7.1), 90.0, 1_400.0),
        Appliance("toaster", at(7.2), 180.0, 900.0),
        Appliance("kettle", at(10.5, 40), rng.uniform(150, 210), 2_000.0),
        Appliance("hob", at(12.0), 1_200.0, 1_800.0, on_s=45.0, off_s=45.0, preheat_s=300.0),
        Appliance(
            "oven",
            at(12.2),
            2_700.0,
            2_500.0,
            on_s=rng.uniform(50, 70),
            off_s=80.0,
            preheat_s=900.0,
        ),
        Appliance("kettle", at(15.5, 30), rng.uniform(150, 210), 2_000.0),
        Appliance("washing machine heat", at(10.0, 60), 900.0, 2_000.0),
        Appliance("dishwasher heat", at(13.5, 30), 1_200.0, 2_100.0),
        Appliance("oven", at(18.5), 3_000.0, 2_800.0, on_s=60.0, off_s=90.0, preheat_s=900.0),
        Appliance("kettle", at(20.5, 30), rng.uniform(150, 210), 2_000.0),
        Appliance("hair dryer", at(21.5, 30), 420.0, 1_600.0),
    ]
    # The washing machine's motor phase follows its heating phase.
    wash = next(r for r in runs if r.name == "washing machine heat")
    runs.append(Appliance("washing machine", wash.start_s + wash.duration_s, 3_000.0, 350.0))
    dish = next(r for r in runs if r.name == "dishwasher heat")
    runs.append(Appliance("dishwasher", dish.start_s + dish.duration_s, 2_400.0, 120.0))
    return sorted(runs, key=lambda r: r.start_s)


def house_load(
    *,
    base_w: float = 250.0,
    step_s: float = 10.0,
    seed: int = 1,
    appliances: list[Appliance] | None = None,
    noise_w: float = 25.0,
    start_s: float = 0.0,
    end_s: float = DAY_S,
) -> Trace:
    """A family home's consumption: base load, a fridge cycling, day-time use, appliance spikes.

    Base load (standby, network, heating pump) plus 100-350 W of lights and devices by day and in
    the evening, a 90 W fridge running 15 of every 40 minutes, the household_appliances() runs
    (kettle, hob, oven, washing machine, dishwasher...) and seeded noise of +-noise_w.
    """
    runs = household_appliances(seed) if appliances is None else appliances
    noise = random.Random(seed * 7919 + 1)
    fridge_phase = noise.uniform(0, 2_400)

    def power(t: float) -> float:
        hour = (t % DAY_S) / HOUR_S
        w = base_w
        if 6.5 <= hour < 8.5:
            w += 200.0
        elif 8.5 <= hour < 17.5:
            w += 100.0
        elif 17.5 <= hour < 23.0:
            w += 350.0
        if (t + fridge_phase) % 2_400 < 900:
            w += 90.0
        w += sum(run.power(t) for run in runs)
        return max(0.0, w + noise.uniform(-noise_w, noise_w))

    return Trace.from_function(power, step_s=step_s, start_s=start_s, end_s=end_s)


def grid_power(pv_w: float, house_w: float, car_w: float, battery_w: float = 0.0) -> float:
    """Power at the grid meter: positive import, negative export.

    battery_w is positive while the home battery charges, negative while it discharges.
    """
    return house_w + car_w + battery_w - pv_w


@dataclass(slots=True)
class HomeBattery:
    """A home battery whose inverter holds the grid at zero, as far as its limits allow.

    It charges from export and discharges to cover import, stepped with `step`. soc is in %;
    `efficiency` is applied one way on charging and the other on discharging.
    """

    capacity_wh: float = 10_000.0
    max_charge_w: float = 5_000.0
    max_discharge_w: float = 5_000.0
    soc: float = 20.0
    min_soc: float = 5.0
    max_soc: float = 100.0
    efficiency: float = 0.95

    @property
    def energy_wh(self) -> float:
        """Stored energy."""
        return self.capacity_wh * self.soc / 100.0

    def power_for(self, net_w: float, dt_s: float) -> float:
        """The battery power that would answer a net grid demand (house + car - PV) for dt_s.

        Positive (charging) for export, negative (discharging) for import, limited by power and by
        the energy room left. Does not change the state; `step` does.
        """
        hours = dt_s / HOUR_S
        if net_w < 0:
            room_wh = max(0.0, (self.max_soc - self.soc) / 100.0 * self.capacity_wh)
            limit = room_wh / (hours * self.efficiency) if hours > 0 else 0.0
            return min(-net_w, self.max_charge_w, limit)
        stored_wh = max(0.0, (self.soc - self.min_soc) / 100.0 * self.capacity_wh)
        limit = stored_wh * self.efficiency / hours if hours > 0 else 0.0
        return -min(net_w, self.max_discharge_w, limit)

    def step(self, net_w: float, dt_s: float) -> float:
        """Answer a net grid demand for dt_s seconds; returns the battery power (+ charging)."""
        power = self.power_for(net_w, dt_s)
        hours = dt_s / HOUR_S
        # Losses: less is stored than charged, more is taken than delivered.
        stored = power * hours * (self.efficiency if power >= 0 else 1 / self.efficiency)
        self.soc = min(self.max_soc, max(0.0, self.soc + stored / self.capacity_wh * 100.0))
        return power


@dataclass(slots=True)
class SimCar:
    """A car on a charger: follows charge commands after realistic delays and stops at its limit.

    Commands take effect later: a new current after amps_delay_s (drawn per command from the
    range), a start after start_delay_s (the car reports "Starting" meanwhile and draws nothing), a
    stop after stop_delay_s. Energy goes into the battery with charge_efficiency. soc is in %.
    """

    capacity_wh: float = 75_000.0
    soc: float = 30.0
    charge_limit_soc: int = 90
    max_amps: int = 16
    phases: int = 3
    voltage: float = 230.0
    plugged_in: bool = True
    requested_amps: int = 16
    amps_delay_s: tuple[float, float] = (5.0, 15.0)
    start_delay_s: float = 20.0
    stop_delay_s: float = 5.0
    charge_efficiency: float = 0.9
    seed: int = 1
    actual_amps: int = 0
    charge_enabled: bool = False
    _events: list[tuple[float, str, int]] = field(default_factory=list, init=False, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def plug(self, plugged_in: bool) -> None:
        """Plug the cable in or pull it out (pulling it ends charging, drops pending commands)."""
        self.plugged_in = plugged_in
        if not plugged_in:
            self.charge_enabled = False
            self.actual_amps = 0
            self._events.clear()

    # commands, as the Fleet API would deliver them
    def set_amps(self, now: float, amps: int) -> None:
        """set_charging_amps: the request changes now, the drawn current after a delay."""
        amps = max(0, min(amps, self.max_amps))
        self.requested_amps = amps
        self._events.append((now + self._rng.uniform(*self.amps_delay_s), "amps", amps))

    def start(self, now: float, amps: int | None = None) -> None:
        """charge_start, optionally after set_charging_amps."""
        if amps is not None:
            self.set_amps(now, amps)
        self.charge_enabled = True
        self._events.append((now + self.start_delay_s, "start", 0))

    def stop(self, now: float) -> None:
        """charge_stop."""
        self.charge_enabled = False
        self._events.append((now + self.stop_delay_s, "stop", 0))

    @property
    def complete(self) -> bool:
        """Whether the battery has reached the charge limit."""
        return self.soc >= self.charge_limit_soc

    @property
    def charging(self) -> bool:
        """Tesla's Starting or Charging: charging is enabled, plugged in and not complete."""
        return self.plugged_in and self.charge_enabled and not self.complete

    @property
    def power_w(self) -> float:
        """The power drawn from the grid connection right now (it lags the commands)."""
        if not self.plugged_in or self.complete:
            return 0.0
        return self.actual_amps * self.phases * self.voltage

    def advance(self, now: float, dt_s: float) -> float:
        """Apply due command effects at `now`, then charge for dt_s; returns the power drawn."""
        due = [e for e in self._events if e[0] <= now]
        self._events = [e for e in self._events if e[0] > now]
        for _, kind, amps in sorted(due):
            if kind == "amps":
                if self.actual_amps > 0:
                    self.actual_amps = amps
            elif kind == "start":
                if self.charge_enabled:
                    self.actual_amps = self.requested_amps
            elif not self.charge_enabled:
                self.actual_amps = 0
        power = self.power_w
        if power > 0:
            added_wh = power * dt_s / HOUR_S * self.charge_efficiency
            self.soc = min(100.0, self.soc + added_wh / self.capacity_wh * 100.0)
            if self.complete:
                self.charge_enabled = False
                self.actual_amps = 0
        return power
