"""ble_data: what a car says over Bluetooth (protobuf, vehicle.proto) in the cloud's JSON shape.

The inputs are real protobuf messages (teslamotors/vehicle-command's vehicle.proto, compiled in
tesla_protocol), turned into dicts by the library's own `toDict`, as ble_client.py does.
"""

from __future__ import annotations

from typing import Any

from tesla_fleet_api.tesla.bluetooth import toDict
from tesla_protocol.command.vehicle_pb2 import ChargeState, DriveState, LocationState

from custom_components.tesla_wallbox import ble_data
from custom_components.tesla_wallbox.vehicle_data import ChargeData, position_of


def _charging() -> ChargeState:
    state = ChargeState(
        battery_level=57,
        usable_battery_level=56,
        charge_limit_soc=80,
        charge_limit_soc_min=50,
        charge_limit_soc_max=100,
        charge_current_request=16,
        charge_current_request_max=16,
        charger_actual_current=16,
        charger_pilot_current=16,
        charger_voltage=229,
        charger_phases=2,
        charger_power=11,
        charge_energy_added=4.5,
        minutes_to_full_charge=95,
        charge_port_door_open=True,
        fast_charger_present=False,
    )
    state.charging_state.Charging.SetInParent()
    state.conn_charge_cable.IEC.SetInParent()
    state.fast_charger_type.ACSingleWireCAN.SetInParent()
    return state


def test_a_charging_car_reads_as_the_cloud_shows_it() -> None:
    section = ble_data.charge_state(toDict(_charging()))
    assert section["charging_state"] == "Charging"
    assert section["conn_charge_cable"] == "IEC"
    assert section["fast_charger_type"] == "ACSingleWireCAN"
    charge = ChargeData.from_reply(section)
    assert charge is not None
    assert (charge.battery_level, charge.charge_limit_soc) == (57, 80)
    assert (charge.charger_actual_current, charge.charger_voltage) == (16, 229)
    # charger_phases 2 is three phases, as in the cloud's answer.
    assert (charge.phases, charge.power) == (3, 3 * 229 * 16)
    assert charge.charge_energy_added == 4.5
    assert charge.charge_port_door_open is True
    assert charge.plugged_in
    assert charge.charging


def test_every_charging_state_of_the_proto() -> None:
    expected = {
        "Disconnected": "Disconnected",
        "NoPower": "NoPower",
        "Starting": "Starting",
        "Charging": "Charging",
        "Complete": "Complete",
        "Stopped": "Stopped",
        # Nothing we can use: the section then says nothing about the charge.
        "Unknown": None,
        "Calibrating": None,
    }
    for name, rest in expected.items():
        state = ChargeState(battery_level=50)
        getattr(state.charging_state, name).SetInParent()
        section = ble_data.charge_state(toDict(state))
        assert section.get("charging_state") == rest, name
        assert (ChargeData.from_reply(section) is None) == (rest is None), name


def test_no_cable_reads_invalid_and_a_zero_is_a_zero() -> None:
    state = ChargeState(battery_level=0, charger_actual_current=0)
    state.charging_state.Disconnected.SetInParent()
    state.conn_charge_cable.SNA.SetInParent()
    section = ble_data.charge_state(toDict(state))
    assert section["conn_charge_cable"] == "<invalid>"
    # The car's fields are proto3 "optional": a 0 it sets is a 0; what it leaves out is missing.
    charge = ChargeData.from_reply(section)
    assert charge is not None
    assert (charge.battery_level, charge.charger_actual_current) == (0, 0)
    assert charge.charger_voltage is None
    assert not charge.plugged_in


def test_drive_and_location() -> None:
    drive = DriveState(speed=0)
    drive.shift_state.P.SetInParent()
    location = LocationState(latitude=48.137, longitude=11.575, heading=90)
    data = ble_data.vehicle_data(toDict(_charging()), toDict(drive), toDict(location))
    assert data["state"] == "online"
    assert data["drive_state"]["shift_state"] == "P"
    assert data["drive_state"]["heading"] == 90
    assert position_of(data["drive_state"]) == (48.137, 11.575)


def test_without_location_there_is_no_position() -> None:
    drive = DriveState()
    drive.shift_state.SNA.SetInParent()
    section = ble_data.drive_state(toDict(drive), None)
    assert section == {"shift_state": None}
    assert position_of(section) is None


def test_a_location_without_longitude_is_no_position() -> None:
    location: dict[str, Any] = toDict(LocationState(latitude=48.1))
    section = ble_data.drive_state({}, location)
    assert "latitude" not in section
    assert position_of(section) is None


def test_odd_oneof_values_are_ignored() -> None:
    section = ble_data.charge_state(
        {"charging_state": {"Charging": {}, "Stopped": {}}, "conn_charge_cable": "IEC"}
    )
    assert section == {}
