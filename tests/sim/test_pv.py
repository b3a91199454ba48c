"""The household power model: PV and house load traces, the home battery and the simulated car."""

from __future__ import annotations

import math

import pytest

from fleet_sim.pv import (
    DAY_S,
    HOUR_S,
    Appliance,
    HomeBattery,
    SimCar,
    Trace,
    clear_day,
    clear_sky,
    cloudy_day,
    grid_power,
    house_load,
    household_appliances,
    passing_clouds,
)

NOON = 13 * HOUR_S  # solar noon of the default 5:30-20:30 day


# -- Trace ----------------------------------------------------------------------------------------


def test_trace_interpolates_and_holds_its_edges() -> None:
    trace = Trace(10.0, 100.0, (0.0, 100.0, 50.0))
    assert trace.at(100.0) == 0.0
    assert trace.at(105.0) == pytest.approx(50.0)
    assert trace.at(115.0) == pytest.approx(75.0)
    assert trace.at(50.0) == 0.0  # before the first sample
    assert trace.at(500.0) == 50.0  # after the last
    assert trace.end_s == 120.0
    assert len(trace) == 3
    assert list(trace) == [0.0, 100.0, 50.0]
    assert list(trace.times()) == [100.0, 110.0, 120.0]
    assert list(trace.samples()) == [(100.0, 0.0), (110.0, 100.0), (120.0, 50.0)]
    assert trace.peak() == 100.0


def test_trace_energy_and_transformations() -> None:
    trace = Trace.from_function(lambda t: 1000.0, step_s=60.0, start_s=0.0, end_s=HOUR_S)
    assert len(trace) == 60
    assert trace.energy_wh() == pytest.approx(1000.0)
    assert trace.scaled(0.5).energy_wh() == pytest.approx(500.0)
    assert trace.map(lambda v: v + 1).values[0] == 1001.0
    fine = trace.resampled(30.0)
    assert fine.step_s == 30.0
    # The same span, [start_s, end_s + step_s): the same energy.
    assert (fine.start_s, fine.end_s) == (0.0, HOUR_S - 30.0)
    assert fine.energy_wh() == pytest.approx(trace.energy_wh())
    assert fine.at(45.0) == pytest.approx(1000.0)
    other = Trace(30.0, 0.0, tuple(float(i) for i in range(121)))
    difference = trace.minus(other)
    assert difference.at(60.0) == pytest.approx(1000.0 - 2.0)
    assert difference.step_s == trace.step_s


def test_trace_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="step_s"):
        Trace(0.0, 0.0, (1.0,))
    with pytest.raises(ValueError, match="at least one sample"):
        Trace(10.0, 0.0, ())
    with pytest.raises(ValueError, match="step_s"):
        Trace.from_function(lambda t: 0.0, step_s=-1.0)
    # An empty span still yields one sample.
    assert len(Trace.from_function(lambda t: 7.0, start_s=5.0, end_s=5.0)) == 1


# -- PV -------------------------------------------------------------------------------------------


def test_clear_day_is_a_smooth_arch_peaking_at_solar_noon() -> None:
    day = clear_day(peak_w=9_000.0, step_s=60.0)
    assert len(day) == DAY_S / 60
    assert day.at(3 * HOUR_S) == 0.0
    assert day.at(22 * HOUR_S) == 0.0
    assert day.peak() == pytest.approx(9_000.0, rel=1e-3)
    assert day.at(NOON) == pytest.approx(9_000.0, rel=1e-3)
    assert day.at(NOON - 2 * HOUR_S) == pytest.approx(day.at(NOON + 2 * HOUR_S))
    # A 9 kW (AC) array on a long clear summer day: 7-8 kWh per kWp of a 10 kWp roof.
    assert 70_000 < day.energy_wh() < 85_000
    steps = [abs(b - a) for a, b in zip(day.values, day.values[1:], strict=False)]
    assert max(steps) < 100.0  # never more than 100 W per minute


def test_clear_day_options() -> None:
    small = clear_day(peak_w=5_000.0, sunrise_h=7.0, sunset_h=17.0, step_s=300.0)
    assert small.peak() == pytest.approx(5_000.0, rel=1e-2)
    assert small.at(6.9 * HOUR_S) == 0.0
    assert small.at(12 * HOUR_S) == pytest.approx(5_000.0)
    part = clear_day(start_s=10 * HOUR_S, end_s=11 * HOUR_S)
    assert part.start_s == 10 * HOUR_S
    assert len(part) == 360
    assert clear_sky(NOON, peak_w=1.0, sunrise_h=5.5, sunset_h=20.5) == pytest.approx(1.0)


def _swings_per_hour(trace: Trace, start_h: float, end_h: float, threshold_w: float) -> float:
    """How often production moves by more than threshold_w within a minute, per hour."""
    count = 0
    t = start_h * HOUR_S
    while t < end_h * HOUR_S:
        if abs(trace.at(t + 60) - trace.at(t)) > threshold_w:
            count += 1
        t += 60
    return count / (end_h - start_h)


def test_cloudy_day_swings_fast_and_is_seeded() -> None:
    clear = clear_day()
    cloudy = cloudy_day(seed=1)
    assert cloudy == cloudy_day(seed=1)
    assert cloudy != cloudy_day(seed=2)
    assert all(v <= clear.at(t) + 1e-6 for t, v in cloudy.samples())
    # Around noon the sun comes and goes several times an hour, by kilowatts within a minute.
    assert _swings_per_hour(cloudy, 10, 16, 2_000.0) >= 10
    # Broken cloud: between a quarter and three quarters of the clear-sky energy.
    assert 0.25 < cloudy.energy_wh() / clear.energy_wh() < 0.75


def test_passing_clouds_are_mostly_sunny_with_dips() -> None:
    clear = clear_day()
    passing = passing_clouds(seed=3)
    assert passing == passing_clouds(seed=3)
    daylight = [(t, v) for t, v in passing.samples() if clear.at(t) > 1_000]
    sunny = sum(1 for t, v in daylight if v >= clear.at(t) * 0.999)
    assert sunny / len(daylight) > 0.7
    deepest = min(v / clear.at(t) for t, v in daylight)
    assert 0.3 <= deepest < 0.6
    assert 0.8 < passing.energy_wh() / clear.energy_wh() < 0.97


# -- house load -----------------------------------------------------------------------------------


def test_appliance_with_a_thermostat() -> None:
    oven = Appliance("oven", 1_000.0, 1_000.0, 2_500.0, on_s=60.0, off_s=90.0, preheat_s=600.0)
    assert oven.power(999.0) == 0.0
    assert oven.power(1_500.0) == 2_500.0  # preheating
    assert oven.power(1_600.0 + 30.0) == 2_500.0  # thermostat on
    assert oven.power(1_600.0 + 100.0) == 0.0  # thermostat off
    assert oven.power(2_000.0) == 0.0  # finished
    kettle = Appliance("kettle", 0.0, 180.0, 2_000.0)
    assert kettle.power(90.0) == 2_000.0


def test_household_appliances_are_seeded_and_sorted() -> None:
    runs = household_appliances(seed=4)
    assert runs == household_appliances(seed=4)
    assert runs != household_appliances(seed=5)
    assert [r.start_s for r in runs] == sorted(r.start_s for r in runs)
    names = {r.name for r in runs}
    assert {"kettle", "oven", "washing machine", "dishwasher"} <= names


def test_house_load_has_base_load_and_spikes() -> None:
    load = house_load(seed=2)
    assert load == house_load(seed=2)
    night = [v for t, v in load.samples() if 1 * HOUR_S <= t < 5 * HOUR_S]
    assert min(night) >= 200
    assert max(night) <= 400
    assert load.peak() >= 2_000  # kettle, oven
    # A family home that cooks electrically: 4,000-6,000 kWh a year, 11-17 kWh a day.
    assert 11_000 < load.energy_wh() < 17_000
    quiet = house_load(appliances=[], noise_w=0.0, base_w=300.0, step_s=60.0)
    assert quiet.at(2 * HOUR_S) in (300.0, 390.0)  # base, plus the fridge when it runs
    assert quiet.peak() <= 300.0 + 350.0 + 90.0


def test_grid_power_signs() -> None:
    assert grid_power(pv_w=5_000, house_w=500, car_w=0) == -4_500  # export
    assert grid_power(pv_w=0, house_w=500, car_w=3_000) == 3_500  # import
    assert grid_power(pv_w=5_000, house_w=500, car_w=3_000, battery_w=1_500) == 0


# -- home battery ---------------------------------------------------------------------------------


def test_battery_charges_from_export_within_its_limits() -> None:
    battery = HomeBattery(capacity_wh=10_000, max_charge_w=3_000, soc=50.0, efficiency=1.0)
    assert battery.step(-2_000.0, HOUR_S) == 2_000.0
    assert battery.soc == pytest.approx(70.0)
    assert battery.step(-5_000.0, HOUR_S) == 3_000.0  # power limit
    assert battery.soc == pytest.approx(100.0)
    assert battery.step(-5_000.0, HOUR_S) == 0.0  # full
    assert battery.energy_wh == pytest.approx(10_000.0)


def test_battery_discharges_to_cover_import_down_to_min_soc() -> None:
    battery = HomeBattery(capacity_wh=10_000, max_discharge_w=4_000, soc=30.0, min_soc=10.0)
    assert battery.step(5_000.0, 60.0) == -4_000.0  # power limit
    battery.soc = 10.5
    power = battery.power_for(1_000.0, HOUR_S)
    assert power == pytest.approx(-10_000 * 0.005 * 0.95)  # only what is left above min_soc
    battery.step(1_000.0, HOUR_S)
    assert battery.soc == pytest.approx(10.0)
    assert battery.step(1_000.0, 60.0) == 0.0


def test_battery_losses_and_zero_time() -> None:
    battery = HomeBattery(capacity_wh=10_000, soc=50.0, efficiency=0.9)
    battery.step(-1_000.0, HOUR_S)
    assert battery.soc == pytest.approx(59.0)
    battery.step(900.0, HOUR_S)
    assert battery.soc == pytest.approx(49.0)
    assert battery.power_for(-1_000.0, 0.0) == 0.0
    assert battery.power_for(1_000.0, 0.0) == 0.0


# -- the simulated car ----------------------------------------------------------------------------


def test_car_starts_after_its_start_delay() -> None:
    car = SimCar(start_delay_s=20.0, amps_delay_s=(5.0, 5.0))
    car.start(0.0, amps=8)
    assert car.charging  # Starting
    assert car.advance(10.0, 10.0) == 0.0
    assert car.advance(20.0, 10.0) == 8 * 3 * 230.0
    assert car.requested_amps == 8


def test_car_follows_amps_after_a_delay() -> None:
    car = SimCar(amps_delay_s=(10.0, 10.0), start_delay_s=0.0)
    car.start(0.0, amps=10)
    car.advance(10.0, 10.0)
    car.set_amps(20.0, 6)
    assert car.advance(25.0, 5.0) == 10 * 690.0
    assert car.advance(30.0, 5.0) == 6 * 690.0
    car.set_amps(40.0, 99)
    assert car.requested_amps == car.max_amps


def test_car_amps_change_while_stopped_applies_at_the_next_start() -> None:
    car = SimCar(amps_delay_s=(1.0, 1.0), start_delay_s=5.0)
    car.set_amps(0.0, 7)
    assert car.advance(2.0, 2.0) == 0.0
    car.start(2.0)
    assert car.advance(10.0, 8.0) == 7 * 690.0


def test_car_stops_and_stops_at_its_limit() -> None:
    car = SimCar(soc=79.99, charge_limit_soc=80, start_delay_s=0.0, stop_delay_s=5.0)
    car.start(0.0, amps=16)
    car.advance(0.0, 0.0)
    car.stop(10.0)
    assert not car.charging
    assert car.advance(12.0, 2.0) > 0  # the contactor opens a moment later
    assert car.advance(15.0, 3.0) == 0.0
    car.start(20.0)
    assert car.advance(20.0, HOUR_S) > 0
    assert car.complete
    assert not car.charging
    assert car.advance(HOUR_S, 10.0) == 0.0
    assert car.soc >= 80


def test_unplugging_ends_charging() -> None:
    car = SimCar(start_delay_s=0.0)
    car.start(0.0, amps=16)
    car.set_amps(1.0, 10)
    car.plug(False)
    assert not car.charging
    assert car.advance(30.0, 10.0) == 0.0
    car.plug(True)
    assert car.advance(40.0, 10.0) == 0.0
    assert math.isclose(car.soc, 30.0)
