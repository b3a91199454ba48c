"""The one command vocabulary, its validation and its records: pure, no Home Assistant imports.

Every write reaches a car as a Command (an Action and its value) through the car's
ChargeController; the PV controller decides Actions, and the go-e API plans one per key. A command
is validated here before anything is sent (ranges, whole numbers), and its CommandRecord is what
the status shows and the store keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from .const import CAR_LIMIT_MAX, CAR_LIMIT_MIN, LOW_TARGET_MIN
from .fact_updates import CommandEffect
from .vehicle_data import CHARGING, STARTING, STOPPED, ChargeData
from .wallbox import soft_target_reached

# Why a command was never sent (its record's reason when its state is "cancelled").
CANCELLED_BY_UNLOAD = "unloaded"  # the entry unloaded (a reload, an options change)
CANCELLED_BY_STOP = "home_assistant_stopped"
CANCELLED_BY_RESTART = "interrupted"  # still pending when Home Assistant went down
# The most amps any Tesla takes on AC, used while the car's own maximum is not known yet.
FALLBACK_MAX_AMPS = 48
MIN_AMPS = 1


class Action(StrEnum):
    """What can be asked of a car's charging; the values are the names its records keep."""

    NONE = "none"  # no command: a PV decision to leave the charge as it is (never sent)
    START = "start"
    STOP = "stop"
    SET_AMPS = "amps"  # the charging current (A); with START first, the current it starts at
    SET_TARGET = "target"  # the target SoC: the car's limit from 50 %, a soft target below


class CommandState(StrEnum):
    """Where the last command is."""

    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"  # never sent: the entry unloaded or Home Assistant stopped first


class Source(StrEnum):
    """Who asked for a command."""

    USER = "user"
    HTTP = "http"
    GOE = "goe"
    PV = "pv"
    SOFT_TARGET = "soft_target"


@dataclass(frozen=True, slots=True)
class Command:
    """One command: an Action, and its value for SET_AMPS (A) and SET_TARGET (%)."""

    name: str  # an Action; any other name is refused by validate()
    value: int | float | None = None


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """The last command and its outcome, as the status shows it."""

    name: str
    value: int | float | None
    state: CommandState
    reason: str
    time: float
    source: str

    @classmethod
    def of(
        cls, command: Command, state: CommandState, reason: str, time: float, source: str
    ) -> CommandRecord:
        """The record of a command, in the state it is in at `time`."""
        return cls(str(command.name), command.value, state, reason, time, str(source))

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "name": self.name,
            "value": self.value,
            "state": self.state.value,
            "reason": self.reason,
            "time": self.time,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, stored: Any) -> CommandRecord | None:
        """A record as as_dict() stored it; None for anything else."""
        if not isinstance(stored, dict):
            return None
        try:
            value = stored["value"]
            record = cls(
                name=str(stored["name"]),
                value=value if isinstance(value, (int, float)) else None,
                state=CommandState(stored["state"]),
                reason=str(stored["reason"]),
                time=float(stored["time"]),
                source=str(stored["source"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if record.state is CommandState.PENDING:
            # Stored while it waited, and Home Assistant went down before it could say more.
            return replace(record, state=CommandState.CANCELLED, reason=CANCELLED_BY_RESTART)
        return record


class InvalidCommandError(ValueError):
    """A command refused before anything is sent, with the translation key of the reason."""

    def __init__(self, translation_key: str, **placeholders: str) -> None:
        super().__init__(translation_key)
        self.translation_key = translation_key
        self.placeholders = placeholders


def whole_number(value: Any) -> int | None:
    """An int from a number without a fraction (16 or 16.0); None for anything else (a bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def max_amps(charge: ChargeData | None) -> int:
    """The car's maximum current request, as last reported."""
    if charge is not None and charge.charge_current_request_max:
        return charge.charge_current_request_max
    return FALLBACK_MAX_AMPS


def min_target(allow_low_target: bool) -> int:
    """The lowest target SoC a user may set."""
    return LOW_TARGET_MIN if allow_low_target else CAR_LIMIT_MIN


def split_target(percent: int) -> tuple[int, int | None]:
    """The car's limit and our soft target for a target SoC (below 50 %: the car stays at 50)."""
    soft = percent if percent < CAR_LIMIT_MIN else None
    return (CAR_LIMIT_MIN if soft is not None else percent), soft


def validate(command: Command, *, amps_max: int, target_min: int) -> Command:
    """The command with its value as a whole number, if allowed; InvalidCommandError otherwise."""
    try:
        action = Action(command.name)
    except ValueError:
        action = Action.NONE
    if action in (Action.START, Action.STOP):
        return Command(action, command.value)
    if action is Action.SET_AMPS:
        low, high, key = MIN_AMPS, amps_max, "amps_out_of_range"
    elif action is Action.SET_TARGET:
        low, high, key = target_min, CAR_LIMIT_MAX, "target_out_of_range"
    else:
        raise InvalidCommandError(translation_key="unknown_command", name=str(command.name))
    value = whole_number(command.value)
    if value is None or not low <= value <= high:
        shown = command.value if value is None else value
        raise InvalidCommandError(key, value=str(shown), min=str(low), max=str(high))
    return Command(action, value)


def blocked_start(
    commands: Iterable[Command], soft_target: int | None, charge: ChargeData | None
) -> int | None:
    """The soft target a start among the commands would be refused at: reached already, or by a
    target earlier in the same batch; None when no start is blocked."""
    target = soft_target
    for command in commands:
        if command.name == Action.SET_TARGET and command.value is not None:
            target = int(command.value) if command.value < CAR_LIMIT_MIN else None
        if command.name == Action.START and soft_target_reached(charge, target):
            return target
    return None


def soft_stop_due(charge: ChargeData | None, soft_target: int | None) -> bool:
    """Whether charging must stop for the soft target: starting or charging, and at it or past it.
    A DC fast charge never is: the soft target is this wallbox's, a Supercharger session the
    driver's."""
    if charge is None or charge.charging_state not in (STARTING, CHARGING):
        return False
    return not charge.fast_charging and soft_target_reached(charge, soft_target)


def charge_update(**changes: Any) -> Callable[[ChargeData], ChargeData]:
    """An optimistic update of the charge data: a command's effect, before a read confirms it."""
    return lambda charge: replace(charge, **changes)


def command_effect(action: str, value: int = 0) -> CommandEffect:
    """What a command that succeeded changes at once: the charge data, and the start (True) or
    stop (False) asked for in this plug session (None: neither)."""
    if action == Action.START:
        return CommandEffect(charge_update(charging_state=STARTING), True)
    if action == Action.STOP:
        stopped = charge_update(charging_state=STOPPED, charger_actual_current=0, charger_power=0.0)
        return CommandEffect(stopped, False)
    if action == Action.SET_AMPS:
        return CommandEffect(charge_update(charge_current_request=value), None)
    return CommandEffect(charge_update(charge_limit_soc=value), None)
