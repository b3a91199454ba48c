"""The pure polling policy: what is read when, and what is never read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.tesla_wallbox.policy import (
    FREE_READ_INTERVAL,
    MIN_GAP,
    PollFacts,
    PollKind,
    PollSettings,
    is_stale,
    plan_next,
    read_intervals,
    refused_read_gap,
    wants_data,
)
from custom_components.tesla_wallbox.vehicle_data import Connection

SETTINGS = PollSettings()
NOW = 100_000.0


def test_unknown_connection_checks_state_now() -> None:
    plan = plan_next(NOW, PollFacts(), SETTINGS)
    # "Now" is right after a poll: never sooner than the minimum gap.
    assert (plan.at, plan.kind) == (NOW + MIN_GAP, PollKind.STATE)


@pytest.mark.parametrize("connection", [Connection.ASLEEP, Connection.OFFLINE])
def test_asleep_or_offline_only_state_checks(connection: Connection) -> None:
    facts = PollFacts(connection=connection, data_time=NOW - 5000, activity_time=NOW - 5000)
    plan = plan_next(NOW, facts, SETTINGS)
    assert plan.kind is PollKind.STATE
    assert plan.at == NOW + SETTINGS.sleep_check_interval
    assert not wants_data(NOW, facts, SETTINGS)


def test_first_contact_online_reads_data() -> None:
    facts = PollFacts(connection=Connection.ONLINE, woke_time=NOW)
    assert plan_next(NOW, facts, SETTINGS).kind is PollKind.DATA
    assert wants_data(NOW, facts, SETTINGS)


def test_came_online_by_itself_reads_once() -> None:
    facts = PollFacts(
        connection=Connection.ONLINE, data_time=NOW - 3600, activity_time=NOW - 3600, woke_time=NOW
    )
    assert wants_data(NOW, facts, SETTINGS)
    plan = plan_next(NOW, facts, SETTINGS)
    assert (plan.at, plan.kind) == (NOW + MIN_GAP, PollKind.DATA)


def test_charging_reads_every_interval() -> None:
    facts = PollFacts(
        connection=Connection.ONLINE,
        charging=True,
        data_time=NOW,
        activity_time=NOW,
        woke_time=NOW - 10,
    )
    plan = plan_next(NOW, facts, SETTINGS)
    assert (plan.at, plan.kind) == (NOW + SETTINGS.charging_interval, PollKind.DATA)
    assert not wants_data(NOW + 60, facts, SETTINGS)
    assert wants_data(NOW + SETTINGS.charging_interval, facts, SETTINGS)


def test_free_reads_come_every_minute_while_charging_and_let_the_car_sleep() -> None:
    """Over Bluetooth a read costs nothing: charging is followed every minute, PV charging too;
    an idle car still gets its quiet period to fall asleep."""
    assert read_intervals(SETTINGS, free=False) is SETTINGS
    free = read_intervals(SETTINGS, free=True)
    charging = PollFacts(
        connection=Connection.ONLINE, charging=True, data_time=NOW, activity_time=NOW
    )
    assert plan_next(NOW, charging, free).at == NOW + FREE_READ_INTERVAL
    assert free.pv_charging_interval == FREE_READ_INTERVAL
    assert free.idle_quiet == SETTINGS.idle_quiet
    assert free.sleep_check_interval == SETTINGS.sleep_check_interval
    # Shorter options stay as they are.
    short = replace(SETTINGS, charging_interval=20.0)
    assert read_intervals(short, free=True).charging_interval == 20.0
    idle = PollFacts(connection=Connection.ONLINE, data_time=NOW, activity_time=NOW)
    assert not wants_data(NOW + FREE_READ_INTERVAL, idle, free)


def test_pv_regulated_charging_reads_less_often() -> None:
    """The PV controller set the current itself: the long interval, back to the short one after."""
    facts = PollFacts(
        connection=Connection.ONLINE,
        charging=True,
        data_time=NOW,
        activity_time=NOW,
        woke_time=NOW - 10,
        pv_regulated=True,
        target_at=NOW + 20_000,
    )
    assert SETTINGS.pv_charging_interval > SETTINGS.charging_interval
    plan = plan_next(NOW, facts, SETTINGS)
    assert (plan.at, plan.kind, plan.reason) == (
        NOW + SETTINGS.pv_charging_interval,
        PollKind.DATA,
        "PV charging",
    )
    assert not wants_data(NOW + SETTINGS.charging_interval, facts, SETTINGS)
    assert wants_data(NOW + SETTINGS.pv_charging_interval, facts, SETTINGS)
    # The controller let go (manual mode) long after the read: read soon.
    manual = replace(facts, pv_regulated=False)
    assert plan_next(NOW + 1200, manual, SETTINGS).at == NOW + 1200 + MIN_GAP
    # The predicted moment of the target still comes first.
    assert plan_next(NOW, replace(facts, target_at=NOW + 900), SETTINGS).at == NOW + 900
    # No estimate of that moment yet (right after a start): the short interval sees the target.
    unforeseen = replace(facts, target_at=None)
    assert plan_next(NOW, unforeseen, SETTINGS).at == NOW + SETTINGS.charging_interval
    assert wants_data(NOW + SETTINGS.charging_interval, unforeseen, SETTINGS)


def test_charging_confirm_and_soft_target_come_first() -> None:
    facts = PollFacts(
        connection=Connection.ONLINE,
        charging=True,
        data_time=NOW,
        activity_time=NOW,
        confirm_at=NOW + 30,
        target_at=NOW + 20,
    )
    plan = plan_next(NOW, facts, SETTINGS)
    assert (plan.at, plan.kind, plan.reason) == (NOW + 20, PollKind.DATA, "target level")
    assert wants_data(NOW + 20, facts, SETTINGS)
    past = replace(facts, target_at=None, confirm_at=NOW - 5)
    assert plan_next(NOW, past, SETTINGS).at == NOW + MIN_GAP  # never in the past, never a loop


def test_idle_leaves_the_car_alone() -> None:
    facts = PollFacts(connection=Connection.ONLINE, data_time=NOW, activity_time=NOW)
    plan = plan_next(NOW, facts, SETTINGS)
    assert plan.kind is PollKind.STATE
    assert plan.at == NOW + SETTINGS.sleep_check_interval
    # Every state check during the quiet period leaves vehicle_data alone.
    for elapsed in (300, 600, 899):
        assert not wants_data(NOW + elapsed, facts, SETTINGS)
    # Still awake after the quiet period: something else keeps it awake, one read is cheap.
    assert wants_data(NOW + SETTINGS.idle_quiet, facts, SETTINGS)
    near_end = plan_next(NOW + 800, facts, SETTINGS)
    assert near_end.at == NOW + SETTINGS.idle_quiet
    assert near_end.kind is PollKind.STATE


def test_idle_confirm_after_command() -> None:
    facts = PollFacts(
        connection=Connection.ONLINE, data_time=NOW - 100, activity_time=NOW, confirm_at=NOW + 30
    )
    plan = plan_next(NOW, facts, SETTINGS)
    assert (plan.at, plan.kind) == (NOW + 30, PollKind.DATA)


def test_backoff_grows_with_jitter_and_caps() -> None:
    facts = PollFacts(connection=Connection.ONLINE, data_time=NOW, failures=1)
    assert plan_next(NOW, facts, SETTINGS).at == NOW + 30
    assert plan_next(NOW, replace(facts, failures=3), SETTINGS).at == NOW + 120
    assert plan_next(NOW, replace(facts, failures=3), SETTINGS, jitter=0.5).at == NOW + 135
    capped = plan_next(NOW, replace(facts, failures=30), SETTINGS)
    assert capped.at == NOW + SETTINGS.backoff_max
    assert capped.kind is PollKind.STATE


def test_retry_after_is_honoured() -> None:
    facts = PollFacts(connection=Connection.ASLEEP, not_before=NOW + 3600, failures=1)
    plan = plan_next(NOW, facts, SETTINGS)
    assert plan.at == NOW + 3600
    assert "Retry-After" in plan.reason
    # A Retry-After already passed changes nothing.
    past = replace(facts, not_before=NOW - 1, failures=0)
    assert plan_next(NOW, past, SETTINGS).at == NOW + SETTINGS.sleep_check_interval


def test_refused_read_gates_every_plan_that_leads_to_data() -> None:
    """After a 408 on vehicle_data from a car the vehicle endpoint called online."""
    gate = NOW + refused_read_gap(1, SETTINGS)
    assert gate == NOW + SETTINGS.sleep_check_interval
    assert refused_read_gap(3, SETTINGS) == 4 * SETTINGS.sleep_check_interval
    assert refused_read_gap(30, SETTINGS) == SETTINGS.refused_read_max
    charging = PollFacts(
        connection=Connection.ONLINE,
        charging=True,
        data_time=NOW - 5000,
        activity_time=NOW - 5000,
        woke_time=NOW,
        data_not_before=gate,
        refused_reads=1,
    )
    assert not wants_data(NOW + 60, charging, SETTINGS)
    assert wants_data(gate, charging, SETTINGS)
    plan = plan_next(NOW, charging, SETTINGS)
    assert (plan.at, plan.kind) == (gate, PollKind.DATA)
    assert "refused" in plan.reason
    # A long gate still lets a free state check see the car fall asleep at the usual pace.
    later = replace(charging, data_not_before=NOW + 3600)
    plan = plan_next(NOW, later, SETTINGS)
    assert (plan.at, plan.kind) == (NOW + SETTINGS.sleep_check_interval, PollKind.STATE)
    idle = replace(later, charging=False, woke_time=None)
    assert plan_next(NOW, idle, SETTINGS).at == NOW + SETTINGS.sleep_check_interval
    # Plans that never read data are not held back.
    asleep = replace(later, connection=Connection.ASLEEP)
    assert plan_next(NOW, asleep, SETTINGS).reason == "sleep check"
    unknown = replace(later, connection=None)
    assert plan_next(NOW, unknown, SETTINGS).at == NOW + MIN_GAP


def test_stale() -> None:
    assert is_stale(NOW, None, 60)
    assert not is_stale(NOW, NOW - 60, 60)
    assert is_stale(NOW, NOW - 61, 60)
