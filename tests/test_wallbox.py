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
    counts_as_home_energy,
    effective_target,
    position_of,
    reply_connection,
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
        (11, 230, 16, 3, 11040),
        (4, 230, 16, 1, 3680),
        (7, 230, 16, 1, 3680),  # nearer one phase (3.7 kW) than three (11 kW): never two
        (3, 230, 5, 3, 3450),
        (8, 240, 32, 1, 7680),
        (0, 230, 16, 1, 3680),  # power rounds to 0 kW: still one phase
        (30, 230, 6, 3, 4140),  # nonsense power: three at most
    ],
)
def test_phases_from_power_when_the_car_reports_none(
    kw: float, volts: int, amps: int, phases: int, power: int
) -> None:
    data = charge(
        charging_state="Charging",
        charger_power=kw,
        charger_voltage=volts,
        charger_actual_current=amps,
        charger_phases=None,
    )
    assert data.phases == phases
    assert data.power == power


@pytest.mark.parametrize(
    ("reported", "kw", "phases"),
    [
        (1, 4, 1),
        (2, 11, 3),  # Tesla's charger_phases reads 2 on a three-phase supply
        (2, 7, 3),  # the first minutes of a three-phase charge: the power ratio says 2
        (2, 1, 3),  # ramping up from 3 A: the kW lag far behind
        (3, 11, 3),
        (1, 11, 1),  # the car's count wins over a kW reading that disagrees
        (0, 11, 3),  # not a phase count: the power decides
    ],
)
def test_phases_from_the_cars_charger_phases(reported: int, kw: float, phases: int) -> None:
    data = charge(
        charging_state="Charging",
        charger_power=kw,
        charger_voltage=230,
        charger_actual_current=16,
        charger_phases=reported,
    )
    assert data.phases == phases
    assert data.power == phases * 230 * 16


def test_a_dc_fast_charge_is_not_the_wallbox() -> None:
    """At a Supercharger: hundreds of volts, no AC current, charger_phases null (recorded in
    tests/fixtures/vehicle_data/us_supercharger_377v.json)."""
    fast = charge(
        charging_state="Charging",
        charger_power=78,
        charger_voltage=377,
        charger_actual_current=0,
        charger_phases=None,
        fast_charger_present=True,
        fast_charger_type="Tesla",
    )
    assert fast.fast_charging
    assert fast.charging
    assert (fast.phases, fast.power) == (0, 0)
    assert fast.fast_charger_type == "Tesla"
    status = compute_status(fast, at_pv_location=True, session_charged=True, charge_requested=True)
    assert status is WallboxStatus.NOT_READY
    # Even with AC-looking fields, a fast charger is never counted as phases here.
    odd = replace(fast, charger_actual_current=16, charger_voltage=230, charger_phases=2)
    assert (odd.phases, odd.power) == (0, 0)
    ac = replace(fast, fast_charger_present=False, fast_charger_type="ACSingleWireCAN")
    assert not ac.fast_charging
    assert not charge(fast_charger_present=None).fast_charging
    assert not ChargeData.from_api({"fast_charger_present": "true"}).fast_charging


def test_ready_for_pv_only_where_known() -> None:
    stopped = charge(charging_state="Stopped")
    for at_pv, expected in ((True, WallboxStatus.READY_FOR_PV), (None, WallboxStatus.READY)):
        status = compute_status(
            stopped, at_pv_location=at_pv, session_charged=False, charge_requested=None
        )
        assert status is expected


def test_from_reply_takes_only_a_charge_state_with_a_charging_state() -> None:
    assert ChargeData.from_reply(None) is None
    assert ChargeData.from_reply([]) is None
    assert ChargeData.from_reply({}) is None
    assert ChargeData.from_reply({"battery_level": 50, "charging_state": None}) is None
    parsed = ChargeData.from_reply({"charging_state": "Stopped", "battery_level": 50})
    assert parsed == charge(charging_state="Stopped", battery_level=50)


@pytest.mark.parametrize(
    ("drive_state", "expected"),
    [
        ({"latitude": 52.5, "longitude": 13.4}, (52.5, 13.4)),
        ({"latitude": 52, "longitude": -13}, (52.0, -13.0)),
        ({"power": 0, "shift_state": None, "speed": None, "timestamp": 1}, None),  # no location
        ({"latitude": None, "longitude": None}, None),
        ({"latitude": 52.5}, None),
        ({"latitude": "52.5", "longitude": "13.4"}, None),
        ({"latitude": True, "longitude": 13.4}, None),
        ({"latitude": 91.0, "longitude": 13.4}, None),
        ({"latitude": float("nan"), "longitude": 13.4}, None),
        (None, None),
        ("drive", None),
    ],
)
def test_position_of_a_drive_state(drive_state: object, expected: object) -> None:
    assert position_of(drive_state) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"state": "online"}, Connection.ONLINE),
        ({}, Connection.ONLINE),  # a 200 to vehicle_data is a live answer unless it says not
        ({"state": "asleep"}, Connection.ASLEEP),
        ({"state": "offline"}, Connection.OFFLINE),
        ({"state": "waking"}, None),
        ({"state": 1}, None),
    ],
)
def test_the_connection_a_reply_gives(data: dict[str, object], expected: object) -> None:
    assert reply_connection(data) is expected


@pytest.mark.parametrize(
    ("fast", "place", "zone", "counts"),
    [
        (False, True, True, True),  # AC at home
        (False, False, True, False),  # AC known to be elsewhere
        (False, None, True, True),  # AC, never located in this session
        (False, False, False, True),  # no PV zone: no telling where home is
        (True, True, True, False),  # DC fast charging, even at home
        (True, None, False, False),
    ],
)
def test_what_counts_as_home_energy(
    fast: bool, place: bool | None, zone: bool, counts: bool
) -> None:
    data = charge(charging_state="Charging", fast_charger_present=fast)
    assert counts_as_home_energy(data, place, zone_configured=zone) is counts
    assert not counts_as_home_energy(None, True, zone_configured=True)


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


def test_a_reply_without_charge_data_keeps_the_session() -> None:
    """charge_state null or left out: the cable, the session and the charge data stay."""
    state = WallboxState(vin="V").with_charge(
        charge(charging_state="Charging", charge_energy_added=1.5), 10.0
    )
    state = replace(state, charge_requested=True, connection=Connection.ASLEEP, last_error="x")
    after = state.with_charge(None, 20.0)
    assert after.charge == state.charge
    assert (after.session_charged, after.charge_requested) == (True, True)
    assert (after.data_time, after.confirmed_time) == (10.0, 10.0)
    assert after.checked_time == 20.0
    assert after.connection is Connection.ONLINE
    assert after.last_error is None
    # The next reply with charge data is the same session: nothing resets.
    later = after.with_charge(charge(charging_state="Stopped", charge_energy_added=2.0), 30.0)
    assert later.charge_requested is True
    assert later.status is WallboxStatus.INTERRUPTED


def test_the_session_keeps_its_last_known_place() -> None:
    """A plugged-in car does not move: within a plug session, a reply without a position keeps
    the place last known in it (for the energy total); at_pv_location itself is unknown."""
    plugged = charge(charging_state="Charging", charge_energy_added=1.0)
    state = WallboxState(vin="V").with_charge(plugged, 10.0).with_position((1.0, 2.0), False)
    assert (state.at_pv_location, state.session_at_pv_location) == (False, False)
    state = state.with_charge(replace(plugged, charge_energy_added=2.0), 20.0)
    state = state.with_position(None, None)
    assert (state.latitude, state.longitude, state.position) == (None, None, None)
    assert (state.at_pv_location, state.session_at_pv_location) == (None, False)
    # Unplugged and plugged in again: a new session, its place not known yet.
    state = state.with_charge(charge(charging_state="Disconnected"), 30.0).with_position(None, None)
    assert state.session_at_pv_location is None
    state = state.with_charge(plugged, 40.0).with_position((3.0, 4.0), True)
    assert (state.position, state.session_at_pv_location) == ((3.0, 4.0), True)


def _fields(state: WallboxState) -> dict[str, object]:
    return {name: getattr(state, name) for name in state.__slots__}
