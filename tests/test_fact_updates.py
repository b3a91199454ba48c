"""How each answer changes what the coordinator knows (fact_updates.py), alone: plain dataclasses
in, plain dataclasses out, no Home Assistant."""

from __future__ import annotations

import math

import pytest

from custom_components.tesla_wallbox.commands import Action, command_effect
from custom_components.tesla_wallbox.const import MAX_RETRY_AFTER
from custom_components.tesla_wallbox.fact_updates import (
    DEFAULT_RETRY_AFTER,
    after_cached_reply,
    after_command,
    after_failure,
    after_poll,
    after_refused_read,
    after_reply,
    after_state_check,
    after_wake,
    hold_until,
    with_soft_target,
)
from custom_components.tesla_wallbox.policy import PollFacts, PollSettings
from custom_components.tesla_wallbox.projection import Targets
from custom_components.tesla_wallbox.vehicle_data import Connection
from custom_components.tesla_wallbox.wallbox import WallboxState

from .common import charge

NOW = 10_000.0
SETTINGS = PollSettings()


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, DEFAULT_RETRY_AFTER),
        (30.0, 30.0),
        (1e12, MAX_RETRY_AFTER),
        (math.inf, MAX_RETRY_AFTER),
    ],
)
def test_a_429_holds_back_for_its_retry_after_at_most_an_hour(
    retry_after: float | None, expected: float
) -> None:
    assert hold_until(NOW, retry_after) == NOW + expected


def test_a_state_check() -> None:
    read = WallboxState("VIN", charge=charge(), data_time=NOW - 600, confirmed_time=NOW - 600)
    facts, state = after_state_check(PollFacts(failures=2), read, Connection.ASLEEP, NOW)
    # Asleep since the last read: the data is still current, and the back-off ends.
    assert (state.connection, state.checked_time, state.confirmed_time) == (
        Connection.ASLEEP,
        NOW,
        NOW,
    )
    assert (facts.failures, facts.woke_time) == (0, None)
    facts, state = after_state_check(facts, state, Connection.ONLINE, NOW + 60)
    assert facts.woke_time == NOW + 60  # first seen online after it slept
    assert state.confirmed_time == NOW  # online: the data may have changed since
    facts, _ = after_state_check(facts, state, Connection.ONLINE, NOW + 120)
    assert facts.woke_time == NOW + 60


def test_a_live_reply_and_a_refused_or_cached_one() -> None:
    facts = PollFacts(refused_reads=2, failures=1, confirm_at=NOW - 1, data_not_before=NOW + 5)
    reply = charge(
        charging_state="Charging",
        battery_level=60,
        charge_limit_soc=80,
        minutes_to_full_charge=120,
        charger_actual_current=16,
    )
    facts, state, targets = after_reply(
        facts, WallboxState("VIN"), reply, (1.0, 2.0), True, now=NOW, targets=Targets()
    )
    assert (facts.connection, facts.data_time, facts.charging) == (Connection.ONLINE, NOW, True)
    assert (facts.refused_reads, facts.failures, facts.confirm_at, facts.data_not_before) == (
        0,
        0,
        None,
        None,
    )
    assert (state.charge, state.at_pv_location, state.data_time) == (reply, True, NOW)
    assert targets.projection is not None
    # A reply without charge_state keeps the last charge data.
    _, kept, _ = after_reply(facts, state, None, None, None, now=NOW + 60, targets=targets)
    assert kept.charge == reply

    refused, unknown = after_refused_read(facts, state, NOW + 120, SETTINGS)
    assert (refused.refused_reads, refused.connection, unknown.connection) == (1, None, None)
    assert refused.data_not_before is not None
    assert refused.data_not_before > NOW + 120
    cached, asleep = after_cached_reply(facts, state, Connection.ASLEEP, NOW + 120, SETTINGS)
    assert (cached.refused_reads, asleep.connection, asleep.charge) == (1, Connection.ASLEEP, reply)


def test_failures_count_until_a_poll_goes_through() -> None:
    facts, state = after_failure(PollFacts(), WallboxState("VIN"), "timeout")
    facts, state = after_failure(facts, state, "timeout")
    assert (facts.failures, state.last_error) == (2, "timeout")
    assert after_poll(facts, failed=True).failures == 2
    assert after_poll(facts, failed=False).failures == 0


def test_a_wake_and_a_command() -> None:
    facts, state = after_wake(PollFacts(), WallboxState("VIN"), NOW)
    assert (facts.connection, facts.activity_time, state.checked_time) == (
        Connection.ONLINE,
        NOW,
        NOW,
    )
    state = WallboxState("VIN", charge=charge(battery_level=40, charge_limit_soc=80))
    facts, state, _ = after_command(
        facts, state, Targets(), command_effect(Action.START), NOW, settings=SETTINGS
    )
    assert state.charge is not None
    assert (state.charge.charging_state, state.charge_requested, state.session_charged) == (
        "Starting",
        True,
        True,
    )
    assert facts.confirm_at == NOW + SETTINGS.confirm_delay


def test_a_soft_target_plans_its_read() -> None:
    # 40 % to 80 % in 160 minutes: 45 % comes 20 minutes on.
    charging = charge(
        charging_state="Charging",
        battery_level=40,
        charge_limit_soc=80,
        minutes_to_full_charge=160,
        charger_actual_current=16,
    )
    targets = Targets()
    _, targets = after_reply(
        PollFacts(), WallboxState("VIN"), charging, None, None, now=NOW, targets=targets
    )[1:]
    facts, targets = with_soft_target(PollFacts(), targets, charging, 45, NOW)
    assert targets.soft_target == 45
    assert facts.target_at is not None
    assert NOW + 15 * 60 <= facts.target_at <= NOW + 20 * 60
    facts, _ = with_soft_target(facts, targets, None, 45, NOW)
    assert facts.target_at is None
