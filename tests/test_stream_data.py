"""Teslemetry's stream, read: events as Teslemetry and Home Assistant's tests show them, the
simulator's own, and the malformed kinds; and the metadata that says which cars stream.

Pure: no Home Assistant, no network.
"""

from __future__ import annotations

from dataclasses import fields, replace
import math
from typing import Any

import pytest

from custom_components.tesla_wallbox.stream_data import (
    DEFAULT_SERVER,
    PROBE_GAP,
    StreamReading,
    account_of,
    charge_after,
    probe_due,
    read_event,
)
from custom_components.tesla_wallbox.vehicle_data import ChargeData, Connection
from fleet_sim import SimClock, VehicleConfig
from fleet_sim.telemetry import envelope, signals, state_body
from fleet_sim.vehicle import SimVehicle

# Home Assistant core, tests/components/teslemetry/test_sensor.py (test_sensors_streaming): a
# data event as its tests feed the stream listeners, a credits piece beside the signals.
HA_CORE_EVENT: dict[str, Any] = {
    "vin": "LRW3F7EK4NC700000",
    "data": {
        "DetailedChargeState": "DetailedChargeStateCharging",
        "BatteryLevel": 90,
        "ACChargingEnergyIn": 10,
        "ACChargingPower": 2,
        "ChargingCableType": None,
        "TimeToFullCharge": 0.166666667,
        "MinutesToArrival": None,
    },
    "credits": {"type": "wake_up", "cost": 20, "name": "wake_up", "balance": 1980},
    "createdAt": "2024-10-04T10:45:17.537Z",
}
# teslemetry.com/docs/getting-started/telemetry, "Teslemetry format" (the format of its server-sent
# events): a number sent as text, and createdAt with nanoseconds.
DOCS_EVENT: dict[str, Any] = {
    "data": {
        "Location": {"latitude": 30.2226645, "longitude": -97.6213806},
        "VehicleSpeed": "34.797",
    },
    "createdAt": "2024-02-24T04:58:44.983607402Z",
    "vin": "LRW3...",
}
# Home Assistant core, tests/components/teslemetry/const.py: METADATA and METADATA_LEGACY (the car
# of a legacy account is polled by Teslemetry, not streamed).
HA_CORE_METADATA: dict[str, Any] = {
    "uid": "abc-123",
    "region": "NA",
    "scopes": ["openid", "offline_access", "user_data", "vehicle_device_data", "vehicle_cmds"],
    "vehicles": {
        "LRW3F7EK4NC700000": {
            "proxy": True,
            "access": True,
            "polling": False,
            "firmware": "2026.0.0",
            "discounted": False,
            "fleet_telemetry": "1.0.2",
            "name": "Home Assistant",
        }
    },
    "energy_sites": {"123456": {"access": True, "name": "Energy Site"}},
}
HA_CORE_METADATA_LEGACY_CAR: dict[str, Any] = {
    "proxy": False,
    "access": True,
    "polling": True,
    "firmware": "2024.44.25",
    "discounted": True,
    "fleet_telemetry": "unknown",
}


def data_event(**signals_: Any) -> dict[str, Any]:
    return {"vin": "V", "createdAt": "2025-06-15T15:06:40.000000000Z", "data": signals_}


def test_home_assistant_cores_event() -> None:
    reading = read_event(HA_CORE_EVENT)
    assert reading.charge == {
        "charging_state": "Charging",
        "battery_level": 90,
        "charge_energy_added": 10.0,
        "charger_power": 2.0,
        "conn_charge_cable": None,  # Tesla's "invalid": no cable reported
        "minutes_to_full_charge": 10,  # hours, as the stream sends them
    }
    assert reading.time == pytest.approx(1728038717.537)
    assert not reading.cached
    assert reading.connection is None
    assert not reading.has_position


def test_teslemetrys_documented_event() -> None:
    reading = read_event(DOCS_EVENT)
    assert reading.has_position
    assert reading.position == (30.2226645, -97.6213806)
    assert reading.charge == {}  # VehicleSpeed is none of the wallbox's
    assert not reading.empty
    # Nanoseconds cut to microseconds; UTC.
    assert reading.time == pytest.approx(1708750724.983607)


def test_the_librarys_timestamp_comes_first() -> None:
    """teslemetry-stream (parse_timestamp=True) adds `timestamp` in epoch milliseconds."""
    event = {**HA_CORE_EVENT, "timestamp": 1728038717537, "createdAt": "not a time"}
    assert read_event(event).time == pytest.approx(1728038717.537)
    assert read_event({**HA_CORE_EVENT, "createdAt": "not a time"}).time is None
    assert read_event({"state": "online"}).time is None
    naive = read_event({"state": "online", "createdAt": "2024-10-04T10:45:17"})
    assert naive.time == pytest.approx(1728038717.0)  # without a zone: UTC


@pytest.mark.parametrize(
    ("state", "connection"),
    [
        ("online", Connection.ONLINE),
        ("asleep", Connection.ASLEEP),
        ("offline", Connection.OFFLINE),
        ("sleeping", None),
        (None, None),
        (3, None),
    ],
)
def test_state_events(state: Any, connection: Connection | None) -> None:
    reading = read_event({"vin": "V", "createdAt": "2025-06-15T15:06:40Z", "state": state})
    assert reading.connection is connection
    assert reading.empty is (connection is None)


def test_the_cache_flag() -> None:
    assert read_event({**HA_CORE_EVENT, "isCache": True}).cached
    assert not read_event({**HA_CORE_EVENT, "isCache": "yes"}).cached


@pytest.mark.parametrize(
    ("signal", "value", "field", "expected"),
    [
        # Numbers as text, as some cars still send them.
        ("ChargeCurrentRequest", "3", "charge_current_request", 3),
        ("ChargerVoltage", "229.6", "charger_voltage", 230),
        ("ACChargingPower", "11.04", "charger_power", 11.04),
        ("ChargeLimitSoc", 80.0, "charge_limit_soc", 80),
        # BatteryLevel is a float; vehicle_data's whole percent is rounded down.
        ("BatteryLevel", 79.96, "battery_level", 79),
        ("BatteryLevel", "100", "battery_level", 100),
        ("ChargeAmps", 15.8, "charger_actual_current", 16),
        ("ChargeCurrentRequestMax", 32, "charge_current_request_max", 32),
        ("ChargerPhases", 2, "charger_phases", 2),
        ("ChargerPhases", None, "charger_phases", None),  # null unless charging on AC
        ("ChargingCableType", "CableTypeIEC", "conn_charge_cable", "IEC"),
        ("ChargingCableType", "IEC", "conn_charge_cable", "IEC"),
        ("FastChargerType", "FastChargerSupercharger", "fast_charger_type", "Supercharger"),
        ("FastChargerType", None, "fast_charger_type", None),
        ("FastChargerPresent", "true", "fast_charger_present", True),
        ("FastChargerPresent", False, "fast_charger_present", False),
        ("ChargePortDoorOpen", True, "charge_port_door_open", True),
        ("TimeToFullCharge", 1.5, "minutes_to_full_charge", 90),
        ("ACChargingEnergyIn", 3.217, "charge_energy_added", 3.217),
        ("DetailedChargeState", "DetailedChargeStateNoPower", "charging_state", "NoPower"),
        ("DetailedChargeState", "Stopped", "charging_state", "Stopped"),
    ],
)
def test_signal_values(signal: str, value: Any, field: str, expected: Any) -> None:
    assert read_event(data_event(**{signal: value})).charge == {field: expected}


@pytest.mark.parametrize(
    ("signal", "value"),
    [
        # What cannot be read leaves the field as it was.
        ("BatteryLevel", None),
        ("BatteryLevel", "n/a"),
        ("BatteryLevel", 101),
        ("BatteryLevel", -1),
        ("BatteryLevel", True),
        ("BatteryLevel", math.nan),
        ("ChargeAmps", "inf"),
        ("ChargeAmps", [16]),
        ("ChargeCurrentRequest", None),
        ("ChargerPhases", "three"),
        ("TimeToFullCharge", -0.5),
        # Unknown and Calibrating have no twin in vehicle_data; a new value is not ours either.
        ("DetailedChargeState", "DetailedChargeStateUnknown"),
        ("DetailedChargeState", "DetailedChargeStateCalibrating"),
        ("DetailedChargeState", "DetailedChargeStateSomethingNew"),
        ("DetailedChargeState", None),
        ("DetailedChargeState", 3),
        ("ChargingCableType", 1),
        ("ChargingCableType", "CableType"),
        ("FastChargerPresent", "maybe"),
        ("FastChargerPresent", 1),
    ],
)
def test_values_that_cannot_be_read(signal: str, value: Any) -> None:
    reading = read_event(data_event(**{signal: value}))
    assert reading.charge == {}
    assert reading.empty


@pytest.mark.parametrize(
    "location",
    [
        "30.2,-97.6",
        {"latitude": 30.2},
        {"latitude": "north", "longitude": -97.6},
        {"latitude": 91, "longitude": 0},
        {"latitude": 0, "longitude": 181},
        [30.2, -97.6],
    ],
)
def test_a_location_that_cannot_be_read(location: Any) -> None:
    reading = read_event(data_event(Location=location))
    assert not reading.has_position
    assert reading.position_or((1.0, 2.0)) == (1.0, 2.0)


def test_a_null_location_means_not_known() -> None:
    reading = read_event(data_event(Location=None))
    assert reading.has_position
    assert reading.position_or((1.0, 2.0)) is None
    assert read_event(data_event(Location={"latitude": "30", "longitude": "-97"})).position == (
        30.0,
        -97.0,
    )


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "data: {}",
        {},
        {"vin": "V", "data": None},
        {"vin": "V", "data": [["BatteryLevel", 50]]},
        {"vin": "V", "data": "BatteryLevel=50"},
        {"vin": "V", "config": {"fields": {"BatteryLevel": {}}}},
        {"vin": "V", "networkInterface": "wifi", "status": "CONNECTED"},
        {"vin": "V", "alerts": [{"name": "Test", "audiences": ["Customer"]}]},
    ],
)
def test_events_that_say_nothing_to_the_wallbox(event: Any) -> None:
    assert read_event(event).empty


def test_charge_after_builds_on_the_last_data() -> None:
    last = ChargeData(
        charging_state="Charging",
        battery_level=50,
        charge_limit_soc_min=50,
        charge_limit_soc_max=100,
        charger_pilot_current=16,
        charge_current_request_max=16,
    )
    reading = read_event(data_event(BatteryLevel=51.2, ChargeAmps=15.9))
    after = charge_after(reading, last)
    assert after == replace(last, battery_level=51, charger_actual_current=16)
    # Not streamed at all: kept from the last vehicle_data read.
    assert (after.charge_limit_soc_min, after.charge_limit_soc_max) == (50, 100)
    assert charge_after(StreamReading(), last) is last
    assert charge_after(StreamReading(), None) is None
    assert charge_after(reading, None) == ChargeData(battery_level=51, charger_actual_current=16)


@pytest.mark.parametrize(
    ("changes", "pilot"),
    [
        ({"DetailedChargeState": "DetailedChargeStateDisconnected"}, 0),
        ({"DetailedChargeState": "DetailedChargeStateStopped"}, 32),
        ({"ChargeCurrentRequestMax": 10}, 10),
        ({"FastChargerPresent": True}, 0),
        ({"BatteryLevel": 60}, 16),  # the pilot's inputs did not change: as it was
    ],
)
def test_the_pilot_follows_the_maximum_available_current(
    changes: dict[str, Any], pilot: int
) -> None:
    last = ChargeData(
        charging_state="Charging", charger_pilot_current=16, charge_current_request_max=32
    )
    after = charge_after(read_event(data_event(**changes)), last)
    assert after is not None
    assert after.charger_pilot_current == pilot


def test_the_pilot_is_not_guessed_without_a_charging_state() -> None:
    after = charge_after(read_event(data_event(ChargeCurrentRequestMax=16)), None)
    assert after == ChargeData(charge_current_request_max=16)


@pytest.mark.parametrize(
    ("config", "plug"),
    [
        (VehicleConfig(plugged_in=True, battery_level=20.0), "ac"),
        (VehicleConfig(plugged_in=True, battery_level=79.996, charge_limit_soc=80), "ac"),
        (
            VehicleConfig(plugged_in=True, supply_phases=1, supply_voltage=240, wall_max_amps=32),
            "ac",
        ),
        (VehicleConfig(plugged_in=True, auto_start_on_plug=False), "ac"),
        (VehicleConfig(), "none"),
        (VehicleConfig(battery_level=30.0), "dc"),
    ],
)
def test_the_simulators_stream_reads_as_its_vehicle_data(config: VehicleConfig, plug: str) -> None:
    """The same car through both doors: every field the stream carries reads as vehicle_data's
    (the phases and power the wallbox shows included)."""
    clock = SimClock(start=1_750_000_000.0, speed=0)
    car = SimVehicle(config, index=1, clock=clock, wake_delay=20.0, sleep_after=900.0)
    if plug == "dc":
        car.plug_in_dc()
    clock.advance(600)
    event = envelope(car.vin, clock.now(), {"data": signals(car)})
    reading = read_event(event)
    polled = ChargeData.from_api(car.charge_state())
    streamed = charge_after(reading, ChargeData())
    assert streamed is not None
    not_streamed = {"charge_limit_soc_min", "charge_limit_soc_max"}
    if plug == "dc":
        # On DC the stream's AC power and energy read 0 (DCChargingPower and DCChargingEnergyIn
        # carry them); the wallbox shows neither for a car at a fast charger.
        not_streamed |= {"charger_power", "charge_energy_added"}
    for name in {f.name for f in fields(ChargeData)} - not_streamed:
        streamed_value, polled_value = getattr(streamed, name), getattr(polled, name)
        if name == "charger_power":
            # vehicle_data has whole kW; the stream the kW to three decimals.
            assert streamed_value == pytest.approx(polled_value, abs=0.5)
        elif name == "charge_energy_added":
            # vehicle_data has two decimals, the stream three.
            assert streamed_value == pytest.approx(polled_value, abs=0.005)
        elif name not in ("conn_charge_cable", "fast_charger_type"):
            # (vehicle_data writes "<invalid>" where the stream sends null.)
            assert streamed_value == polled_value, name
    assert (streamed.phases, streamed.power) == (polled.phases, polled.power)
    assert reading.position == (car.latitude, car.longitude)
    assert reading.time == clock.now()
    state = read_event(envelope(car.vin, clock.now(), state_body(car.state)))
    assert state.connection is Connection.ONLINE


def test_metadata_from_home_assistant_cores_tests() -> None:
    metadata = {
        **HA_CORE_METADATA,
        "vehicles": {
            **HA_CORE_METADATA["vehicles"],
            "5YJSA1E20FF000000": HA_CORE_METADATA_LEGACY_CAR,
        },
    }
    account = account_of(metadata)
    assert account.server == "na.teslemetry.com"
    assert account.streams("LRW3F7EK4NC700000")
    assert not account.streams("5YJSA1E20FF000000")  # Teslemetry polls it
    assert not account.streams("5YJ3NOTINTHEMETADATA")  # not described: polled as before


@pytest.mark.parametrize(
    ("metadata", "server", "streaming"),
    [
        (None, DEFAULT_SERVER, set()),
        ([], DEFAULT_SERVER, set()),
        ({"region": "EU", "vehicles": []}, "eu.teslemetry.com", set()),
        ({"region": "eu.evil.example/"}, DEFAULT_SERVER, set()),
        ({"region": 7}, DEFAULT_SERVER, set()),
        (
            {
                "region": "EU",
                "vehicles": {
                    "A": {"access": True, "polling": False},
                    "B": {"access": False, "polling": False},  # no subscription for the car
                    "C": {"access": True},  # polling not said: polled, as before
                    "D": {"access": True, "polling": "false"},
                    "E": "streaming",
                },
            },
            "eu.teslemetry.com",
            {"A"},
        ),
    ],
)
def test_metadata_of_other_shapes(metadata: Any, server: str, streaming: set[str]) -> None:
    account = account_of(metadata)
    assert account.server == server
    assert account.streaming == streaming


def test_the_account_is_asked_after_the_second_failed_attempt_and_not_often() -> None:
    assert not probe_due(0, None, 100.0)
    assert not probe_due(1, None, 100.0)  # one failure is a blip
    assert probe_due(2, None, 100.0)
    assert not probe_due(3, 100.0, 100.0 + PROBE_GAP - 1)
    assert probe_due(9, 100.0, 100.0 + PROBE_GAP)
