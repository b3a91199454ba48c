"""The car's state as the protocol carries it over Bluetooth LE: Fleet JSON -> protobuf.

Infotainment answers ``getVehicleData`` with a ``CarServer.Response`` whose ``vehicleData`` holds
the sub-states asked for (``vehicle.proto``); VCSEC answers an ``InformationRequest`` for the
status with a ``VehicleStatus`` (``vcsec.proto``). The figures are the ones the same car's
``vehicle_data`` JSON shows at that moment, so both transports read the same car.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tesla_protocol.command import car_server_pb2 as car_server
from tesla_protocol.command.vcsec_pb2 import (
    UserPresence_E,
    VehicleLockState_E,
    VehicleSleepStatus_E,
    VehicleStatus,
)
from tesla_protocol.command.vehicle_pb2 import ChargeState, DriveState, LocationState, VehicleData

from . import sections
from .vehicle import SimVehicle

# Number fields of ChargeState that carry the JSON value of the same name as it is.
_CHARGE_NUMBERS: Final = (
    "battery_level",
    "usable_battery_level",
    "battery_range",
    "est_battery_range",
    "ideal_battery_range",
    "charge_limit_soc",
    "charge_limit_soc_std",
    "charge_limit_soc_min",
    "charge_limit_soc_max",
    "max_range_charge_counter",
    "charge_energy_added",
    "charge_miles_added_rated",
    "charge_miles_added_ideal",
    "charger_voltage",
    "charger_pilot_current",
    "charger_actual_current",
    "charger_power",
    "charger_phases",
    "minutes_to_full_charge",
    "charge_current_request",
    "charge_current_request_max",
    "off_peak_hours_end_time",
    "scheduled_departure_time_minutes",
)
_CHARGE_FLAGS: Final = (
    "fast_charger_present",
    "trip_charging",
    "charge_port_door_open",
    "scheduled_charging_pending",
    "charge_enable_request",
    "charge_port_cold_weather_mode",
    "managed_charging_active",
    "managed_charging_user_canceled",
    "preconditioning_enabled",
    "supercharger_session_trip_planner",
)
# The car parks facing east (vehicle.py); nothing in the simulator drives.
_PARKED: Final = "P"


def _choose(oneof_holder: Any, name: str | None) -> None:
    """Pick one member of a Void oneof (``ChargingState``, ``CableType``...); SNA if unknown."""
    known = {field.name for field in oneof_holder.DESCRIPTOR.fields}
    choice = name if name in known else "SNA" if "SNA" in known else None
    if choice is not None:
        getattr(oneof_holder, choice).SetInParent()


def charge_state(data: Mapping[str, Any]) -> ChargeState:
    """A ``charge_state`` JSON section as the protobuf ChargeState."""
    state = ChargeState()
    for name in _CHARGE_NUMBERS:
        if data.get(name) is not None:
            setattr(state, name, data[name])
    for name in _CHARGE_FLAGS:
        if data.get(name) is not None:
            setattr(state, name, bool(data[name]))
    state.charging_amps = int(data["charge_amps"])
    state.charge_rate_mph = round(data["charge_rate"])
    _choose(state.charging_state, data["charging_state"])
    _choose(state.conn_charge_cable, data["conn_charge_cable"])
    _choose(state.fast_charger_type, data["fast_charger_type"])
    _choose(state.fast_charger_brand, data["fast_charger_brand"])
    _choose(state.charge_port_latch, data["charge_port_latch"])
    state.timestamp.FromMilliseconds(int(data["timestamp"]))
    return state


def drive_state(data: Mapping[str, Any]) -> DriveState:
    """A ``drive_state`` JSON section as the protobuf DriveState (a parked car)."""
    state = DriveState(power=int(data.get("power") or 0))
    _choose(state.shift_state, data.get("shift_state") or _PARKED)
    state.timestamp.FromMilliseconds(int(data["timestamp"]))
    return state


def location_state(data: Mapping[str, Any]) -> LocationState:
    """The position of a ``drive_state`` JSON section as the protobuf LocationState."""
    state = LocationState(
        latitude=data["latitude"],
        longitude=data["longitude"],
        heading=int(data["heading"]),
        gps_as_of=int(data["gps_as_of"]),
        native_location_supported=bool(data.get("native_location_supported")),
        native_latitude=data["native_latitude"],
        native_longitude=data["native_longitude"],
    )
    state.timestamp.FromMilliseconds(int(data["timestamp"]))
    return state


def drive_json(car: SimVehicle) -> dict[str, Any]:
    """The car's drive_state JSON with its position, as vehicle_data shows it, without touching
    the car (no sleep timer, no cached answer changed). OAuth scopes do not reach a local link."""
    stamp = int(car.charge_state()["timestamp"])
    return sections.drive_state(stamp, (car.latitude, car.longitude, car.heading))


def vehicle_data(car: SimVehicle, request: car_server.GetVehicleData) -> VehicleData:
    """The sub-states a ``getVehicleData`` asks for; the others are left out."""
    data = VehicleData()
    if request.HasField("getChargeState"):
        data.charge_state.CopyFrom(charge_state(car.charge_state()))
    if request.HasField("getDriveState"):
        data.drive_state.CopyFrom(drive_state(drive_json(car)))
    if request.HasField("getLocationState"):
        data.location_state.CopyFrom(location_state(drive_json(car)))
    return data


def vehicle_data_response(
    car: SimVehicle, request: car_server.GetVehicleData
) -> car_server.Response:
    """The ``CarServer.Response`` to a ``getVehicleData``."""
    return car_server.Response(
        actionStatus=car_server.ActionStatus(
            result=car_server.OperationStatus_E.OPERATIONSTATUS_OK
        ),
        vehicleData=vehicle_data(car, request),
    )


def vehicle_status(car: SimVehicle) -> VehicleStatus:
    """VCSEC's status: asleep unless online, locked (the simulated car is parked and locked),
    nobody inside."""
    asleep = car.state != "online"
    return VehicleStatus(
        vehicleLockState=VehicleLockState_E.VEHICLELOCKSTATE_LOCKED,
        vehicleSleepStatus=VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_ASLEEP
        if asleep
        else VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_AWAKE,
        userPresence=UserPresence_E.VEHICLE_USER_PRESENCE_NOT_PRESENT,
    )
