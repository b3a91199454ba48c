"""Charging commands and the car's real refusal reasons, through the library."""

from __future__ import annotations

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.const import Method
from tesla_fleet_api.exceptions import InvalidCommand, InvalidField, VehicleOffline
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import Simulator

from .const import TOKEN


async def charge_state(car: VehicleFleet[TeslaFleetApi]) -> dict[str, object]:
    """The charge_state section the car reports now."""
    data = await car.vehicle_data(["charge_state"])
    section: dict[str, object] = data["response"]["charge_state"]
    return section


def result(answer: dict[str, dict[str, object]]) -> tuple[object, object]:
    """(result, reason) of a command answer."""
    return answer["response"]["result"], answer["response"]["reason"]


async def test_charge_start_reasons(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    vehicle = sim.vehicle(1)
    assert result(await car.charge_start()) == (False, "disconnected")

    vehicle.auto_start_on_plug = False
    vehicle.plug_in()
    assert vehicle.charging_state == "Stopped"
    assert result(await car.charge_start()) == (True, "")
    assert (await charge_state(car))["charging_state"] == "Starting"
    assert result(await car.charge_start()) == (False, "requested")
    sim.advance(5)
    assert (await charge_state(car))["charging_state"] == "Charging"
    assert result(await car.charge_start()) == (False, "is_charging")

    assert result(await car.charge_stop()) == (True, "")
    vehicle.set_battery_level(80)
    assert result(await car.charge_start()) == (False, "complete")
    assert vehicle.charging_state == "Stopped"

    names = [(c.name, c.result, c.reason) for c in vehicle.commands]
    assert names == [
        ("charge_start", False, "disconnected"),
        ("charge_start", True, ""),
        ("charge_start", False, "requested"),
        ("charge_start", False, "is_charging"),
        ("charge_stop", True, ""),
        ("charge_start", False, "complete"),
    ]
    assert vehicle.commands[1].time == sim.now() - 5


async def test_charge_stop_reasons(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    assert result(await car.charge_stop()) == (False, "not_charging")
    sim.vehicle(1).plug_in()
    assert (await charge_state(car))["charging_state"] == "Starting"
    assert result(await car.charge_stop()) == (True, "")
    assert (await charge_state(car))["charging_state"] == "Stopped"
    assert result(await car.charge_stop()) == (False, "not_charging")


async def test_set_charge_limit(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    assert result(await car.set_charge_limit(80)) == (False, "already_set")
    assert result(await car.set_charge_limit(49)) == (False, "charge_limit_out_of_range")
    assert result(await car.set_charge_limit(101)) == (False, "charge_limit_out_of_range")
    assert result(await car.set_charge_limit(50)) == (True, "")
    assert result(await car.set_charge_limit(100)) == (True, "")
    state = await charge_state(car)
    assert state["charge_limit_soc"] == 100
    assert state["charge_to_max_range"] is True
    assert (state["charge_limit_soc_min"], state["charge_limit_soc_max"]) == (50, 100)
    assert state["charge_limit_soc_std"] == 90


async def test_lowering_limit_below_level_completes_charge(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.vehicle(1).set_battery_level(60)
    sim.vehicle(1).plug_in()
    sim.advance(5)
    assert sim.vehicle(1).charging_state == "Charging"
    assert result(await car.set_charge_limit(55)) == (True, "")
    assert (await charge_state(car))["charging_state"] == "Complete"


async def test_set_charging_amps_clamps_to_wall_max(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.vehicle(1).plug_in(wall_max_amps=16)
    assert result(await car.set_charging_amps(32)) == (True, "")
    state = await charge_state(car)
    assert state["charge_current_request"] == 16
    assert state["charge_current_request_max"] == 16
    assert result(await car.set_charging_amps(10)) == (True, "")
    sim.advance(5)
    state = await charge_state(car)
    assert state["charge_current_request"] == 10
    assert state["charge_amps"] == 10
    assert state["charger_actual_current"] == 10
    assert state["charger_pilot_current"] == 16


async def test_request_max_follows_a_32_amp_wall_charger(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    assert (await charge_state(car))["charge_current_request_max"] == 16  # the default charger
    sim.vehicle(1).plug_in(wall_max_amps=32)
    assert result(await car.set_charging_amps(32)) == (True, "")
    sim.advance(5)
    state = await charge_state(car)
    assert state["charge_current_request_max"] == 32
    assert state["charge_current_request"] == 32
    assert state["charger_pilot_current"] == 32
    assert state["charger_actual_current"] == 32
    sim.vehicle(1).set_wall_charger(16)
    state = await charge_state(car)
    assert state["charge_current_request_max"] == 16
    assert state["charger_actual_current"] == 16


async def test_amps_below_five_need_a_second_send(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle = sim.vehicle(1)
    assert result(await car.set_charging_amps(3)) == (True, "")
    assert vehicle.charge_current_request == 5
    assert result(await car.set_charging_amps(3)) == (True, "")
    assert vehicle.charge_current_request == 3
    # A different low value, or anything in between, starts over.
    assert result(await car.set_charging_amps(2)) == (True, "")
    assert vehicle.charge_current_request == 5
    await car.charge_stop()
    assert result(await car.set_charging_amps(2)) == (True, "")
    assert vehicle.charge_current_request == 5
    assert result(await car.set_charging_amps(2)) == (True, "")
    assert vehicle.charge_current_request == 2
    assert result(await car.set_charging_amps(12)) == (True, "")
    assert vehicle.charge_current_request == 12


async def test_charge_port_door_open_releases_cable(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    assert result(await car.charge_port_door_open()) == (True, "")
    state = await charge_state(car)
    assert state["charge_port_door_open"] is True
    assert state["charge_port_latch"] == "Disengaged"

    sim.vehicle(1).plug_in()
    sim.advance(5)
    assert (await charge_state(car))["charge_port_latch"] == "Engaged"
    assert result(await car.charge_port_door_open()) == (True, "")
    state = await charge_state(car)
    assert state["charge_port_latch"] == "Disengaged"
    assert state["charging_state"] == "Stopped"
    # Starting again latches the cable again.
    assert result(await car.charge_start()) == (True, "")
    assert (await charge_state(car))["charge_port_latch"] == "Engaged"


async def test_commands_to_sleeping_car_are_408(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.vehicle(1).fall_asleep()
    for send in (car.charge_start, car.charge_stop, car.charge_port_door_open):
        with pytest.raises(VehicleOffline):
            await send()
    with pytest.raises(VehicleOffline):
        await car.set_charging_amps(8)
    assert sim.vehicle(1).commands == []


@pytest.mark.parametrize(
    "body",
    [{}, {"charging_amps": "8"}, {"charging_amps": 7.5}, {"charging_amps": True}, {"x": 1}],
)
async def test_bad_body_is_invalid_field(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi], body: dict[str, object]
) -> None:
    with pytest.raises(InvalidField) as err:
        await car._request(
            Method.POST, f"api/1/vehicles/{car.vin}/command/set_charging_amps", json=body
        )
    assert isinstance(err.value.data, dict)
    assert "charging_amps" in err.value.data["error_description"]
    assert sim.vehicle(1).commands == []


async def test_negative_and_float_values(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    with pytest.raises(InvalidField):
        await car.set_charge_limit(-1)
    answer = await car._request(
        Method.POST, f"api/1/vehicles/{car.vin}/command/set_charge_limit", json={"percent": 70.0}
    )
    assert answer["response"] == {"result": True, "reason": ""}
    assert sim.vehicle(1).charge_limit_soc == 70
    with pytest.raises(InvalidField):
        await car._request(
            Method.POST,
            f"api/1/vehicles/{car.vin}/command/set_charge_limit",
            json={"percent": 70.5},
        )
    assert sim.vehicle(1).charge_limit_soc == 70


async def test_unknown_command_is_invalid_command(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    with pytest.raises(InvalidCommand):
        await car.honk_horn()


async def test_non_json_body_is_invalid_request(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = f"{sim.url}/api/1/vehicles/{sim.vehicle(1).vin}/command/set_charge_limit"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with session.post(url, data=b"percent=70", headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_request"
    async with session.post(url, json=[70], headers=headers) as response:
        assert response.status == 400
    async with session.post(url, headers=headers) as response:
        # No body at all: the percent field is missing.
        assert (await response.json())["error"] == "invalid_field"
    assert sim.vehicle(1).charge_limit_soc == 80
