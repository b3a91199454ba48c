"""What a Tesla's reply says, parsed: pure, no Home Assistant imports.

`ChargeData` is the charge_state section of a vehicle_data reply (with the phases and power the
wallbox reads from it), `position_of` the position in its drive_state, `reply_connection` the car's
state it gives. A value of the wrong type reads as missing, never as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math
from typing import Any


class Connection(StrEnum):
    """The car's connectivity as the vehicle endpoint reports it."""

    ONLINE = "online"
    ASLEEP = "asleep"
    OFFLINE = "offline"


# Tesla's charging_state values
DISCONNECTED = "Disconnected"
STOPPED = "Stopped"
STARTING = "Starting"
CHARGING = "Charging"
COMPLETE = "Complete"
NO_POWER = "NoPower"
CHARGING_STATES = (DISCONNECTED, STOPPED, STARTING, CHARGING, COMPLETE, NO_POWER)


def _int(value: Any) -> int | None:
    """An int from a JSON value, None for missing or non-numeric values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    return None


def _bool(value: Any) -> bool | None:
    """A bool from a JSON value, None for anything else."""
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _float(value: Any) -> float | None:
    """A float from a JSON value, None for missing or non-numeric values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True, slots=True)
class ChargeData:
    """The charge_state fields the wallbox uses, parsed from vehicle_data."""

    charging_state: str | None = None
    battery_level: int | None = None
    charge_limit_soc: int | None = None
    charge_limit_soc_min: int | None = None
    charge_limit_soc_max: int | None = None
    charge_current_request: int | None = None
    charge_current_request_max: int | None = None
    charger_actual_current: int | None = None
    charger_pilot_current: int | None = None
    charger_voltage: int | None = None
    charger_phases: int | None = None
    charger_power: float | None = None
    charge_energy_added: float | None = None
    conn_charge_cable: str | None = None
    minutes_to_full_charge: int | None = None
    fast_charger_present: bool | None = None
    fast_charger_type: str | None = None
    charge_port_door_open: bool | None = None

    @classmethod
    def from_reply(cls, section: Any) -> ChargeData | None:
        """The charge_state section of a vehicle_data reply; None when the reply has none (null,
        left out, or without a charging_state): such a reply says nothing about the charge."""
        if not isinstance(section, dict) or not isinstance(section.get("charging_state"), str):
            return None
        return cls.from_api(section)

    @classmethod
    def from_api(cls, charge_state: dict[str, Any]) -> ChargeData:
        """Parse Tesla's charge_state section."""
        return cls(
            charging_state=_str(charge_state.get("charging_state")),
            battery_level=_int(charge_state.get("battery_level")),
            charge_limit_soc=_int(charge_state.get("charge_limit_soc")),
            charge_limit_soc_min=_int(charge_state.get("charge_limit_soc_min")),
            charge_limit_soc_max=_int(charge_state.get("charge_limit_soc_max")),
            charge_current_request=_int(charge_state.get("charge_current_request")),
            charge_current_request_max=_int(charge_state.get("charge_current_request_max")),
            charger_actual_current=_int(charge_state.get("charger_actual_current")),
            charger_pilot_current=_int(charge_state.get("charger_pilot_current")),
            charger_voltage=_int(charge_state.get("charger_voltage")),
            charger_phases=_int(charge_state.get("charger_phases")),
            charger_power=_float(charge_state.get("charger_power")),
            charge_energy_added=_float(charge_state.get("charge_energy_added")),
            conn_charge_cable=_str(charge_state.get("conn_charge_cable")),
            minutes_to_full_charge=_int(charge_state.get("minutes_to_full_charge")),
            fast_charger_present=_bool(charge_state.get("fast_charger_present")),
            fast_charger_type=_str(charge_state.get("fast_charger_type")),
            charge_port_door_open=_bool(charge_state.get("charge_port_door_open")),
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict, in Tesla's field names (for storage and diagnostics)."""
        return {name: getattr(self, name) for name in self.__slots__}

    @property
    def plugged_in(self) -> bool:
        """Whether a cable is in the charge port."""
        if self.charging_state is None:
            return False
        return self.charging_state != DISCONNECTED

    @property
    def charging(self) -> bool:
        """Whether the car is charging or about to (Starting), on any charger."""
        return self.charging_state in (STARTING, CHARGING)

    @property
    def fast_charging(self) -> bool:
        """Whether the car is at a DC fast charger (Tesla's fast_charger_present): not ours.

        fast_charger_type names it ("Supercharger", "Combo", "CHAdeMO"...), but on AC it reads
        "ACSingleWireCAN" or "<invalid>", so only fast_charger_present decides.
        """
        return self.fast_charger_present is True

    @property
    def phases(self) -> int:
        """Phases the car charges on at an AC charger: 1 or 3; 0 when not charging (or on DC).

        Tesla's charger_phases reads 1 on one phase and 2 on three (3 is read as three too). Only
        when it is missing does the power decide: three phases when charger_power is nearer to
        3 x V x A than to V x A. A Tesla never charges on two.
        """
        volts = self.charger_voltage or 0
        amps = self.charger_actual_current or 0
        if self.charging_state != CHARGING or self.fast_charging or volts <= 0 or amps <= 0:
            return 0
        if self.charger_phases == 1:
            return 1
        if self.charger_phases in (2, 3):
            return 3
        ratio = (self.charger_power or 0.0) * 1000 / (volts * amps)
        return 3 if ratio >= 2 else 1

    @property
    def power(self) -> int:
        """AC charging power in W: phases x volts x amps (0 on a DC fast charger)."""
        return self.phases * (self.charger_voltage or 0) * (self.charger_actual_current or 0)


def position_of(drive_state: Any) -> tuple[float, float] | None:
    """Latitude and longitude from a drive_state section; None when it has none (Tesla leaves
    them out without location_data or the vehicle_location scope)."""
    if not isinstance(drive_state, dict):
        return None
    latitude = _float(drive_state.get("latitude"))
    longitude = _float(drive_state.get("longitude"))
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def reply_connection(data: dict[str, Any]) -> Connection | None:
    """The car's state a vehicle_data reply gives: online for a live answer (also when the state
    is left out), asleep or offline for cached data, None for a state we do not know."""
    state = data.get("state")
    if state is None:
        return Connection.ONLINE
    try:
        return Connection(state)
    except ValueError:
        return None
