"""The wallbox HTTP API at /tlwb: every endpoint, every form, every class of bad input, and auth."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from fleet_sim import Simulator, VehicleConfig

from .conftest import API_KEY, AWAY, HOME, advance

STATUS_FIELDS = {
    "status", "soc", "targetsoc", "targetamp", "maxamp", "amps", "volts", "power", "phases", "energy",
    "car", "vin", "name", "state", "plugged", "pv_location", "updated", "age", "command",
}  # fmt: skip


def plugged(**kwargs: Any) -> VehicleConfig:
    fields: dict[str, Any] = {
        "latitude": HOME[0],
        "longitude": HOME[1],
        "battery_level": 40.0,
        "plugged_in": True,
        "auto_start_on_plug": False,
        "charge_limit_soc": 80,
    }
    fields.update(kwargs)
    return VehicleConfig(**fields)


PLUGGED = [plugged()]


@pytest.fixture
async def client(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, init_integration: MockConfigEntry
) -> TestClient:
    """An HTTP client with an admin user's token."""
    return await hass_client()


@pytest.fixture
async def anonymous(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> TestClient:
    """An HTTP client without credentials."""
    return await hass_client_no_auth()


async def get(client: TestClient, path: str, **headers: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(path, headers=headers)
    assert response.content_type == "application/json", await response.text()
    return response.status, await response.json()


def commands(sim: Simulator) -> list[tuple[str, dict[str, object]]]:
    return [(record.name, record.body) for record in sim.vehicle(1).commands]


# ----- reading -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_list_and_status(client: TestClient, sim: Simulator) -> None:
    vin = sim.vehicle(1).vin
    status, body = await get(client, "/tlwb")
    assert status == 200
    assert body == {"cars": [{"id": 1, "vin": vin, "name": sim.vehicle(1).display_name}]}
    for path in ("/tlwb/1/status", f"/tlwb/{vin}/status", f"/tlwb/{vin.lower()}", "/tlwb/1"):
        status, body = await get(client, path)
        assert status == 200, path
        assert set(body) == STATUS_FIELDS
    assert body["status"] == 2  # plugged in at the PV location, not charged yet
    assert body["soc"] == 40
    assert body["targetsoc"] == 80
    assert body["targetamp"] == 16
    assert body["maxamp"] == 16
    assert (body["amps"], body["power"], body["phases"]) == (0, 0, 0)
    assert body["plugged"] is True
    assert body["pv_location"] is True
    assert body["state"] == "online"
    assert body["car"] == 1
    assert body["vin"] == vin
    assert body["updated"].endswith("+00:00")
    assert body["age"] >= 0
    assert body["command"] is None


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_a_thousand_reads_cost_nothing(client: TestClient, sim: Simulator) -> None:
    before = len(sim.ledger)
    results = await asyncio.gather(*(get(client, "/tlwb/1/status") for _ in range(1000)))
    assert {status for status, _ in results} == {200}
    assert len(sim.ledger) == before


# ----- the six statuses, from simulator scenarios ---------------------------------------------------


@pytest.mark.parametrize(
    ("vehicle_configs", "expected"),
    [
        ([VehicleConfig(latitude=HOME[0], longitude=HOME[1])], 0),
        ([plugged(latitude=AWAY[0], longitude=AWAY[1])], 1),
        ([plugged()], 2),
        ([plugged(auto_start_on_plug=True)], 3),
        ([plugged(battery_level=80.0, auto_start_on_plug=True)], 4),
    ],
)
async def test_statuses_at_setup(client: TestClient, expected: int) -> None:
    _, body = await get(client, "/tlwb/1/status")
    assert body["status"] == expected


@pytest.mark.parametrize("vehicle_configs", [[plugged(auto_start_on_plug=True)]])
async def test_charging_then_interrupted_then_stopped(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await advance(hass, freezer, sim, 600, step=60)
    _, body = await get(client, "/tlwb/1/status")
    assert body["status"] == 3
    assert (body["amps"], body["volts"], body["phases"], body["power"]) == (16, 230, 3, 11040)
    assert body["energy"] > 1.5
    # The grid goes away while charging: interrupted.
    sim.vehicle(1).set_power_available(False)
    await advance(hass, freezer, sim, 600, step=60)
    _, body = await get(client, "/tlwb/1/status")
    assert body["status"] == 5
    sim.vehicle(1).set_power_available(True)
    status, body = await get(client, "/tlwb/1/control?0&wait=10")
    assert status == 200
    assert body["status"] == 4
    assert body["command"]["name"] == "stop"
    assert body["command"]["state"] == "ok"


# ----- control ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_control_amps_soc_and_combined(client: TestClient, sim: Simulator) -> None:
    status, body = await get(client, "/tlwb/1/control?1")
    assert status == 200
    assert body["status"] == 3
    assert body["command"]["state"] == "ok"
    assert commands(sim) == [("charge_start", {})]

    status, body = await get(client, "/tlwb/1/set_amps?10")
    assert status == 200
    assert body["targetamp"] == 10
    status, body = await get(client, "/tlwb/1/set_soc?55")
    assert status == 200
    assert body["targetsoc"] == 55

    status, body = await get(client, "/tlwb/1?control=0&set_amps=12&set_soc=70")
    assert status == 200
    assert commands(sim)[-3:] == [
        ("set_charge_limit", {"percent": 70}),
        ("set_charging_amps", {"charging_amps": 12}),
        ("charge_stop", {}),
    ]
    assert (body["targetsoc"], body["targetamp"], body["status"]) == (70, 12, 4)
    assert body["command"]["name"] == "stop"


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_refused_command_reports_reason(client: TestClient, sim: Simulator) -> None:
    sim.faults.add("result_false", reason="disconnected", path="/command/")
    status, body = await get(client, "/tlwb/1/control?1")
    assert status == 409
    assert body["error"] == "command_refused"
    assert body["command"]["state"] == "failed"
    assert body["command"]["reason"] == "disconnected"
    assert set(STATUS_FIELDS) <= set(body)


# ----- bad input: 4xx JSON and nothing sent ---------------------------------------------------------

BAD = [
    ("/tlwb/1/set_amps?abc", 400, "not_an_integer"),
    ("/tlwb/1/set_amps?10.5", 400, "not_an_integer"),
    ("/tlwb/1/set_amps?-3", 400, "out_of_range"),
    ("/tlwb/1/set_amps?0", 400, "out_of_range"),
    ("/tlwb/1/set_amps?17", 400, "out_of_range"),
    ("/tlwb/1/set_amps?99999999999999999999", 400, "not_an_integer"),
    ("/tlwb/1/set_amps?%D9%A1%D9%A6", 400, "not_an_integer"),  # Arabic-Indic digits
    ("/tlwb/1/set_amps", 400, "empty_value"),
    ("/tlwb/1/set_amps?10&12", 400, "repeated_parameter"),
    ("/tlwb/1/set_amps?10&10", 400, "repeated_parameter"),
    ("/tlwb/1/set_amps?amps=10", 400, "unknown_parameter"),
    ("/tlwb/1/set_soc?49", 400, "out_of_range"),
    ("/tlwb/1/set_soc?101", 400, "out_of_range"),
    ("/tlwb/1/control?2", 400, "out_of_range"),
    ("/tlwb/1/control?on", 400, "not_an_integer"),
    ("/tlwb/1?control=1&set_amps=99", 400, "out_of_range"),
    ("/tlwb/1?control=1&control=0", 400, "repeated_parameter"),
    ("/tlwb/1?set_amps=", 400, "empty_value"),
    ("/tlwb/1?colour=red", 400, "unknown_parameter"),
    ("/tlwb/1?control=1&wait=121", 400, "out_of_range"),
    ("/tlwb/1?control=1&wait=x", 400, "not_an_integer"),
    ("/tlwb/1/status?1", 400, "unknown_parameter"),
    ("/tlwb/1/honk?1", 404, "unknown_action"),
    ("/tlwb/7/status", 404, "unknown_car"),
    ("/tlwb/5YJ3XXXXXXXXXXXXX/control?1", 404, "unknown_car"),
]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(("path", "status", "error"), BAD)
async def test_bad_input_changes_nothing(
    client: TestClient, sim: Simulator, path: str, status: int, error: str
) -> None:
    before = len(sim.ledger)
    got, body = await get(client, path)
    assert (got, body["error"]) == (status, error)
    assert body["message"]
    assert len(sim.ledger) == before
    assert sim.vehicle(1).commands == []


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_boundaries(client: TestClient, sim: Simulator) -> None:
    for path in (
        "/tlwb/1/set_soc?50",
        "/tlwb/1/set_soc?100",
        "/tlwb/1/set_amps?1",
        "/tlwb/1/set_amps?16",
    ):
        status, _ = await get(client, path)
        assert status == 200, path
    assert len(commands(sim)) == 5  # 1 A goes twice


# ----- waiting ---------------------------------------------------------------------------------------

ASLEEP = [plugged(state="asleep")]


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_no_data_yet_is_503(client: TestClient, sim: Simulator) -> None:
    for path in ("/tlwb/1/status", "/tlwb/1/control?1"):
        status, body = await get(client, path)
        assert (status, body["error"]) == (503, "no_data")
    assert sim.ledger.count("wake") == 0


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_pending_then_wait(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    sim.vehicle(1).fall_asleep()
    car = next(iter(init_integration.runtime_data.cars.values()))
    car.coordinator.data = car.coordinator.data.__class__(
        **{
            **{n: getattr(car.coordinator.data, n) for n in car.coordinator.data.__slots__},
            "connection": None,
        }
    )
    # The simulated clock stands still: the wake cannot finish, the answer comes back pending.
    status, body = await get(client, "/tlwb/1/control?1&wait=0")
    assert status == 202
    assert body["command"]["state"] == "pending"
    sim.clock.speed = 400  # now the 20 s wake takes 50 ms
    status, body = await get(client, "/tlwb/1/set_amps?8&wait=10")
    assert status == 200
    assert body["command"] == body["command"] | {"name": "amps", "value": 8, "state": "ok"}
    assert sim.ledger.count("wake") == 1
    assert [name for name, _ in commands(sim)] == ["charge_start", "set_charging_amps"]


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_concurrent_controls_one_wake(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    sim.vehicle(1).go_online()
    car = next(iter(init_integration.runtime_data.cars.values()))
    await car.coordinator.async_user_refresh()
    sim.vehicle(1).fall_asleep()
    sim.clock.speed = 400
    paths = [f"/tlwb/1/set_amps?{amps}&wait=20" for amps in range(5, 13)]
    results = await asyncio.gather(*(get(client, path) for path in paths))
    assert {status for status, _ in results} == {200}
    assert sim.ledger.count("wake") == 1
    assert sim.vehicle(1).charge_current_request in range(5, 13)


# ----- authentication ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_api_key_in_header_and_query(anonymous: TestClient, sim: Simulator) -> None:
    status, body = await get(anonymous, "/tlwb/1/status")
    assert (status, body["error"]) == (401, "unauthorized")
    status, _ = await get(anonymous, "/tlwb/1/status", **{"X-API-Key": API_KEY})
    assert status == 200
    status, _ = await get(anonymous, f"/tlwb/1/status?key={API_KEY}")
    assert status == 200
    status, _ = await get(anonymous, f"/tlwb/1/set_amps?9&key={API_KEY}")
    assert status == 200
    assert commands(sim) == [("set_charging_amps", {"charging_amps": 9})]
    status, body = await get(anonymous, "/tlwb?key=wrong")
    assert status == 401
    status, body = await get(anonymous, f"/tlwb?key={API_KEY}")
    assert status == 200
    assert len(body["cars"]) == 1
    status, _ = await get(anonymous, "/tlwb/1/status", Authorization="Bearer not-a-token")
    assert status == 401


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_read_only_user_cannot_control(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
    init_integration: MockConfigEntry,
    sim: Simulator,
) -> None:
    reader = await hass_client(hass_read_only_access_token)
    status, _ = await get(reader, "/tlwb/1/status")
    assert status == 200
    status, body = await get(reader, "/tlwb/1/control?1")
    assert (status, body["error"]) == (403, "forbidden")
    assert sim.vehicle(1).commands == []


@pytest.fixture
def ip_bans_file(hass: HomeAssistant) -> Iterator[Path]:
    """HA writes bans into its config folder, shared by all tests: leave no ban behind."""
    path = Path(hass.config.path("ip_bans.yaml"))
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_wrong_credentials_count_toward_ip_ban(
    ip_bans_file: Path,
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    assert await async_setup_component(hass, "http", {"http": {"login_attempts_threshold": 2}})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    for _ in range(2):
        assert (await client.get("/tlwb/1/status?key=guess")).status == 401
    # Banned now: even the right key is turned away.
    assert (await client.get(f"/tlwb/1/status?key={API_KEY}")).status == 403
    await hass.async_block_till_done()
    assert "127.0.0.1" in await hass.async_add_executor_job(ip_bans_file.read_text)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    "entry_options",
    [{"pv_zone": "zone.home", "api_key": API_KEY, "allow_low_target": True}],
)
async def test_start_refused_at_the_soft_target(client: TestClient, sim: Simulator) -> None:
    status, body = await get(client, "/tlwb/1/set_soc?30")  # the battery is at 40 %
    assert (status, body["targetsoc"]) == (200, 30)
    sent = len(commands(sim))
    status, body = await get(client, "/tlwb/1/control?1")
    assert (status, body["error"]) == (409, "soft_target_reached")
    assert "30" in body["message"]
    assert len(commands(sim)) == sent


async def test_views_register_once(hass: HomeAssistant) -> None:
    from custom_components.tesla_wallbox.http_api import async_register_views

    assert await async_setup_component(hass, "http", {})
    async_register_views(hass)
    routes = len(hass.http.app.router.routes())
    async_register_views(hass)
    assert len(hass.http.app.router.routes()) == routes
