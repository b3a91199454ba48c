"""The plan of a go-eCharger HTTP API v2 `api/set` request: pure, no Home Assistant imports.

`plan_set` turns the query of an `api/set` request (values JSON-encoded, as go-e clients send them)
into a plan: one answer per key (`True` or an error text), the actions for the car's
ChargeController, and the settings to keep. Either every key is accepted or nothing happens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
import json
from typing import Any, Final

from ..commands import Action, whole_number
from ..vehicle_data import CHARGING, NO_POWER, STARTING, STOPPED
from .goe_keys import FRC_NEUTRAL, FRC_OFF, FRC_VALUES, KEYS, GoeSource

# su (simulateUnplugging) is write-only here: evcc sends su=1 to wake the car, so it wakes a car
# that is not online and does nothing otherwise.
WAKE_KEY: Final = "su"
WRITABLE: Final = frozenset({"amp", "frc", "fna", WAKE_KEY})
NAME_MAX_LENGTH: Final = 64

NOT_APPLIED: Final = "not applied: another key in this request was refused"
NO_DATA: Final = "no data from the car yet"


@dataclass(frozen=True, slots=True)
class KeyCommand:
    """One command for the ChargeController (start, stop or amps), and the key that asked for it."""

    key: str
    name: Action
    value: int | None = None


@dataclass(slots=True)
class SetPlan:
    """What an api/set request does: an answer per key, the actions, the settings to keep."""

    results: dict[str, bool | str] = field(default_factory=dict)
    actions: list[KeyCommand] = field(default_factory=list)
    frc: int | None = None
    name: str | None = None
    wake: bool = False  # wake the car (su): only when no action does it anyway

    @property
    def accepted(self) -> bool:
        """Whether every key was accepted."""
        return all(result is True for result in self.results.values())

    def fail(self, text: str, failed: str | None) -> None:
        """The actions stopped at the one named `failed` (an Action: start, stop, amps).

        The actions before it were done and later ones were not sent. None: the controller
        refused them all before sending anything.
        """
        names: list[str] = [action.name for action in self.actions]
        index = names.index(failed) if failed in names else None
        for position, action in enumerate(self.actions):
            if index is None or position == index:
                self.results[action.key] = text
            elif position > index:
                self.results[action.key] = NOT_APPLIED
        if self.wake:
            self.results[WAKE_KEY] = text


class _Refused(Exception):
    """A value we do not accept; the message is the key's answer."""


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _decode(text: str) -> Any:
    """A JSON value as go-e clients send it (strings in double quotes); NaN is not JSON."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise _Refused("the value must be JSON (strings in double quotes)") from err


def _plan_amp(value: Any, source: GoeSource) -> KeyCommand | None:
    amps = whole_number(value)
    high = source.max_amps
    if amps is None or not 1 <= amps <= high:
        raise _Refused(f"amp must be a whole number from 1 to {high}")
    charge = source.charge
    if charge is None:
        raise _Refused(NO_DATA)
    if charge.charge_current_request == amps:
        return None  # already set: spare the car a command (and perhaps a wake-up)
    return KeyCommand("amp", Action.SET_AMPS, amps)


def _plan_frc(value: Any, source: GoeSource) -> KeyCommand | None:
    frc = whole_number(value)
    if frc not in FRC_VALUES:
        raise _Refused("frc must be 0 (neutral), 1 (off) or 2 (on)")
    charge = source.charge
    if charge is None:
        raise _Refused(NO_DATA)
    if charge.fast_charging:
        return None  # not at this charger: its force state must not stop or start a DC charge
    state = charge.charging_state
    if frc == FRC_OFF:
        return KeyCommand("frc", Action.STOP) if state in (STARTING, CHARGING, NO_POWER) else None
    if state != STOPPED:
        return None  # unplugged, charging or complete: there is nothing to start
    # Neutral lifts an "off" (ours or a stop from any source); on always asks for charging.
    lifting = source.frc == FRC_OFF or source.charge_requested is False
    if frc == FRC_NEUTRAL and (not lifting or source.start_blocked):
        return None
    if source.start_blocked:
        raise _Refused("the soft target SoC is reached: charging cannot start")
    return KeyCommand("frc", Action.START)


def _plan_wake(value: Any, source: GoeSource) -> bool:
    """su: true (or 1, as evcc sends it) asks for a wake-up; false (or 0) does nothing."""
    if value not in (True, False):  # 1 == True and 0 == False in Python: both forms pass
        raise _Refused(f"{WAKE_KEY} must be true or false (1 or 0)")
    return bool(value) and not source.online


def _plan_fna(value: Any) -> str:
    # isprintable() refuses control characters (C0, DEL, C1), separators other than the space,
    # and lone surrogates, which a JSON escape can carry but no UTF-8 store or log can write.
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= NAME_MAX_LENGTH
        or not value.isprintable()
    ):
        raise _Refused(f"fna must be a JSON string of 1 to {NAME_MAX_LENGTH} printable characters")
    return value


def _refusal(key: str) -> str:
    if key == "psm":
        return "phase switching is not possible: a Tesla charges on the phases the supply gives"
    if key in KEYS:
        return f"{key} is read-only"
    return f"{key} is not a key of this charger"


def plan_set(params: Iterable[tuple[str, str]], source: GoeSource) -> SetPlan:
    """Validate every key of an api/set query; all are accepted, or nothing is done."""
    pairs = list(params)
    counts: dict[str, int] = {}
    for key, _ in pairs:
        counts[key] = counts.get(key, 0) + 1
    plan = SetPlan()
    amp_action: KeyCommand | None = None
    frc_action: KeyCommand | None = None
    for key, text in pairs:
        if key in plan.results:
            continue
        try:
            if counts[key] > 1:
                raise _Refused(f"{key} is given more than once")
            if key not in WRITABLE:
                raise _Refused(_refusal(key))
            value = _decode(text)
            if key == "amp":
                amp_action = _plan_amp(value, source)
            elif key == "frc":
                frc_action = _plan_frc(value, source)
                plan.frc = whole_number(value)
            elif key == WAKE_KEY:
                plan.wake = _plan_wake(value, source)
            else:
                plan.name = _plan_fna(value)
        except _Refused as refused:
            plan.results[key] = str(refused)
        else:
            plan.results[key] = True
    if not plan.accepted:
        # All or nothing: the keys that were fine are not applied either.
        plan.results = {
            key: NOT_APPLIED if result is True else result for key, result in plan.results.items()
        }
        plan.frc = None
        plan.name = None
        plan.wake = False
        return plan
    # The current first, then start or stop, like the /tlwb API's combined call.
    plan.actions = [action for action in (amp_action, frc_action) if action is not None]
    # A command wakes the car itself: a separate wake-up would cost a second one.
    plan.wake = plan.wake and not plan.actions
    return plan
