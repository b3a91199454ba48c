"""The car's reply, parsed: charge data, phases and power, position, the reply's own state."""

from __future__ import annotations

import pytest

from custom_components.tesla_wallbox.vehicle_data import (
    ChargeData,
    Connection,
    position_of,
    reply_connection,
)

from .common import charge


@pytest.mark.parametrize(
    ("kw", "volts", "amps", "phases", "power"),
    [
        (11, 230, 16, 3, 11040),
        (4, 230, 16, 1, 3680),
        (7, 230, 16, 1, 3680),  # nearer one phase (3.7 kW) than three (11 kW): never two
        (3, 230, 5, 3, 3450),
        (8, 240, 32, 1, 7680),
        (0, 230, 16, 1, 3680),  # power rounds to 0 kW: still one phase
        (30, 230, 6, 3, 4140),  # nonsense power: three at most
    ],
)
def test_phases_from_power_when_the_car_reports_none(
    kw: float, volts: int, amps: int, phases: int, power: int
) -> None:
    data = charge(
        charging_state="Charging",
        charger_power=kw,
        charger_voltage=volts,
        charger_actual_current=amps,
        charger_phases=None,
    )
    assert data.phases == phases
    assert data.power == power


@pytest.mark.parametrize(
    ("reported", "kw", "phases"),
    [
        (1, 4, 1),
        (2, 11, 3),  # Tesla's charger_phases reads 2 on a three-phase supply
        (2, 7, 3),  # the first minutes of a three-phase charge: the power ratio says 2
        (2, 1, 3),  # ramping up from 3 A: the kW lag far behind
        (3, 11, 3),
        (1, 11, 1),  # the car's count wins over a kW reading that disagrees
        (0, 11, 3),  # not a phase count: the power decides
    ],
)
def test_phases_from_the_cars_charger_phases(reported: int, kw: float, phases: int) -> None:
    data = charge(
        charging_state="Charging",
        charger_power=kw,
        charger_voltage=230,
        charger_actual_current=16,
        charger_phases=reported,
    )
    assert data.phases == phases
    assert data.power == phases * 230 * 16


def test_from_reply_takes_only_a_charge_state_with_a_charging_state() -> None:
    assert ChargeData.from_reply(None) is None
    assert ChargeData.from_reply([]) is None
    assert ChargeData.from_reply({}) is None
    assert ChargeData.from_reply({"battery_level": 50, "charging_state": None}) is None
    parsed = ChargeData.from_reply({"charging_state": "Stopped", "battery_level": 50})
    assert parsed == charge(charging_state="Stopped", battery_level=50)


@pytest.mark.parametrize(
    ("drive_state", "expected"),
    [
        ({"latitude": 52.5, "longitude": 13.4}, (52.5, 13.4)),
        ({"latitude": 52, "longitude": -13}, (52.0, -13.0)),
        ({"power": 0, "shift_state": None, "speed": None, "timestamp": 1}, None),  # no location
        ({"latitude": None, "longitude": None}, None),
        ({"latitude": 52.5}, None),
        ({"latitude": "52.5", "longitude": "13.4"}, None),
        ({"latitude": True, "longitude": 13.4}, None),
        ({"latitude": 91.0, "longitude": 13.4}, None),
        ({"latitude": float("nan"), "longitude": 13.4}, None),
        (None, None),
        ("drive", None),
    ],
)
def test_position_of_a_drive_state(drive_state: object, expected: object) -> None:
    assert position_of(drive_state) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"state": "online"}, Connection.ONLINE),
        ({}, Connection.ONLINE),  # a 200 to vehicle_data is a live answer unless it says not
        ({"state": "asleep"}, Connection.ASLEEP),
        ({"state": "offline"}, Connection.OFFLINE),
        ({"state": "waking"}, None),
        ({"state": 1}, None),
    ],
)
def test_the_connection_a_reply_gives(data: dict[str, object], expected: object) -> None:
    assert reply_connection(data) is expected


def test_no_phases_when_not_charging() -> None:
    data = charge(
        charging_state="Stopped", charger_power=11, charger_voltage=230, charger_actual_current=16
    )
    assert data.phases == 0
    assert data.power == 0
    starting = charge(charging_state="Charging", charger_voltage=0, charger_actual_current=0)
    assert starting.phases == 0


def test_from_api_ignores_junk() -> None:
    data = ChargeData.from_api(
        {
            "charging_state": 5,
            "battery_level": "80",
            "charge_limit_soc": True,
            "charger_power": float("nan"),
            "charge_energy_added": 3,
            "charger_voltage": 229.6,
            "conn_charge_cable": None,
        }
    )
    assert data.charging_state is None
    assert data.battery_level is None
    assert data.charge_limit_soc is None
    assert data.charger_power is None
    assert data.charge_energy_added == 3.0
    assert data.charger_voltage == 230
    assert not data.plugged_in
    assert data.as_dict()["charger_voltage"] == 230
