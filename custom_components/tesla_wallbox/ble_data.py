"""What a car says over Bluetooth, in the Fleet API's JSON shape: pure, no Home Assistant imports.

Over BLE the car answers in protobuf (`vehicle.proto` of teslamotors/vehicle-command): a
`ChargeState`, `DriveState` and `LocationState`. ble_client.py hands them over as dicts with the
proto field names (protobuf's JSON mapping: a oneof "enum" such as `charging_state` is
`{"Charging": {}}`, numbers of 64 bits are strings, unset fields are left out). This module turns
them into the `charge_state` and `drive_state` sections the rest of the integration reads
(vehicle_data.py), so that a reading over BLE and one from the cloud are the same to it.
"""

from __future__ import annotations

from typing import Any, Final

# The charge_state fields whose value is a plain number or flag, under the same name in both.
_SAME: Final = (
    "battery_level",
    "usable_battery_level",
    "charge_limit_soc",
    "charge_limit_soc_min",
    "charge_limit_soc_max",
    "charge_current_request",
    "charge_current_request_max",
    "charger_actual_current",
    "charger_pilot_current",
    "charger_voltage",
    "charger_phases",
    "charger_power",
    "charge_energy_added",
    "minutes_to_full_charge",
    "fast_charger_present",
    "charge_port_door_open",
    "battery_range",
    "charge_enable_request",
    "user_charge_enable_request",
)
# Tesla's REST charging_state values; the proto's Unknown and Calibrating say nothing we use.
_CHARGING_STATES: Final = frozenset(
    {"Disconnected", "NoPower", "Starting", "Charging", "Complete", "Stopped"}
)
# What the REST answer shows for "no value" of a cable or charger type (the proto's SNA).
_INVALID: Final = "<invalid>"


def _choice(value: Any) -> str | None:
    """The name chosen in a oneof "enum" message: {"Charging": {}} is "Charging"."""
    if isinstance(value, dict) and len(value) == 1:
        (name,) = value
        if isinstance(name, str):
            return name
    return None


def _type_name(value: Any) -> str | None:
    name = _choice(value)
    if name is None:
        return None
    return _INVALID if name == "SNA" else name


def charge_state(proto: dict[str, Any]) -> dict[str, Any]:
    """The REST charge_state section for a BLE ChargeState; without a charging state the
    section has none (vehicle_data.py then reads it as saying nothing about the charge)."""
    section: dict[str, Any] = {name: proto[name] for name in _SAME if name in proto}
    state = _choice(proto.get("charging_state"))
    if state in _CHARGING_STATES:
        section["charging_state"] = state
    cable = _type_name(proto.get("conn_charge_cable"))
    if cable is not None:
        section["conn_charge_cable"] = cable
    charger = _type_name(proto.get("fast_charger_type"))
    if charger is not None:
        section["fast_charger_type"] = charger
    return section


def drive_state(drive: dict[str, Any], location: dict[str, Any] | None) -> dict[str, Any]:
    """The REST drive_state section for a BLE DriveState and, when read, its LocationState
    (the position). The proto's P/R/N/D are the REST shift states; Invalid and SNA are null."""
    section: dict[str, Any] = {}
    shift = _choice(drive.get("shift_state"))
    section["shift_state"] = shift if shift in ("P", "R", "N", "D") else None
    if "speed" in drive:
        section["speed"] = drive["speed"]
    if location is not None:
        latitude, longitude = location.get("latitude"), location.get("longitude")
        # Proto3 leaves out zeros: a position needs both, and (0, 0) is no position.
        if isinstance(latitude, (int, float)) and isinstance(longitude, (int, float)):
            section["latitude"] = latitude
            section["longitude"] = longitude
        if "heading" in location:
            section["heading"] = location["heading"]
    return section


def vehicle_data(
    charge: dict[str, Any], drive: dict[str, Any], location: dict[str, Any] | None
) -> dict[str, Any]:
    """A vehicle_data response as the cloud gives it, for what was read over BLE: the car
    answered, so it is online."""
    return {
        "state": "online",
        "charge_state": charge_state(charge),
        "drive_state": drive_state(drive, location),
    }
