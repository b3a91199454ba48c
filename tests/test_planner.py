"""The departure planner (pure): the cheapest slots, never a missed departure it could meet."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.tesla_wallbox.plan import (
    DepartureSettings,
    PlanRequest,
    PlanStatus,
    PriceSlot,
    PvPeriod,
    make_plan,
)
from custom_components.tesla_wallbox.plan.departure import (
    battery_kwh,
    charging_power_kw,
    learned_capacity,
    next_occurrence,
    parse_time,
)
from custom_components.tesla_wallbox.plan.planner import _charge_now

NOW = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hourly(start: datetime, prices: list[float], step: timedelta = HOUR) -> list[PriceSlot]:
    return [PriceSlot(start + step * i, start + step * (i + 1), p) for i, p in enumerate(prices)]


def request(**changes: object) -> PlanRequest:
    values: dict[str, object] = {
        "now": NOW,
        "departure": NOW + 13 * HOUR,  # 07:00 next day
        "soc": 50.0,
        "target_soc": 80.0,
        "battery_kwh": 75.0,
        "power_kw": 11.0,
        "efficiency": 1.0,
        "finish_margin": timedelta(0),
        # 18:00-07:00: an evening peak, a night valley at 02:00-04:00.
        "prices": hourly(
            NOW, [0.4, 0.45, 0.38, 0.3, 0.25, 0.2, 0.18, 0.1, 0.08, 0.12, 0.2, 0.28, 0.35]
        ),
    }
    values.update(changes)
    return PlanRequest(**values)  # type: ignore[arg-type]


def test_the_cheapest_hours_are_picked() -> None:
    plan = make_plan(request())
    # 22.5 kWh at 11 kW: 01:00-02:00 (0.10), 02:00-03:00 (0.08), and 0.5 kWh more of 03:00 (0.12).
    assert plan.status is PlanStatus.PLANNED
    assert plan.reachable
    starts = [slot.start.hour for slot in plan.slots]
    assert starts == [1, 2, 3]
    assert plan.grid_kwh == pytest.approx(22.5)
    assert plan.expected_cost == pytest.approx(11 * 0.10 + 11 * 0.08 + 0.5 * 0.12)
    assert plan.finish is not None
    assert plan.finish < plan.departure
    assert plan.grid_at(NOW + 7.5 * HOUR)
    assert not plan.grid_at(NOW + 2 * HOUR)


def test_target_reached_and_no_departure() -> None:
    assert make_plan(request(soc=80.0)).status is PlanStatus.TARGET_REACHED
    assert make_plan(request(soc=90.0)).slots == ()
    passed = make_plan(request(departure=NOW - HOUR))
    assert passed.status is PlanStatus.NO_DEPARTURE
    assert not passed.grid_at(NOW)
    assert make_plan(request(departure=None)).status is PlanStatus.NO_DEPARTURE


def test_unreachable_charges_now_and_says_so() -> None:
    plan = make_plan(request(soc=10.0, target_soc=100.0, departure=NOW + 3 * HOUR))
    assert plan.status is PlanStatus.UNREACHABLE
    assert not plan.reachable
    assert plan.slots[0].start == NOW
    assert plan.grid_at(NOW)
    # Full power all the way: 67.5 kWh at 11 kW, past the departure.
    assert plan.finish == NOW + timedelta(hours=67.5 / 11)
    assert sum(slot.energy_kwh for slot in plan.slots) == pytest.approx(67.5)


def test_barely_enough_time_charges_from_now() -> None:
    # 33 kWh at 11 kW is exactly 3 h: every hour until the departure is needed.
    plan = make_plan(request(soc=36.0, departure=NOW + 3 * HOUR))
    assert plan.status is PlanStatus.PLANNED
    assert plan.grid_at(NOW)
    assert plan.grid_kwh == pytest.approx(33.0)


def test_the_margin_is_given_up_rather_than_the_departure() -> None:
    margin = timedelta(minutes=30)
    roomy = make_plan(request(finish_margin=margin))
    assert roomy.finish is not None
    assert roomy.finish <= NOW + 13 * HOUR - margin
    # 143 kWh would need all 13 h: the plan uses the margin too, and is still reachable.
    tight = make_plan(request(soc=0.0, target_soc=100.0, battery_kwh=143.0, finish_margin=margin))
    assert tight.status is PlanStatus.PLANNED
    assert tight.finish == NOW + 13 * HOUR


def test_no_prices_fall_back_to_charging_now() -> None:
    plan = make_plan(request(prices=[]))
    assert plan.status is PlanStatus.FALLBACK
    assert plan.reachable
    assert plan.grid_at(NOW)
    assert plan.finish == NOW + timedelta(hours=22.5 / 11)


def test_a_gap_takes_yesterdays_price_else_the_highest() -> None:
    # Prices for 18:00-20:00 and 02:00-03:00 only; 20:00-02:00 is a gap.
    prices = hourly(NOW, [0.30, 0.30]) + hourly(NOW + 8 * HOUR, [0.50])
    plan = make_plan(request(prices=prices, soc=70.0, departure=NOW + 9 * HOUR))
    # 7.5 kWh: the known 0.30 hour first; the gap counts as 0.50 (the highest), used only if needed.
    assert plan.slots[0].start == NOW
    assert plan.slots[0].price == 0.30
    yesterday = hourly(NOW - 24 * HOUR + 4 * HOUR, [0.01])  # 22:00 a day earlier: very cheap
    plan = make_plan(request(prices=prices + yesterday, soc=70.0, departure=NOW + 9 * HOUR))
    assert plan.slots[0].start == NOW + 4 * HOUR
    assert plan.slots[0].estimated_price


def test_quarter_hour_slots() -> None:
    quarters = [0.30] * 52
    quarters[20] = 0.05  # 23:00-23:15
    quarters[21] = 0.06
    plan = make_plan(
        request(prices=hourly(NOW, quarters, timedelta(minutes=15)), soc=75.0, target_soc=80.0)
    )
    # 3.75 kWh: 2.75 in each cheap quarter, so the first and part of the second.
    assert plan.slots[0].start == NOW + timedelta(hours=5)
    assert plan.slots[0].end == NOW + timedelta(hours=5, minutes=15)
    assert plan.slots[1].end < NOW + timedelta(hours=5, minutes=30)
    assert plan.grid_kwh == pytest.approx(3.75)


def test_pv_is_used_before_the_grid() -> None:
    morning = NOW + 12 * HOUR  # 06:00-07:00, 10 kWh produced, 7 reach the car
    plan = make_plan(request(soc=75.0, pv=[PvPeriod(morning, morning + HOUR, 10.0)], pv_share=0.7))
    pv_slots = [slot for slot in plan.slots if not slot.grid]
    assert pv_slots
    assert pv_slots[0].start == morning
    assert pv_slots[0].energy_kwh == pytest.approx(3.75)
    assert plan.grid_kwh == 0
    assert plan.expected_cost == 0
    # Below the minimum power it does not count: PV charging would not start.
    weak = make_plan(request(soc=75.0, pv=[PvPeriod(morning, morning + HOUR, 1.0)], min_power_kw=4))
    assert all(slot.grid for slot in weak.slots)


def test_efficiency_costs_more_energy() -> None:
    plan = make_plan(request(efficiency=0.9, soc=70.0))
    # 7.5 kWh into the battery is 8.33 kWh drawn at 0.08.
    assert plan.expected_cost == pytest.approx(7.5 / 0.9 * 0.08)


def test_a_dst_night() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-03-29: clocks go from 02:00 to 03:00. 22:00 local on the 28th is 21:00 UTC.
    now = datetime(2026, 3, 28, 22, 0, tzinfo=berlin)
    departure = DepartureSettings().next_departure(now, berlin)
    assert departure == datetime(2026, 3, 29, 7, 0, tzinfo=berlin)
    assert departure.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=8)  # an hour short
    prices = hourly(now.astimezone(UTC), [0.3, 0.2, 0.1, 0.05, 0.2, 0.3, 0.3, 0.3])
    plan = make_plan(request(now=now, departure=departure, prices=prices, soc=70.0))
    # The cheapest hour is 00:00-01:00 UTC: 01:00-03:00 on the clock, which skips 02:00.
    assert plan.slots[0].start == datetime(2026, 3, 29, 1, 0, tzinfo=berlin)
    assert plan.slots[0].end <= datetime(2026, 3, 29, 3, 0, tzinfo=berlin)
    assert plan.finish is not None
    assert plan.finish <= departure


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        request(power_kw=0.0)
    with pytest.raises(ValueError, match="efficiency"):
        request(efficiency=1.5)
    with pytest.raises(ValueError, match="aware"):
        request(now=datetime(2026, 6, 15, 18, 0))


# ----- departures and the car -----------------------------------------------------------------


def test_next_departure_by_weekday_and_once() -> None:
    zone = ZoneInfo("Europe/Berlin")
    monday_evening = datetime(2026, 6, 15, 20, 0, tzinfo=zone)
    settings_ = DepartureSettings().with_weekday(1, time(6, 30))  # Tuesday
    assert settings_.next_departure(monday_evening, zone) == datetime(
        2026, 6, 16, 6, 30, tzinfo=zone
    )
    no_tuesday = settings_.with_weekday(1, None)
    assert no_tuesday.next_departure(monday_evening, zone) == datetime(
        2026, 6, 17, 7, 0, tzinfo=zone
    )
    none_at_all = DepartureSettings(weekdays=(None,) * 7)
    assert none_at_all.next_departure(monday_evening, zone) is None
    once = next_occurrence(monday_evening, time(5, 0), zone)
    assert once == datetime(2026, 6, 16, 5, 0, tzinfo=zone)
    assert next_occurrence(monday_evening, time(21, 0), zone).day == 15
    with_once = DepartureSettings(next_at=once)
    assert with_once.next_departure(monday_evening, zone) == once
    # Once it has passed, the weekdays apply again.
    later = once + HOUR
    assert with_once.next_departure(later, zone) == datetime(2026, 6, 16, 7, 0, tzinfo=zone)


def test_settings_survive_the_store_and_refuse_nonsense() -> None:
    settings_ = DepartureSettings(target_soc=90, next_at=NOW).with_weekday(6, None)
    assert DepartureSettings.from_dict(settings_.as_dict()) == settings_
    broken = {"weekdays": {"monday": "25:00", "tuesday": 7}, "next": "soon", "target_soc": 300}
    restored = DepartureSettings.from_dict(broken)
    assert restored == DepartureSettings()
    assert DepartureSettings.from_dict(None) == DepartureSettings()
    with pytest.raises(ValueError, match="target_soc"):
        DepartureSettings(target_soc=0)
    with pytest.raises(ValueError, match="weekday"):
        DepartureSettings(weekdays=(None,))
    assert parse_time("06:45:30") == time(6, 45)
    for bad in ("7", "07:00+01:00", 7):
        with pytest.raises(ValueError, match=r"time|format"):
            parse_time(bad)


def test_battery_and_power_from_the_car() -> None:
    assert battery_kwh("5YJ3E1EA7KF000001") == 75.0
    assert battery_kwh("5YJSA1E26MF000001") == 95.0
    assert battery_kwh("7G2CEHED0RA000001") == 123.0
    assert battery_kwh("XP7YGCEK0PB000001", 60.0) == 60.0
    # What the car's charging showed beats the model's figure; the option beats both.
    assert battery_kwh("5YJ3E1EA7KF000001", None, 57.5) == 57.5
    assert battery_kwh("5YJ3E1EA7KF000001", 60.0, 57.5) == 60.0
    assert battery_kwh("??????????") == 75.0
    assert charging_power_kw(3, 229, 16, assumed_phases=1, assumed_voltage=230) == pytest.approx(
        3 * 229 * 16 / 1000
    )
    # Not charging: the car reports 2 V and no phases; the assumed ones count, and the option's cap.
    assert charging_power_kw(
        0, 2, 32, assumed_phases=3, assumed_voltage=230, amps_cap=16
    ) == pytest.approx(11.04)
    assert charging_power_kw(None, None, None, assumed_phases=1, assumed_voltage=230) == (
        pytest.approx(3.68)
    )


# ----- properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    prices=st.lists(st.floats(min_value=-0.2, max_value=1.0), min_size=1, max_size=48),
    quarter=st.booleans(),
    soc=st.floats(min_value=0, max_value=100),
    target=st.floats(min_value=1, max_value=100),
    hours=st.floats(min_value=0.1, max_value=30),
    power=st.floats(min_value=1.0, max_value=22.0),
    battery=st.floats(min_value=20, max_value=130),
    offset=st.floats(min_value=-2, max_value=2),
)
def test_a_reachable_departure_is_always_met(
    prices: list[float],
    quarter: bool,
    soc: float,
    target: float,
    hours: float,
    power: float,
    battery: float,
    offset: float,
) -> None:
    step = timedelta(minutes=15) if quarter else HOUR
    departure = NOW + timedelta(hours=hours)
    req = request(
        prices=hourly(NOW + timedelta(hours=offset), prices, step),
        soc=soc,
        target_soc=target,
        departure=departure,
        power_kw=power,
        battery_kwh=battery,
        efficiency=0.9,
        finish_margin=timedelta(minutes=15),
    )
    plan = make_plan(req)
    needed = req.needed_kwh
    reachable = needed <= power * 0.9 * hours + 1e-6
    if needed <= 1e-6:
        assert plan.status is PlanStatus.TARGET_REACHED
        return
    assert plan.reachable == reachable
    assert sum(slot.energy_kwh for slot in plan.slots) == pytest.approx(needed, abs=1e-4)
    assert plan.finish is not None
    if reachable:
        assert plan.finish <= departure + timedelta(seconds=1)
        for slot in plan.slots:
            assert NOW <= slot.start < slot.end <= departure
            # No slot charges faster than the car can.
            length = (slot.end - slot.start).total_seconds() / 3600
            assert slot.energy_kwh <= power * 0.9 * length + 1e-6
        # Never dearer than charging from now on, by the same prices.
        charge_now = _charge_now(req, PlanStatus.UNREACHABLE, departure)
        assert plan.expected_cost <= charge_now.expected_cost + 1e-6
    else:
        assert plan.status is PlanStatus.UNREACHABLE
        assert plan.slots[0].start == NOW


def test_the_pack_size_from_a_charging_session() -> None:
    # 30 % -> 50 % with 11.5 kWh added: a 57.5 kWh pack.
    assert learned_capacity((30.0, 0.0), (50.0, 11.5)) == 57.5
    # Too few points to tell (whole percents), nothing added, or no Tesla pack's size.
    assert learned_capacity((30.0, 0.0), (44.0, 8.0)) is None
    assert learned_capacity((30.0, 2.0), (50.0, 2.0)) is None
    assert learned_capacity((30.0, 0.0), (50.0, 40.0)) is None
    assert learned_capacity((30.0, 0.0), (50.0, 4.0)) is None
