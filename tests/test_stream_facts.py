"""A car that streams, in the pure parts: what an event changes (fact_updates.after_stream), and a
poll plan with nothing timed in it (policy). No Home Assistant, no network."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from custom_components.tesla_wallbox.fact_updates import (
    CommandEffect,
    StreamOutcome,
    after_command,
    after_stream,
)
from custom_components.tesla_wallbox.policy import PollFacts, PollSettings, plan_next, wants_data
from custom_components.tesla_wallbox.projection import Targets
from custom_components.tesla_wallbox.stream_data import StreamReading, read_event
from custom_components.tesla_wallbox.vehicle_data import ChargeData, Connection
from custom_components.tesla_wallbox.wallbox import WallboxState, WallboxStatus

NOW = 1_750_000_000.0
SETTINGS = PollSettings()
STREAMING = PollFacts(streaming=True, connection=Connection.ONLINE)
CHARGING = ChargeData(
    charging_state="Charging",
    battery_level=50,
    charge_limit_soc=80,
    charge_current_request=16,
    charge_current_request_max=16,
    charger_actual_current=16,
    charger_voltage=230,
    charger_phases=2,
    charger_power=11.0,
    charge_energy_added=5.0,
    minutes_to_full_charge=120,
)
KNOWN = WallboxState(
    vin="V",
    connection=Connection.ONLINE,
    charge=CHARGING,
    data_time=NOW - 60,
    confirmed_time=NOW - 60,
    checked_time=NOW - 60,
    session_charged=True,
    charge_requested=True,
)


def event(time: float, *, cache: bool = False, **body: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"vin": "V", "timestamp": int(time * 1000), **body}
    if cache:
        raw["isCache"] = True
    return raw


def apply(
    state: WallboxState,
    raw: dict[str, Any],
    *,
    at_pv: bool | None = True,
    partial: ChargeData | None = None,
    now: float = NOW,
) -> StreamOutcome:
    return after_stream(
        STREAMING, state, read_event(raw), at_pv, Targets(), partial=partial, now=now
    )


def test_a_data_event_is_published_with_the_cars_time() -> None:
    outcome = apply(KNOWN, event(NOW - 2, data={"BatteryLevel": 51.3, "ACChargingEnergyIn": 5.4}))
    state = outcome.state
    assert state.charge == replace(CHARGING, battery_level=51, charge_energy_added=5.4)
    assert state.data_time == NOW - 2  # the car's time of the values
    assert (state.checked_time, state.confirmed_time) == (NOW, NOW)  # contact, now
    assert (state.session_charged, state.charge_requested) == (True, True)  # same session
    assert outcome.facts.charging
    assert outcome.targets.projection is not None


def test_a_car_clock_ahead_of_ours_never_dates_data_in_the_future() -> None:
    assert apply(KNOWN, event(NOW + 30, data={"BatteryLevel": 52})).state.data_time == NOW
    no_time = {"vin": "V", "data": {"BatteryLevel": 52}}
    assert apply(KNOWN, no_time).state.data_time == NOW


def test_an_event_that_changes_nothing_shown_is_not_published() -> None:
    same = event(NOW, data={"BatteryLevel": 50.4, "ChargerVoltage": 229.7, "Odometer": 12.3})
    assert apply(KNOWN, same).state is KNOWN
    assert apply(KNOWN, event(NOW, state="online")).state is KNOWN
    assert apply(KNOWN, {"vin": "V", "alerts": []}).state is KNOWN


def test_state_events_tell_online_and_asleep() -> None:
    asleep = apply(KNOWN, event(NOW, state="asleep"))
    assert asleep.state.connection is Connection.ASLEEP
    assert asleep.facts.connection is Connection.ASLEEP
    assert asleep.state.charge == CHARGING
    assert asleep.state.checked_time == NOW
    woke = apply(asleep.state, event(NOW + 5, state="online"), now=NOW + 5)
    assert woke.state.connection is Connection.ONLINE


def test_a_data_event_means_the_car_is_online() -> None:
    asleep = replace(KNOWN, connection=Connection.ASLEEP)
    outcome = apply(asleep, event(NOW, data={"BatteryLevel": 55}))
    assert outcome.state.connection is Connection.ONLINE


def test_unplugging_ends_the_plug_session() -> None:
    unplugged = {
        "DetailedChargeState": "DetailedChargeStateDisconnected",
        "ChargeAmps": 0,
        "ACChargingPower": 0,
        "ChargerPhases": None,
        "ChargingCableType": None,
    }
    state = apply(KNOWN, event(NOW, data=unplugged)).state
    assert state.status is WallboxStatus.NOT_READY
    assert state.charge is not None
    assert not state.charge.plugged_in
    assert state.charge.charger_pilot_current == 0
    assert (state.session_charged, state.charge_requested) == (False, None)


def test_a_location_moves_the_car_in_and_out_of_the_pv_zone() -> None:
    home = apply(KNOWN, event(NOW, data={"Location": {"latitude": 1.0, "longitude": 2.0}}))
    assert (home.state.position, home.state.at_pv_location) == ((1.0, 2.0), True)
    away = apply(
        home.state, event(NOW, data={"Location": {"latitude": 3.0, "longitude": 4.0}}), at_pv=False
    )
    assert (away.state.position, away.state.at_pv_location) == ((3.0, 4.0), False)
    unknown = apply(away.state, event(NOW, data={"Location": None}), at_pv=None)
    assert (unknown.state.position, unknown.state.at_pv_location) == (None, None)


def test_a_snapshot_older_than_what_is_known_is_left_out() -> None:
    """A new connection's first events (isCache) may be older than a read since."""
    old = event(NOW - 120, cache=True, data={"BatteryLevel": 40, "Location": None}, state="asleep")
    assert apply(KNOWN, old).state is KNOWN
    newer = apply(KNOWN, event(NOW - 30, cache=True, data={"BatteryLevel": 52}, state="asleep"))
    assert newer.state.charge is not None
    assert newer.state.charge.battery_level == 52
    assert newer.state.connection is Connection.ASLEEP
    # Without a time there is nothing to compare: taken.
    timeless = {"vin": "V", "isCache": True, "data": {"BatteryLevel": 53}}
    assert apply(KNOWN, timeless).state.charge == replace(CHARGING, battery_level=53)
    # Live events are news, whatever their time.
    live = apply(KNOWN, event(NOW - 120, data={"BatteryLevel": 49}))
    assert live.state.charge == replace(CHARGING, battery_level=49)


def test_nothing_is_shown_before_a_charging_state() -> None:
    """Of a car never read (asleep at the first set-up), the stream's first signals may come
    without the charging state: kept aside until it comes."""
    blank = WallboxState(vin="V")
    first = apply(blank, event(NOW, data={"BatteryLevel": 61, "ChargeLimitSoc": 80}))
    assert first.state is blank
    assert first.partial == ChargeData(battery_level=61, charge_limit_soc=80)
    second = apply(
        blank,
        event(NOW + 1, data={"DetailedChargeState": "DetailedChargeStateStopped"}),
        partial=first.partial,
        now=NOW + 1,
    )
    assert second.partial is None
    assert second.state.charge == ChargeData(
        charging_state="Stopped", battery_level=61, charge_limit_soc=80
    )


def test_a_streaming_car_is_never_polled_on_a_timer() -> None:
    for facts in (
        STREAMING,
        replace(STREAMING, charging=True, data_time=NOW - 7200),
        replace(STREAMING, failures=3),
        replace(STREAMING, connection=None),
        replace(STREAMING, confirm_at=NOW, target_at=NOW),
    ):
        assert plan_next(NOW, facts, SETTINGS) is None
    # After a state check: a read only while nothing is known (at set-up), never to catch up.
    assert wants_data(NOW, STREAMING, SETTINGS, charge_known=False)
    assert not wants_data(NOW, STREAMING, SETTINGS, charge_known=True)
    assert not wants_data(NOW, replace(STREAMING, charging=True, data_time=NOW - 7200), SETTINGS)
    asleep = replace(STREAMING, connection=Connection.ASLEEP)
    assert not wants_data(NOW, asleep, SETTINGS, charge_known=False)


@pytest.mark.parametrize(("streaming", "confirm_at"), [(False, NOW + 30), (True, None)])
def test_a_command_is_confirmed_by_the_stream_not_a_read(
    streaming: bool, confirm_at: float | None
) -> None:
    facts = PollFacts(connection=Connection.ONLINE, streaming=streaming)
    effect = CommandEffect(lambda charge: replace(charge, charge_current_request=10), None)
    after, state, _ = after_command(facts, KNOWN, Targets(), effect, NOW, settings=SETTINGS)
    assert after.confirm_at == confirm_at
    assert state.charge is not None
    assert state.charge.charge_current_request == 10


def test_an_empty_reading() -> None:
    assert StreamReading().empty
    assert apply(KNOWN, {}).state is KNOWN
