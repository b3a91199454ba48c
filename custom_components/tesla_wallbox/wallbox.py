"""The wallbox view of a Tesla: pure domain model, no Home Assistant imports.

`WallboxState` is what the coordinator publishes: the last charge data read from the car, where the
car was, how fresh that is, and the plug-session facts the integration keeps between reads.

The wallbox is the AC charger at home. A car at a DC fast charger (Supercharger, CCS, CHAdeMO) is
plugged in, but not here: the wallbox view shows no car, no power and no energy for it.
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


def compute_status(
    charge: ChargeData | None,
    *,
    at_pv_location: bool | None,
    session_charged: bool,
    charge_requested: bool | None,
) -> WallboxStatus:
    """The wallbox status from the car's charging state and the plug-session facts.

    at_pv_location: None when not known; only a car known to be there is ready for PV.
    charge_requested: True after our last command asked to charge, False after it asked to stop
    (switch, HTTP, soft target, PV control), None when we have not asked in this plug session.

    A car at a DC fast charger is not at this wallbox: not ready, as if unplugged. "Charging"
    would tell a home loadpoint that the car charges here, at the 0 W its AC fields read.
    """
    if charge is None or not charge.plugged_in or charge.fast_charging:
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
    return WallboxStatus.READY_FOR_PV if at_pv_location is True else WallboxStatus.READY


def counts_as_home_energy(
    charge: ChargeData | None, session_at_pv_location: bool | None, *, zone_configured: bool
) -> bool:
    """Whether energy charged up to this read goes into the lifetime total (go-e's eto, the Energy
    dashboard): what the wallbox at home would have metered.

    Never a DC fast charge. AC counts unless the car is known to be plugged in outside the PV
    zone: without a PV zone there is no telling where home is, and a session whose position was
    never known counts too (only a car known to be elsewhere is left out).
    """
    if charge is None or charge.fast_charging:
        return False
    return not (zone_configured and session_at_pv_location is False)


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

    data_time: when the charge data was read. confirmed_time: when that data was last known to be
    current (a read, or a state check that found the car asleep: a sleeping car cannot change it).
    checked_time: the last successful contact with the API of any kind.
    latitude, longitude: the position in the last live reply (None when it had none).
    at_pv_location: whether that position is in the PV zone; None when not known (no position, or
    the zone entity missing); False without a PV zone. session_at_pv_location: the last known
    answer in this plug session (a plugged-in car does not move), for the energy total.
    """

    vin: str
    connection: Connection | None = None
    charge: ChargeData | None = None
    latitude: float | None = None
    longitude: float | None = None
    at_pv_location: bool | None = None
    session_at_pv_location: bool | None = None
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

    @property
    def position(self) -> tuple[float, float] | None:
        """Latitude and longitude, or None when not known."""
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude

    def with_charge(self, charge: ChargeData | None, now: float) -> WallboxState:
        """This state after a live vehicle_data reply, carrying the plug-session facts forward.

        A reply without charge data (charge_state null or left out) says nothing about the cable:
        the last charge data, its time and the session stay as they were.
        """
        if charge is None:
            return replace(self, connection=Connection.ONLINE, checked_time=now, last_error=None)
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
            session_at_pv_location=None if new_session else self.session_at_pv_location,
            last_error=None,
        )

    def with_position(
        self, position: tuple[float, float] | None, at_pv_location: bool | None
    ) -> WallboxState:
        """This state with the position of the last reply (None: it had none, so unknown)."""
        latitude, longitude = position if position is not None else (None, None)
        session = self.session_at_pv_location if at_pv_location is None else at_pv_location
        return replace(
            self,
            latitude=latitude,
            longitude=longitude,
            at_pv_location=at_pv_location,
            session_at_pv_location=session,
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
