"""The wallbox view of a Tesla: pure domain model, no Home Assistant imports.

`WallboxState` is what the coordinator publishes: the last charge data read from the car, where the
car was, how fresh that is, and the plug-session facts the integration keeps between reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum
import math
from typing import Any


class Connection(StrEnum):
    """The car's connectivity as the vehicle endpoint reports it."""

    ONLINE = "online"
    ASLEEP = "asleep"
    OFFLINE = "offline"


class WallboxStatus(IntEnum):
    """The six wallbox states of the /tlwb API (the numbers are part of the API)."""

    NOT_READY = 0
    READY = 1
    READY_FOR_PV = 2
    CHARGING = 3
    STOPPED = 4
    INTERRUPTED = 5

    @property
    def key(self) -> str:
        """The enum sensor's option for this status."""
        return _STATUS_KEYS[self]


_STATUS_KEYS = {
    WallboxStatus.NOT_READY: "not_ready",
    WallboxStatus.READY: "ready",
    WallboxStatus.READY_FOR_PV: "ready_for_pv",
    WallboxStatus.CHARGING: "charging",
    WallboxStatus.STOPPED: "stopped",
    WallboxStatus.INTERRUPTED: "interrupted",
}
STATUS_OPTIONS = list(_STATUS_KEYS.values())

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

    @classmethod
    def from_api(cls, charge_state: dict[str, Any]) -> ChargeData:
        """Parse Tesla's charge_state section."""
        state = charge_state.get("charging_state")
        cable = charge_state.get("conn_charge_cable")
        return cls(
            charging_state=state if isinstance(state, str) else None,
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
            conn_charge_cable=cable if isinstance(cable, str) else None,
            minutes_to_full_charge=_int(charge_state.get("minutes_to_full_charge")),
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
        """Whether the car is charging or about to (Starting)."""
        return self.charging_state in (STARTING, CHARGING)

    @property
    def phases(self) -> int:
        """Phases in use: trunc((kW*1000 + 500) / V / A), 1-3, or 0 when not charging.

        Tesla's charger_phases reads 2 on a three-phase supply, so the count is derived from power.
        """
        volts = self.charger_voltage or 0
        amps = self.charger_actual_current or 0
        if self.charging_state != CHARGING or volts <= 0 or amps <= 0:
            return 0
        raw = math.trunc(((self.charger_power or 0.0) * 1000 + 500) / volts / amps)
        return min(max(raw, 1), 3)

    @property
    def power(self) -> int:
        """Charging power in W: phases x volts x amps."""
        return self.phases * (self.charger_voltage or 0) * (self.charger_actual_current or 0)


def compute_status(
    charge: ChargeData | None,
    *,
    at_pv_location: bool,
    session_charged: bool,
    charge_requested: bool | None,
) -> WallboxStatus:
    """The wallbox status from the car's charging state and the plug-session facts.

    charge_requested: True after our last command asked to charge, False after it asked to stop
    (switch, HTTP, soft target, PV control), None when we have not asked in this plug session.
    """
    if charge is None or not charge.plugged_in:
        return WallboxStatus.NOT_READY
    state = charge.charging_state
    if state in (STARTING, CHARGING):
        return WallboxStatus.CHARGING
    if state == COMPLETE:
        return WallboxStatus.STOPPED
    if state == NO_POWER or (state == STOPPED and charge_requested is True):
        return WallboxStatus.INTERRUPTED
    if session_charged:
        return WallboxStatus.STOPPED
    return WallboxStatus.READY_FOR_PV if at_pv_location else WallboxStatus.READY


def effective_target(limit: int | None, soft_target: int | None) -> int | None:
    """The target the user sees: the soft target while one is active, else the car's limit."""
    if soft_target is not None:
        return soft_target
    return limit


def soft_target_reached(charge: ChargeData | None, soft_target: int | None) -> bool:
    """Whether the battery has reached the soft target (never true without one)."""
    if soft_target is None or charge is None or charge.battery_level is None:
        return False
    return charge.battery_level >= soft_target


@dataclass(frozen=True, slots=True)
class LevelProjection:
    """Where the battery level is heading while the car charges, between two reads.

    The car's time-to-full at the last read, at the current it drew then, gives the amp-seconds
    one percent takes; a new current commanded since (voltage and phases stay) changes the pace.
    """

    at: float  # when the level was (or is projected to have been) `level`
    level: float
    amps: float
    amp_seconds_per_percent: float

    @classmethod
    def from_charge(cls, charge: ChargeData, data_time: float) -> LevelProjection | None:
        """The projection from a read, or None when the car gives no estimate to go by."""
        level = charge.battery_level
        limit = charge.charge_limit_soc
        minutes = charge.minutes_to_full_charge
        amps = charge.charger_actual_current
        if not charge.charging or level is None or limit is None or minutes is None:
            return None
        if amps is None or amps <= 0 or limit <= level:
            return None
        if minutes == 0:
            # No estimate yet (Starting), or under a minute to go (the car rounds down).
            if limit - level > 1:
                return None
            minutes = 1
        return cls(data_time, float(level), float(amps), amps * minutes * 60.0 / (limit - level))

    def level_at(self, when: float) -> float:
        """The projected level at `when` (not before `at`)."""
        return self.level + max(0.0, when - self.at) * self.amps / self.amp_seconds_per_percent

    def with_amps(self, when: float, amps: float) -> LevelProjection:
        """The projection after the car was told to draw `amps` from `when` on."""
        return replace(self, at=when, level=self.level_at(when), amps=max(0.0, amps))

    def time_of(self, target_level: float) -> float | None:
        """When the level reaches target_level; None while the car draws nothing."""
        if target_level <= self.level:
            return self.at
        if self.amps <= 0:
            return None
        return self.at + (target_level - self.level) * self.amp_seconds_per_percent / self.amps


@dataclass(frozen=True, slots=True)
class WallboxState:
    """Everything the integration knows about one car, as of `checked_time`.

    data_time: when vehicle_data was last read. confirmed_time: when that data was last known to be
    current (a read, or a state check that found the car asleep: a sleeping car cannot change it).
    checked_time: the last successful contact with the API of any kind.
    """

    vin: str
    connection: Connection | None = None
    charge: ChargeData | None = None
    latitude: float | None = None
    longitude: float | None = None
    at_pv_location: bool = False
    data_time: float | None = None
    confirmed_time: float | None = None
    checked_time: float | None = None
    session_charged: bool = False
    charge_requested: bool | None = None
    last_error: str | None = None

    @property
    def status(self) -> WallboxStatus:
        """The wallbox status code."""
        return compute_status(
            self.charge,
            at_pv_location=self.at_pv_location,
            session_charged=self.session_charged,
            charge_requested=self.charge_requested,
        )

    def with_charge(self, charge: ChargeData, now: float) -> WallboxState:
        """This state after a vehicle_data read, carrying the plug-session facts forward."""
        new_session = self.charge is None or _new_plug_session(self.charge, charge)
        session_charged = (False if new_session else self.session_charged) or charge.charging
        return replace(
            self,
            connection=Connection.ONLINE,
            charge=charge,
            data_time=now,
            confirmed_time=now,
            checked_time=now,
            session_charged=session_charged,
            charge_requested=None if new_session else self.charge_requested,
            last_error=None,
        )


def _new_plug_session(old: ChargeData, new: ChargeData) -> bool:
    """Whether the cable was (re)connected between two reads."""
    if not new.plugged_in:
        return True
    if not old.plugged_in:
        return True
    # A replug between two reads shows as the session's energy counter starting again.
    old_energy = old.charge_energy_added or 0.0
    new_energy = new.charge_energy_added or 0.0
    return new_energy + 0.05 < old_energy
