"""The car as the home charge point sees it, in the states wallbox clients read: pure, no Home
Assistant imports.

The wallbox status (0-5) says more, but clients that read plain Home Assistant entities know only
the three states of IEC 61851 (A: no car, B: car connected, C: charging). evcc's `homeassistant`
charger maps an entity's state through a fixed table and fails on any other word; its table has
`disconnected`, `connected` and `charging`, so those are the states here.
"""

from __future__ import annotations

from enum import StrEnum

from .wallbox import WallboxState, WallboxStatus


class ChargePointState(StrEnum):
    """IEC 61851 A, B and C, in words evcc's table knows."""

    DISCONNECTED = "disconnected"  # A: no car at this charge point
    CONNECTED = "connected"  # B: plugged in here, not charging
    CHARGING = "charging"  # C


CHARGE_POINT_OPTIONS = [state.value for state in ChargePointState]


def charge_point_state(state: WallboxState, *, zone_configured: bool) -> ChargePointState:
    """Where the car stands with the home charge point.

    With a PV zone configured, that zone is where the charge point is: a car known to be
    elsewhere is not at it, whatever it is plugged into. Without one there is no telling, and any
    cable counts, as in the wallbox status.
    """
    status = state.status
    if status is WallboxStatus.NOT_READY or (zone_configured and state.at_pv_location is False):
        return ChargePointState.DISCONNECTED
    if status is WallboxStatus.CHARGING:
        return ChargePointState.CHARGING
    # Ready, ready for PV, stopped, interrupted: the car is connected and does not charge.
    return ChargePointState.CONNECTED


def charging_enabled(state: WallboxState) -> bool:
    """Whether charging is allowed: what a wallbox's enable switch shows, which is the last
    start or stop asked for in this plug session, not whether current flows. A full car that was
    told to charge is still enabled; a client that compared this with charging would see it out
    of step and send another start. Before any request, the car's own choice counts (a Tesla
    starts by itself when plugged in)."""
    if state.charge_requested is not None:
        return state.charge_requested
    return state.charge is not None and state.charge.charging
