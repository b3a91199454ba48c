"""The command vocabulary alone (commands.py): validation, the target split, a start refused at
the soft target, what a command changes at once, and the stored record. Pure: no Home Assistant."""

from __future__ import annotations

import pytest

from custom_components.tesla_wallbox.commands import (
    CANCELLED_BY_RESTART,
    FALLBACK_MAX_AMPS,
    Action,
    Command,
    CommandRecord,
    CommandState,
    InvalidCommandError,
    blocked_start,
    command_effect,
    max_amps,
    min_target,
    soft_stop_due,
    split_target,
    validate,
    whole_number,
)

from .common import charge


@pytest.mark.parametrize(
    ("value", "expected"),
    [(16, 16), (16.0, 16), (16.5, None), (True, None), ("16", None), (None, None)],
)
def test_whole_number(value: object, expected: int | None) -> None:
    assert whole_number(value) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (Command("amps", 16.0), Command(Action.SET_AMPS, 16)),
        (Command("target", 80), Command(Action.SET_TARGET, 80)),
        (Command("start"), Command(Action.START)),
        (Command("stop"), Command(Action.STOP)),
    ],
)
def test_validate_gives_whole_numbers_and_actions(command: Command, expected: Command) -> None:
    assert validate(command, amps_max=32, target_min=50) == expected


@pytest.mark.parametrize(
    ("command", "key", "placeholders"),
    [
        (Command("amps", 0), "amps_out_of_range", {"value": "0", "min": "1", "max": "32"}),
        (Command("amps", 33), "amps_out_of_range", {"value": "33", "min": "1", "max": "32"}),
        (Command("amps", 8.5), "amps_out_of_range", {"value": "8.5", "min": "1", "max": "32"}),
        (Command("target", 49), "target_out_of_range", {"value": "49", "min": "50", "max": "100"}),
        (
            Command("target", None),
            "target_out_of_range",
            {"value": "None", "min": "50", "max": "100"},
        ),
        (Command("honk"), "unknown_command", {"name": "honk"}),
        (Command("none"), "unknown_command", {"name": "none"}),
    ],
)
def test_validate_refuses_with_the_reason(
    command: Command, key: str, placeholders: dict[str, str]
) -> None:
    with pytest.raises(InvalidCommandError) as err:
        validate(command, amps_max=32, target_min=50)
    assert err.value.translation_key == key
    assert err.value.placeholders == placeholders


def test_limits_from_the_car_and_the_options() -> None:
    assert max_amps(None) == FALLBACK_MAX_AMPS
    assert max_amps(charge(charge_current_request_max=16)) == 16
    assert (min_target(allow_low_target=False), min_target(allow_low_target=True)) == (50, 1)


@pytest.mark.parametrize(
    ("percent", "expected"), [(80, (80, None)), (50, (50, None)), (30, (50, 30))]
)
def test_split_target_keeps_the_car_at_50_below_it(
    percent: int, expected: tuple[int, int | None]
) -> None:
    assert split_target(percent) == expected


def test_a_start_is_blocked_at_a_reached_soft_target() -> None:
    at_40 = charge(battery_level=40, charge_limit_soc=50)
    start = [Command(Action.START)]
    assert blocked_start(start, 40, at_40) == 40
    assert blocked_start(start, 45, at_40) is None
    assert blocked_start(start, None, at_40) is None
    # A target earlier in the same batch counts: lowered to 30 blocks, raised to 80 frees it.
    assert blocked_start([Command(Action.SET_TARGET, 30), *start], None, at_40) == 30
    assert blocked_start([Command(Action.SET_TARGET, 80), *start], 40, at_40) is None
    assert blocked_start([Command(Action.SET_AMPS, 8)], 40, at_40) is None


def test_a_soft_stop_is_due_only_while_charging_at_the_target() -> None:
    assert soft_stop_due(charge(charging_state="Charging", battery_level=40), 40)
    assert not soft_stop_due(charge(charging_state="Charging", battery_level=39), 40)
    assert not soft_stop_due(charge(charging_state="Stopped", battery_level=40), 40)
    assert not soft_stop_due(charge(charging_state="Charging", battery_level=40), None)
    assert not soft_stop_due(None, 40)


def test_what_a_command_changes_at_once() -> None:
    charging = charge(
        charging_state="Charging", charger_actual_current=16, charger_power=11, battery_level=60
    )
    start = command_effect(Action.START)
    assert start.charge_requested is True
    assert start.update is not None
    assert start.update(charge()).charging_state == "Starting"
    stop = command_effect(Action.STOP)
    assert stop.charge_requested is False
    assert stop.update is not None
    stopped = stop.update(charging)
    assert (stopped.charging_state, stopped.charger_actual_current, stopped.charger_power) == (
        "Stopped",
        0,
        0.0,
    )
    amps = command_effect(Action.SET_AMPS, 10)
    assert amps.charge_requested is None
    assert amps.update is not None
    assert amps.update(charging).charge_current_request == 10
    target = command_effect(Action.SET_TARGET, 90)
    assert target.update is not None
    assert target.update(charging).charge_limit_soc == 90
    assert target.update(charging).battery_level == 60  # the rest stays as it was


def test_a_record_survives_the_store_and_a_pending_one_becomes_cancelled() -> None:
    record = CommandRecord("amps", 10, CommandState.OK, "", 1_000.0, "user")
    assert CommandRecord.from_dict(record.as_dict()) == record
    pending = CommandRecord("start", None, CommandState.PENDING, "", 1_000.0, "pv").as_dict()
    restored = CommandRecord.from_dict(pending)
    assert restored is not None
    assert (restored.state, restored.reason) == (CommandState.CANCELLED, CANCELLED_BY_RESTART)
    for broken in (None, [], {"name": "amps"}, {**record.as_dict(), "state": "lost"}):
        assert CommandRecord.from_dict(broken) is None
