"""The wallbox view of a Tesla: pure domain model, no Home Assistant imports.

`WallboxState` is what the coordinator publishes: the last charge data read from the car, where the
car was, how fresh that is, and the plug-session facts the integration keeps between reads.

The wallbox is the AC charger at home. A car at a DC fast charger (Supercharger, CCS, CHAdeMO) is
plugged in, but not here: the wallbox view shows no car, no power and no energy for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

from .vehicle_data import CHARGING, COMPLETE, NO_POWER, STARTING, STOPPED, ChargeData, Connection


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
