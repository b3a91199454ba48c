"""The pure wallbox model: status codes, phases and power, soft target, plug sessions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.tesla_wallbox.wallbox import (
    ChargeData,
    Connection,
    LevelProjection,
    WallboxState,
    WallboxStatus,
    compute_status,
    effective_target,
    soft_target_reached,
)


def charge(**fields: object) -> ChargeData:
    base: dict[str, object] = {"charging_state": "Stopped", "battery_level": 50}
    base.update(fields)
    return ChargeData.from_api(base)


@pytest.mark.parametrize(
    ("state", "at_pv", "session_charged", "requested", "expected"),
    [
        ("Disconnected", True, False, None, WallboxStatus.NOT_READY),
        ("Stopped", False, False, None, WallboxStatus.READY),
        ("Stopped", True, False, None, WallboxStatus.READY_FOR_PV),
        ("Stopped", True, False, False, WallboxStatus.READY_FOR_PV),
        ("Starting", False, False, None, WallboxStatus.CHARGING),
        ("Charging", True, True, True, WallboxStatus.CHARGING),
        ("Complete", True, True, None, WallboxStatus.STOPPED),
        ("Stopped", True, True, False, WallboxStatus.STOPPED),
        ("Stopped", True, True, None, WallboxStatus.STOPPED),
        ("NoPower", True, True, True, WallboxStatus.INTERRUPTED),
        ("Stopped", False, True, True, WallboxStatus.INTERRUPTED),
        ("Stopped", False, False, True, WallboxStatus.INTERRUPTED),
    ],
)
def test_status_definitions(
    state: str, at_pv: bool, session_charged: bool, requested: bool | None, expected: WallboxStatus
) -> None:
    status = compute_status(
        charge(charging_state=state),
        at_pv_location=at_pv,
        session_charged=session_charged,
        charge_requested=requested,
    )
    assert status is expected


def test_status_unknown_without_data() -> None:
    assert (
        compute_status(None, at_pv_location=True, session_charged=True, charge_requested=True)
        is WallboxStatus.NOT_READY
    )
    assert WallboxStatus.READY_FOR_PV.key == "ready_for_pv"


@pytest.mark.parametrize(
    ("kw", "volts", "amps", "phases", "power"),
    [
        (11, 230, 16, 3, 11040),  # three phases: the car reports charger_phases 2
        (4, 230, 16, 1, 3680),
        (7, 230, 16, 2, 7360),
        (3, 230, 5, 3, 3450),
        (8, 240, 32, 1, 7680),
        (0, 230, 16, 1, 3680),  # power rounds to 0 kW: still one phase
        (30, 230, 6, 3, 4140),  # nonsense power: clamped to three
    ],
)
def test_phases_and_power(kw: float, volts: int, amps: int, phases: int, power: int) -> None:
    data = charge(
        charging_state="Charging",
        charger_power=kw,
        charger_voltage=volts,
        charger_actual_current=amps,
    )
    assert data.phases == phases
    assert data.power == power


def test_no_phases_when_not_charging() -> None:
    data = charge(
        charging_state="Stopped", charger_power=11, charger_voltage=230, charger_actual_current=16
    )
    assert data.phases == 0
    assert data.power == 0
    starting = charge(charging_state="Charging", charger_voltage=0, charger_actual_current=0)
    assert starting.phases == 0


def test_from_api_ignores_junk() -> None:
    data = ChargeData.from_api(
        {
            "charging_state": 5,
            "battery_level": "80",
            "charge_limit_soc": True,
            "charger_power": float("nan"),
            "charge_energy_added": 3,
            "charger_voltage": 229.6,
            "conn_charge_cable": None,
        }
    )
    assert data.charging_state is None
    assert data.battery_level is None
    assert data.charge_limit_soc is None
    assert data.charger_power is None
    assert data.charge_energy_added == 3.0
    assert data.charger_voltage == 230
    assert not data.plugged_in
    assert data.as_dict()["charger_voltage"] == 230


def test_soft_target_rules() -> None:
    assert effective_target(80, None) == 80
    assert effective_target(50, 40) == 40
    assert effective_target(None, None) is None
    assert soft_target_reached(charge(battery_level=40), 40)
    assert not soft_target_reached(charge(battery_level=39), 40)
    assert not soft_target_reached(charge(battery_level=90), None)
    assert not soft_target_reached(None, 40)
    assert not soft_target_reached(charge(battery_level=None), 40)


def test_level_projection_from_the_cars_time_to_full() -> None:
    data = charge(
        charging_state="Charging",
        battery_level=30,
        charge_limit_soc=50,
        minutes_to_full_charge=100,
        charger_actual_current=16,
    )
    projection = LevelProjection.from_charge(data, 1000.0)
    assert projection is not None
    assert projection.time_of(40) == pytest.approx(1000 + 50 * 60)
    assert projection.time_of(30) == 1000.0
    assert projection.level_at(1000 + 50 * 60) == pytest.approx(40)
    assert projection.level_at(500.0) == 30  # never before the read
    # Under a minute to go, the car says 0 minutes: one minute is assumed.
    almost = replace(data, battery_level=49, minutes_to_full_charge=0)
    assert LevelProjection.from_charge(almost, 0.0) == LevelProjection(0.0, 49.0, 16.0, 960.0)


@pytest.mark.parametrize(
    "fields",
    [
        {"charging_state": "Stopped"},  # not charging
        {"charger_actual_current": 0},  # Starting: no current yet
        {"minutes_to_full_charge": 0},  # no estimate yet, far from the limit
        {"minutes_to_full_charge": None},
        {"battery_level": 50},  # at the limit
        {"charge_limit_soc": None},
    ],
)
def test_level_projection_needs_an_estimate(fields: dict[str, object]) -> None:
    data = charge(
        **{
            "charging_state": "Charging",
            "battery_level": 30,
            "charge_limit_soc": 50,
            "minutes_to_full_charge": 100,
            "charger_actual_current": 16,
            **fields,
        }
    )
    assert LevelProjection.from_charge(data, 1000.0) is None


def test_level_projection_follows_a_new_current() -> None:
    # 16 A: 10 % in 3000 s. After 1500 s (35 %) the current halves: the rest takes twice as long.
    projection = LevelProjection(at=0.0, level=30.0, amps=16.0, amp_seconds_per_percent=4800.0)
    slower = projection.with_amps(1500.0, 8.0)
    assert slower.level == pytest.approx(35.0)
    assert slower.time_of(40) == pytest.approx(1500 + 3000)
    assert projection.time_of(40) == pytest.approx(3000)
    stopped = slower.with_amps(2000.0, 0.0)
    assert stopped.time_of(40) is None
    assert stopped.time_of(30) == 2000.0  # already above it
    assert slower.with_amps(2000.0, -3.0).amps == 0.0


def test_plug_sessions_carry_and_reset() -> None:
    state = WallboxState(vin="V")
    plugged = charge(charging_state="Stopped", charge_energy_added=0.0)
    state = state.with_charge(plugged, 10.0)
    assert state.connection is Connection.ONLINE
    assert state.status is WallboxStatus.READY
    assert not state.session_charged
    state = state.with_charge(charge(charging_state="Charging", charge_energy_added=1.5), 20.0)
    assert state.session_charged
    state = state.__class__(**{**_fields(state), "charge_requested": False})
    state = state.with_charge(charge(charging_state="Stopped", charge_energy_added=2.0), 30.0)
    assert state.status is WallboxStatus.STOPPED
    assert state.charge_requested is False
    # Replugged between two reads: the session energy starts again, and so does the session.
    state = state.with_charge(charge(charging_state="Stopped", charge_energy_added=0.0), 40.0)
    assert not state.session_charged
    assert state.charge_requested is None
    assert state.status is WallboxStatus.READY
    state = state.with_charge(charge(charging_state="Disconnected"), 50.0)
    assert state.status is WallboxStatus.NOT_READY
    state = state.with_charge(charge(charging_state="Stopped"), 60.0)
    assert state.data_time == 60.0
    assert state.confirmed_time == 60.0
    assert state.checked_time == 60.0


def _fields(state: WallboxState) -> dict[str, object]:
    return {name: getattr(state, name) for name in state.__slots__}
