"""The pure wallbox model: status codes, the DC fast charger, soft target, plug sessions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.tesla_wallbox.vehicle_data import ChargeData, Connection
from custom_components.tesla_wallbox.wallbox import (
    WallboxState,
    WallboxStatus,
    compute_status,
    counts_as_home_energy,
    effective_target,
    soft_target_reached,
)

from .common import charge


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


def test_soft_target_rules() -> None:
    assert effective_target(80, None) == 80
    assert effective_target(50, 40) == 40
    assert effective_target(None, None) is None
    assert soft_target_reached(charge(battery_level=40), 40)
    assert not soft_target_reached(charge(battery_level=39), 40)
    assert not soft_target_reached(charge(battery_level=90), None)
    assert not soft_target_reached(None, 40)
    assert not soft_target_reached(charge(battery_level=None), 40)


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
