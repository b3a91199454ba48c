"""The Fleet API surface, driven through the real tesla-fleet-api library."""

from __future__ import annotations

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi, Teslemetry, Tessie
from tesla_fleet_api.const import Method
from tesla_fleet_api.exceptions import (
    InvalidField,
    InvalidMethod,
    NotFound,
    OAuthExpired,
    VehicleOffline,
)
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import SimClock, Simulator, VehicleConfig

from .const import START, TOKEN

VIN1 = "5YJ3SIMVIN0000001"


async def test_status_is_ok_without_token(api: TeslaFleetApi) -> None:
    assert await api.status() == "ok"


async def test_vehicle_list_has_tesla_pagination(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.add_vehicle(VehicleConfig(display_name="Second", state="asleep"))
    sim.add_vehicle()

    everything = await car.list()
    assert [v["vin"] for v in everything["response"]] == list(sim.vehicles)
    assert everything["count"] == 3
    assert everything["pagination"] == {
        "previous": None,
        "next": None,
        "current": 1,
        "per_page": 100,
        "count": 3,
        "pages": 1,
    }
    second = everything["response"][1]
    assert second["display_name"] == "Second"
    assert second["state"] == "asleep"
    assert second["vin"] == "5YJ3SIMVIN0000002"

    page2 = await car.list(page=2, per_page=2)
    assert [v["vin"] for v in page2["response"]] == ["5YJ3SIMVIN0000003"]
    assert page2["pagination"]["previous"] == 1
    assert page2["pagination"]["next"] is None
    assert page2["pagination"]["pages"] == 2
    page1 = await car.list(page=1, per_page=2)
    assert page1["pagination"]["next"] == 2


@pytest.mark.parametrize("params", [{"page": "x"}, {"per_page": 0}])
async def test_vehicle_list_rejects_bad_paging(
    api: TeslaFleetApi, params: dict[str, object]
) -> None:
    with pytest.raises(InvalidField):
        await api._request(Method.GET, "api/1/vehicles", params=params)


async def test_vehicle_object_and_default_vin(car: VehicleFleet[TeslaFleetApi]) -> None:
    vehicle = (await car.vehicle())["response"]
    assert vehicle["vin"] == VIN1
    assert len(vehicle["vin"]) == 17
    assert vehicle["display_name"] == "Simulated Car 1"
    assert vehicle["state"] == "online"
    assert vehicle["access_type"] == "OWNER"
    assert vehicle["in_service"] is False
    assert vehicle["id_s"] == str(vehicle["id"])
    assert isinstance(vehicle["api_version"], int)


async def test_vehicle_found_by_numeric_id(
    sim: Simulator, api: TeslaFleetApi, car: VehicleFleet[TeslaFleetApi]
) -> None:
    vehicle_id = (await car.vehicle())["response"]["id"]
    by_id = await VehicleFleet(api, str(vehicle_id)).vehicle()
    assert by_id["response"]["vin"] == VIN1
    # The ledger names the car by VIN however the path addressed it.
    assert sim.ledger.entries[-1].vin == VIN1
    assert sim.ledger.count(vin=VIN1) == 2


async def test_unknown_vin_and_path_are_404(api: TeslaFleetApi) -> None:
    ghost = VehicleFleet(api, "5YJ3NOSUCHCAR0000")
    with pytest.raises(NotFound) as err:
        await ghost.vehicle()
    assert err.value.data == {"response": None, "error": "not_found", "error_description": ""}
    with pytest.raises(NotFound):
        await ghost.vehicle_data()
    with pytest.raises(NotFound):
        await ghost.wake_up()
    with pytest.raises(NotFound):
        await ghost.charge_start()
    with pytest.raises(NotFound):
        await api._request(Method.GET, "api/1/dx/warranty/details")


async def test_wrong_method_is_invalid_method(api: TeslaFleetApi) -> None:
    with pytest.raises(InvalidMethod):
        await api._request(Method.POST, f"api/1/vehicles/{VIN1}/vehicle_data")


async def test_vehicle_data_sections_only_as_asked(car: VehicleFleet[TeslaFleetApi]) -> None:
    data = (await car.vehicle_data(["charge_state", "drive_state"]))["response"]
    assert data["vin"] == VIN1
    assert data["state"] == "online"
    assert "charge_state" in data
    assert "drive_state" in data
    for section in ("climate_state", "gui_settings", "vehicle_config", "vehicle_state"):
        assert section not in data
    drive = data["drive_state"]
    # Without location_data a real car hides its position.
    for field in ("latitude", "longitude", "heading", "native_latitude"):
        assert field not in drive
    assert drive["shift_state"] is None
    assert drive["speed"] is None
    assert drive["power"] == 0


async def test_vehicle_data_location_only_with_location_data(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.vehicle(1).move(48.137, 11.575)
    data = (await car.vehicle_data(["location_data"]))["response"]
    drive = data["drive_state"]
    assert (drive["latitude"], drive["longitude"]) == (48.137, 11.575)
    assert isinstance(drive["heading"], int)
    assert "charge_state" not in data
    both = (await car.vehicle_data(["drive_state", "location_data"]))["response"]
    assert both["drive_state"]["latitude"] == 48.137


async def test_vehicle_data_default_set(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    data = (await car.vehicle_data())["response"]
    for section in (
        "charge_state",
        "climate_state",
        "drive_state",
        "gui_settings",
        "vehicle_config",
        "vehicle_state",
    ):
        assert section in data
    assert "latitude" not in data["drive_state"]
    assert data["vehicle_state"]["vehicle_name"] == "Simulated Car 1"
    assert data["drive_state"]["timestamp"] == int(sim.now() * 1000)
    assert data["gui_settings"]["gui_distance_units"] == "km/hr"
    assert data["vehicle_config"]["car_type"] == "model3"
    assert data["climate_state"]["is_climate_on"] is False


async def test_vehicle_data_of_asleep_car_is_408_and_does_not_wake(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.vehicle(1).fall_asleep()
    with pytest.raises(VehicleOffline) as err:
        await car.vehicle_data(["charge_state"])
    assert err.value.data is not None
    assert isinstance(err.value.data, dict)
    assert err.value.data["error"] == "vehicle unavailable: vehicle is offline or asleep"
    sim.advance(3600)
    assert sim.vehicle(1).state == "asleep"


async def test_wake_up_takes_wake_delay(sim: Simulator, car: VehicleFleet[TeslaFleetApi]) -> None:
    sim.vehicle(1).fall_asleep()
    answer = await car.wake_up()
    assert answer["response"]["state"] == "asleep"
    sim.advance(19.9)
    assert (await car.vehicle())["response"]["state"] == "asleep"
    # A second wake_up while waking does not restart the delay.
    await car.wake_up()
    sim.advance(0.1)
    assert (await car.vehicle())["response"]["state"] == "online"
    assert (await car.wake_up())["response"]["state"] == "online"
    data = await car.vehicle_data(["charge_state"])
    assert data["response"]["state"] == "online"


async def test_wake_up_cannot_reach_offline_car(
    sim: Simulator, car: VehicleFleet[TeslaFleetApi]
) -> None:
    sim.vehicle(1).go_offline()
    assert (await car.wake_up())["response"]["state"] == "offline"
    sim.advance(600)
    assert (await car.vehicle())["response"]["state"] == "offline"
    with pytest.raises(VehicleOffline):
        await car.charge_start()
    sim.vehicle(1).go_online()
    assert (await car.vehicle())["response"]["state"] == "online"


async def test_products_region_and_me(sim: Simulator, api: TeslaFleetApi) -> None:
    products = await api.products()
    assert products["count"] == 1
    assert products["response"][0]["vin"] == VIN1
    region = await api.user.region()
    assert region["response"] == {"region": "eu", "fleet_api_base_url": sim.url}
    me = await api.user.me()
    assert "@" in me["response"]["email"]


async def test_token_rules(sim: Simulator, session: aiohttp.ClientSession) -> None:
    wrong = VehicleFleet(TeslaFleetApi(session, access_token="nope", server=sim.url), VIN1)
    with pytest.raises(OAuthExpired) as never_valid:
        await wrong.vehicle()
    # "invalid bearer token" is not in the library's map, so it raises without data.
    assert never_valid.value.data is None

    async with session.get(f"{sim.url}/api/1/vehicles") as response:
        assert response.status == 401
        assert (await response.json())["error"] == "invalid bearer token"

    sim.token = "rotated"
    old = VehicleFleet(TeslaFleetApi(session, access_token=TOKEN, server=sim.url), VIN1)
    with pytest.raises(OAuthExpired) as expired:
        await old.vehicle()
    assert expired.value.data == {
        "response": None,
        "error": "token expired (401)",
        "error_description": "",
    }
    new = VehicleFleet(TeslaFleetApi(session, access_token="rotated", server=sim.url), VIN1)
    assert (await new.vehicle())["response"]["vin"] == VIN1

    sim.token = None
    assert sim.token is None
    assert (await wrong.vehicle())["response"]["vin"] == VIN1
    sim.token = TOKEN
    assert (await old.vehicle())["response"]["vin"] == VIN1


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Basic x", 401),
        ("Bearer ", 401),
        ("Bearer", 401),
        ("Bearer anything", 200),
        ("bearer anything", 200),
    ],
)
async def test_any_token_mode_still_needs_a_bearer_token(
    socket_enabled: None, session: aiohttp.ClientSession, authorization: str | None, status: int
) -> None:
    # Simulator(token=None) is what `python -m fleet_sim` runs without --token.
    async with Simulator(clock=SimClock(start=START, speed=0)) as sim:
        assert sim.token is None
        headers = {} if authorization is None else {"Authorization": authorization}
        async with session.get(f"{sim.url}/api/1/vehicles", headers=headers) as response:
            assert response.status == status
            body = await response.json()
        if status == 401:
            assert body == {
                "response": None,
                "error": "invalid bearer token",
                "error_description": "",
            }
        else:
            assert [vehicle["vin"] for vehicle in body["response"]] == [VIN1]


async def test_teslemetry_client(sim: Simulator, session: aiohttp.ClientSession) -> None:
    teslemetry = Teslemetry(session, TOKEN, server=sim.url)
    assert await teslemetry.test() == {"response": True}
    assert await teslemetry.ping() == {"response": True}
    assert await teslemetry.scopes() == [
        "openid",
        "offline_access",
        "user_data",
        "vehicle_device_data",
        "vehicle_location",
        "vehicle_cmds",
        "vehicle_charging_cmds",
    ]
    metadata = await teslemetry.metadata(update_region=False)
    assert metadata["region"] == "EU"
    assert list(metadata["vehicles"]) == [VIN1]
    car = VehicleFleet(teslemetry, VIN1)
    sim.vehicle(1).plug_in()
    sim.advance(10)
    charge = (await car.vehicle_data(["charge_state"]))["response"]["charge_state"]
    assert charge["charging_state"] == "Charging"
    assert (await car.charge_stop())["response"] == {"result": True, "reason": ""}
    assert sim.vehicle(1).charging_state == "Stopped"


async def test_tessie_client(sim: Simulator, session: aiohttp.ClientSession) -> None:
    tessie = Tessie(session, TOKEN)
    tessie.server = sim.url
    car = VehicleFleet(tessie, VIN1)
    sim.vehicle(1).plug_in(wall_max_amps=32, supply_phases=1)
    assert (await car.set_charging_amps(20))["response"]["result"] is True
    sim.advance(10)
    charge = (await car.vehicle_data(["charge_state"]))["response"]["charge_state"]
    assert charge["charger_actual_current"] == 20
    assert charge["charger_phases"] == 1
    assert charge["charger_power"] == 5  # 230 V x 20 A = 4.6 kW
