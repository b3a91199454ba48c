"""The go-eCharger HTTP API v2 keys of a car, as api/status answers them: pure, no HA imports.

`status_values` turns what the integration knows about a car (a GoeSource) into go-e's keys (`car`,
`alw`, `amp`, `nrg`, ...), and `parse_filter` and `select` answer a status filter. The plan of an
`api/set` request, from the same GoeSource, is goe_plan.py's.

A car at a DC fast charger is no car at this charger: idle (car 1), no current, no session energy.

Key semantics follow go-e's own API v2 documentation (github.com/goecharger/go-eCharger-API-v2,
apikeys-en.md and http-en.md); the documentation's page "go-eCharger compatible endpoint"
(docs/goe-api.md) lists every key and where its value comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import json
import math
from typing import Any, Final

from ..vehicle_data import COMPLETE, NO_POWER, ChargeData

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
# go-e's nrg power factors are in percent; a car's charger draws at a power factor close to 1.
POWER_FACTOR_PERCENT: Final = 100

# Every key the status answers with (status_values builds them in this order).
KEYS: Final = (
    "acs", "acu", "alw", "ama", "amp", "car", "cards", "cbl", "dwo", "err", "eto", "fna", "frc",
    "fwv", "modelStatus", "nrg", "oem", "pha", "pnp", "psm", "sse", "tma", "trx", "typ", "ust",
    "var", "wh",
)  # fmt: skip


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
