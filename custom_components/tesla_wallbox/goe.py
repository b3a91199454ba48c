"""The go-eCharger HTTP API v2 view of a car: pure mapping, no Home Assistant imports.

`status_values` turns what the integration knows about a car into go-e's keys (`car`, `alw`, `amp`,
`nrg`, ...), and `plan_set` turns the query of an `api/set` request (values JSON-encoded, as go-e
clients send them) into a plan: one answer per key (`True` or an error text), the actions for the
car's ChargeController, and the settings to keep. Either every key is accepted or nothing happens.

A car at a DC fast charger is no car at this charger: idle (car 1), no current, no session energy.

Key semantics follow go-e's own API v2 documentation (github.com/goecharger/go-eCharger-API-v2,
apikeys-en.md and http-en.md); the README's section "go-eCharger compatible endpoint" lists every
key and where its value comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import json
import math
from typing import Any, Final

from .commands import Action, whole_number
from .vehicle_data import CHARGING, COMPLETE, NO_POWER, STARTING, STOPPED, ChargeData

# carState (key "car")
CAR_UNKNOWN: Final = 0
CAR_IDLE: Final = 1
CAR_CHARGING: Final = 2
CAR_WAIT_CAR: Final = 3
CAR_COMPLETE: Final = 4
CAR_ERROR: Final = 5

# forceState (key "frc")
FRC_NEUTRAL: Final = 0
FRC_OFF: Final = 1
FRC_ON: Final = 2
FRC_VALUES: Final = (FRC_NEUTRAL, FRC_OFF, FRC_ON)

# modelStatus: the reason why charging is allowed or not right now
MODEL_NO_DATA: Final = 0  # NotChargingBecauseNoChargeCtrlData
MODEL_FORCE_ON: Final = 3  # ChargingBecauseForceStateOn
MODEL_FORCE_OFF: Final = 4  # NotChargingBecauseForceStateOff
MODEL_DEFAULT: Final = 15  # ChargingBecauseFallbackDefault
MODEL_ERROR: Final = 26  # NotChargingBecauseError

# error (key "err"): go-e has no code for "the wall charger lost power"; 12 is its "Unknown".
ERR_NONE: Final = 0
ERR_UNKNOWN: Final = 12

# phaseSwitchMode (key "psm")
PSM_AUTO: Final = 0
PSM_FORCE_1: Final = 1
PSM_FORCE_3: Final = 2

# The variant (key "var") is 11 (kW, 16 A) or 22 (kW, 32 A); clients accept no other value.
VARIANT_11KW: Final = 11
VARIANT_22KW: Final = 22
VARIANT_11KW_MAX_AMPS: Final = 16

OEM: Final = "Tesla Wallbox"
DEVICE_TYPE: Final = "tesla_wallbox"
NAME_MAX_LENGTH: Final = 64
# go-e's nrg power factors are in percent; a car's charger draws at a power factor close to 1.
POWER_FACTOR_PERCENT: Final = 100

# Every key the status answers with (status_values builds them in this order).
KEYS: Final = (
    "acs", "acu", "alw", "ama", "amp", "car", "cards", "cbl", "dwo", "err", "eto", "fna", "frc",
    "fwv", "modelStatus", "nrg", "oem", "pha", "pnp", "psm", "sse", "tma", "trx", "typ", "ust",
    "var", "wh",
)  # fmt: skip
# su (simulateUnplugging) is write-only here: evcc sends su=1 to wake the car, so it wakes a car
# that is not online and does nothing otherwise.
WAKE_KEY: Final = "su"
WRITABLE: Final = frozenset({"amp", "frc", "fna", WAKE_KEY})


@dataclass(frozen=True, slots=True)
class GoeSource:
    """Everything a go-e answer is computed from, taken from one car at one moment."""

    charge: ChargeData | None  # the last data read from the car; None before the first read
    charge_requested: bool | None  # our last command in this plug session: start, stop or none
    start_blocked: bool  # a start would be refused (the soft target SoC is reached)
    max_amps: int  # the car's maximum charging current
    total_wh: float  # the integration's lifetime energy counter
    frc: int  # the force state as a go-e client last set it
    name: str  # the friendly name (fna)
    serial: str  # the serial number (sse)
    firmware: str  # the firmware version (fwv)
    online: bool  # the car was online when last seen (a wake-up would be wasted)


# ----- reading ------------------------------------------------------------------------------------


def phases(charge: ChargeData | None) -> int:
    """Phases in use, 0 when not charging (or at a DC fast charger)."""
    return charge.phases if charge is not None else 0


def charging_here(charge: ChargeData | None) -> bool:
    """Whether the car charges at this charger: charging, and not at a DC fast charger."""
    return charge is not None and charge.charging and not charge.fast_charging


def car_state(charge: ChargeData | None) -> int:
    """go-e's carState from the car's charging state."""
    if charge is None:
        return CAR_UNKNOWN
    if not charge.plugged_in or charge.fast_charging:
        return CAR_IDLE
    if charge.charging:
        return CAR_CHARGING
    if charge.charging_state == NO_POWER:
        return CAR_ERROR
    if charge.charging_state == COMPLETE:
        return CAR_COMPLETE
    return CAR_WAIT_CAR


def allowed(source: GoeSource) -> bool:
    """alw: whether the car may charge now.

    A car that charges is allowed to; otherwise a force state of "off" or a stop we sent in this
    plug session (from any source) forbids it.
    """
    if charging_here(source.charge):
        return True
    return source.frc != FRC_OFF and source.charge_requested is not False


def model_status(source: GoeSource) -> int:
    """modelStatus: why charging is allowed or not right now."""
    charge = source.charge
    if charge is None:
        return MODEL_NO_DATA
    if charge.charging_state == NO_POWER:
        return MODEL_ERROR
    if not allowed(source):
        return MODEL_FORCE_OFF
    return MODEL_FORCE_ON if source.frc == FRC_ON else MODEL_DEFAULT


def allowed_current(source: GoeSource) -> int:
    """acu: the amps the car may draw now (the requested current, capped by the wall charger)."""
    charge = source.charge
    if charge is None or not allowed(source):
        return 0
    amps = charge.charge_current_request or 0
    pilot = charge.charger_pilot_current or 0
    return min(amps, pilot) if pilot > 0 else amps


def energy_array(charge: ChargeData | None) -> list[float]:
    """nrg: U L1 L2 L3 N (V), I L1 L2 L3 (A), P L1 L2 L3 N total (W), pf L1 L2 L3 N (%).

    Only the phases in use are known, and only while charging; everything else reads 0.
    """
    used = phases(charge)
    volts = (charge.charger_voltage or 0) if charge is not None and used else 0
    amps = (charge.charger_actual_current or 0) if charge is not None and used else 0
    per_phase = [index < used for index in range(3)]
    voltages = [volts if on else 0 for on in per_phase]
    currents = [amps if on else 0 for on in per_phase]
    powers = [volts * amps if on else 0 for on in per_phase]
    factors = [POWER_FACTOR_PERCENT if on else 0 for on in per_phase]
    total = used * volts * amps
    return [*voltages, 0, *currents, *powers, 0, total, *factors, 0]


def phase_flags(charge: ChargeData | None) -> list[bool] | None:
    """pha: L1 L2 L3 after the contactor, then before it; None while the phases are unknown."""
    used = phases(charge)
    if not used:
        return None
    flags = [index < used for index in range(3)]
    return flags + flags


def phase_switch_mode(charge: ChargeData | None) -> int:
    """psm: the phases the car charges on (1 or 3); "auto" while that is not known."""
    used = phases(charge)
    if used == 1:
        return PSM_FORCE_1
    return PSM_FORCE_3 if used > 1 else PSM_AUTO


def status_values(source: GoeSource) -> dict[str, Any]:
    """Every key this charger serves, with its value now."""
    charge = source.charge
    here = charge is not None and not charge.fast_charging
    session_kwh = charge.charge_energy_added if charge is not None and here else None
    charging = charging_here(charge)
    max_amps = source.max_amps
    values: dict[str, Any] = {
        "acs": 0,  # access control: open, no card needed
        "acu": allowed_current(source),
        "alw": allowed(source),
        "ama": max_amps,
        "amp": charge.charge_current_request if charge is not None else None,
        "car": car_state(charge),
        "cards": [],
        "cbl": None,  # a cable's current limit is not reported by the car
        "dwo": None,  # no energy limit
        "err": ERR_UNKNOWN if charge is not None and charge.charging_state == NO_POWER else 0,
        "eto": math.floor(source.total_wh),
        "fna": source.name,
        "frc": source.frc,
        "fwv": source.firmware,
        "modelStatus": model_status(source),
        "nrg": energy_array(charge),
        "oem": OEM,
        "pha": phase_flags(charge),
        "pnp": phases(charge),
        "psm": phase_switch_mode(charge),
        "sse": source.serial,
        "tma": [],  # no temperature sensors
        "trx": 0 if charging else None,  # a transaction without a card while charging
        "typ": DEVICE_TYPE,
        "ust": 0,  # cable lock: normal (the car locks the cable itself)
        "var": VARIANT_11KW if max_amps <= VARIANT_11KW_MAX_AMPS else VARIANT_22KW,
        "wh": round((session_kwh or 0.0) * 1000, 1),
    }
    return values


def parse_filter(filters: Sequence[str]) -> set[str] | None:
    """The keys a status filter asks for; None for no filter (all keys).

    Accepts "a,b,c" (firmware 051.4 and newer) and the legacy JSON array ["a","b"].
    """
    wanted: set[str] = set()
    for text in filters:
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                listed = json.loads(stripped)  # valid JSON that starts with "[" is a list
            except ValueError:
                listed = []
            wanted.update(item for item in listed if isinstance(item, str))
            continue
        wanted.update(part.strip() for part in stripped.split(",") if part.strip())
    return wanted or None


def select(values: dict[str, Any], wanted: set[str] | None) -> dict[str, Any]:
    """Only the wanted keys that exist (keys we do not serve are left out)."""
    if wanted is None:
        return values
    return {key: value for key, value in values.items() if key in wanted}


# ----- writing ------------------------------------------------------------------------------------

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
