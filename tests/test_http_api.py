"""The wallbox HTTP API at /tlwb: every endpoint, every form, every class of bad input, and auth."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from tesla_fleet_api.exceptions import TeslaFleetError

from custom_components.tesla_wallbox.commands import Command, CommandState
from custom_components.tesla_wallbox.models import Car
from fleet_sim import Simulator, VehicleConfig

from .conftest import advance
from .const import API_KEY, AWAY, HOME, PLUGGED_AT_HOME

STATUS_FIELDS = {
    "status", "soc", "targetsoc", "targetamp", "maxamp", "amps", "volts", "power", "phases", "energy",
    "car", "vin", "name", "state", "plugged", "pv_location", "updated", "age", "command",
    "data_path", "command_path", "bluetooth",
}  # fmt: skip


def plugged(**changes: Any) -> VehicleConfig:
    """The car plugged in at home, idle, with some of its fields changed."""
    return replace(PLUGGED_AT_HOME, **changes)


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


def the_car(entry: MockConfigEntry) -> Car:
    return next(iter(entry.runtime_data.cars.values()))


def asleep_without_knowing(sim: Simulator, entry: MockConfigEntry) -> None:
    """The car sleeps and the integration knows it must wake it before any command."""
    sim.vehicle(1).fall_asleep()
    coordinator = the_car(entry).coordinator
    # The set-up read found the car online; forget that, as after a poll that found it asleep.
    coordinator.data = replace(coordinator.data, connection=None)


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
    # Over the cloud, and no Bluetooth for this car.
    assert (body["data_path"], body["command_path"], body["bluetooth"]) == ("cloud", None, None)


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


# What the car answers with result false, and for which commands that still means "done".
REFUSAL_REASONS = [
    "disconnected", "complete", "busy", "could_not_wake_buses", "charge_limit_out_of_range",
    "is_charging", "not_charging", "requested", "already_set",
]  # fmt: skip
DONE_DESPITE_FALSE = {
    "charge_start": {"is_charging", "requested", "already_set"},
    "charge_stop": {"not_charging", "requested", "already_set"},
    "set_charging_amps": {"requested", "already_set"},
    "set_charge_limit": {"requested", "already_set"},
}
CONTROLS = [
    ("/tlwb/1/control?1", "charge_start", "start"),
    ("/tlwb/1/control?0", "charge_stop", "stop"),
    ("/tlwb/1/set_amps?10", "set_charging_amps", "amps"),
    ("/tlwb/1/set_soc?60", "set_charge_limit", "target"),
]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize("reason", REFUSAL_REASONS)
async def test_car_refusals_report_the_reason(
    client: TestClient, sim: Simulator, reason: str
) -> None:
    for path, tesla_command, name in CONTROLS:
        sent = sim.ledger.count("command")
        sim.faults.add("result_false", reason=reason, path=f"/command/{tesla_command}")
        status, body = await get(client, path)
        assert set(STATUS_FIELDS) <= set(body)
        assert body["command"]["name"] == name
        if reason in DONE_DESPITE_FALSE[tesla_command]:
            assert status == 200, (path, reason)
            assert body["command"]["state"] == "ok"
        else:
            assert (status, body["error"]) == (409, "command_refused"), (path, reason)
            assert body["message"]
            assert body["command"]["state"] == "failed"
            assert body["command"]["reason"] == reason
        assert sim.ledger.count("command") == sent + 1, path  # sent once, never retried
    assert sim.vehicle(1).commands == []  # every one was refused before it ran


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
    ("/tlwb?colour=red", 400, "unknown_parameter"),
    ("/tlwb/?colour=red&key=x", 400, "unknown_parameter"),
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
    asleep_without_knowing(sim, init_integration)
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


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_default_wait_answers_pending(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Without &wait the answer comes within 2 s: the wake-up goes on in the background."""
    asleep_without_knowing(sim, init_integration)
    # The simulated clock stands still, so the wake cannot finish, however long the wait.
    status, body = await get(client, "/tlwb/1/control?1")
    assert status == 202
    assert body["command"] == body["command"] | {"name": "start", "state": "pending"}
    assert (sim.ledger.count("wake"), sim.ledger.count("command")) == (1, 0)
    sim.clock.speed = 400  # now the 20 s wake takes 50 ms
    await hass.async_block_till_done(wait_background_tasks=True)
    _, body = await get(client, "/tlwb/1/status")
    assert body["command"]["state"] == "ok"
    assert body["status"] == 3
    assert commands(sim) == [("charge_start", {})]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_failure_after_the_answer_shows_in_the_status(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    asleep_without_knowing(sim, init_integration)
    status, _ = await get(client, "/tlwb/1/control?1&wait=0")
    assert status == 202
    sim.faults.add("result_false", reason="disconnected", path="/command/")
    sim.clock.speed = 400
    await hass.async_block_till_done(wait_background_tasks=True)
    _, body = await get(client, "/tlwb/1/status")
    assert body["command"] == body["command"] | {"state": "failed", "reason": "disconnected"}
    # Read when the task ended: no "Task exception was never retrieved" later.
    assert "HTTP command failed after the answer: command_refused" in caplog.text


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_unload_while_a_command_waits(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    asleep_without_knowing(sim, init_integration)

    async def unload_soon() -> None:
        await asyncio.sleep(0.3)
        assert await hass.config_entries.async_unload(init_integration.entry_id)

    (status, body), _ = await asyncio.gather(
        get(client, "/tlwb/1/control?1&wait=30"), unload_soon()
    )
    assert (status, body["error"]) == (503, "cancelled")
    assert "unloaded" in body["message"]
    assert set(STATUS_FIELDS) <= set(body)
    # Never sent, and it says so (the reload keeps that in the status and the sensor).
    assert body["command"] == body["command"] | {
        "name": "start",
        "state": "cancelled",
        "reason": "unloaded",
    }
    assert sim.ledger.count("command") == 0


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_an_untranslated_library_error_still_answers_json(
    client: TestClient,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The controller turns every library error into a HomeAssistantError. Should one slip
    through (TeslaFleetError is a BaseException), the client still gets JSON, not a 500.
    Patched: no simulator fault can make the controller miss one."""

    async def slipped(commands: list[Command], source: str) -> None:
        raise TeslaFleetError("unexpected")

    monkeypatch.setattr(the_car(init_integration).controller, "async_execute", slipped)
    status, body = await get(client, "/tlwb/1/control?1")
    assert (status, body["error"], body["message"]) == (502, "api_error", "TeslaFleetError")
    assert set(STATUS_FIELDS) <= set(body)
    assert "Unexpected error from a command over HTTP" in caplog.text


# Distinct first commands, so that the controller's queue tells which request came when.
CONCURRENT = [
    "/tlwb/1/control?1",
    *(f"/tlwb/1/set_amps?{amps}" for amps in range(5, 9)),
    "/tlwb/1?set_soc=70&control=0",
    *(f"/tlwb/1/set_amps?{amps}" for amps in range(9, 13)),
    "/tlwb/1/control?0",
    "/tlwb/1?set_amps=13&control=1",
]
TESLA_COMMANDS = {
    "start": lambda value: ("charge_start", {}),
    "stop": lambda value: ("charge_stop", {}),
    "amps": lambda value: ("set_charging_amps", {"charging_amps": value}),
    "target": lambda value: ("set_charge_limit", {"percent": value}),
}


def commands_of(path: str) -> list[Command]:
    """What one request of CONCURRENT asks for, in the order the API applies it."""
    action, _, query = path.removeprefix("/tlwb/1").partition("?")
    if action == "/control":
        return [Command("start" if query == "1" else "stop")]
    if action == "/set_amps":
        return [Command("amps", int(query))]
    values = dict(part.split("=") for part in query.split("&"))
    found = [Command("target", int(values["set_soc"]))] if "set_soc" in values else []
    found += [Command("amps", int(values["set_amps"]))] if "set_amps" in values else []
    return [*found, Command("start" if values["control"] == "1" else "stop")]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_concurrent_controls_one_wake(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    car = the_car(init_integration)
    asleep_without_knowing(sim, init_integration)
    by_first = {commands_of(path)[0]: commands_of(path) for path in CONCURRENT}
    assert len(by_first) == len(CONCURRENT)
    queued: list[Command] = []  # the first command of each request, as the controller took it
    all_queued = asyncio.Event()

    def note_queued() -> None:
        record = car.controller.last_command
        if record is not None and record.state is CommandState.PENDING:
            first = Command(record.name, record.value)
            if first in by_first and first not in queued:
                queued.append(first)
        if len(queued) == len(CONCURRENT):
            all_queued.set()

    stop_noting = car.coordinator.async_add_listener(note_queued)

    async def wake_when_all_queued() -> None:
        # The simulated clock stands still until then: every request waits for the one wake-up.
        async with asyncio.timeout(20):
            await all_queued.wait()
        stop_noting()
        sim.clock.speed = 400

    answers, _ = await asyncio.gather(
        asyncio.gather(*(get(client, f"{path}&wait=60") for path in CONCURRENT)),
        wake_when_all_queued(),
    )
    assert [status for status, _ in answers] == [200] * len(CONCURRENT)
    assert sim.ledger.count("wake") == 1
    applied = [command for first in queued for command in by_first[first]]
    expected = [TESLA_COMMANDS[command.name](command.value) for command in applied]
    assert commands(sim) == expected  # all of them, once each, in the order received
    last_amps = next(c.value for c in reversed(applied) if c.name == "amps")
    last_control = next(c.name for c in reversed(applied) if c.name in ("start", "stop"))
    assert sim.vehicle(1).charge_current_request == last_amps
    charging = sim.vehicle(1).charging_state in ("Starting", "Charging")
    assert charging == (last_control == "start")
    _, body = await get(client, "/tlwb/1/status")
    assert (body["targetamp"], body["status"]) == (last_amps, 3 if charging else 4)


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
    from custom_components.tesla_wallbox.api import async_register_views

    assert await async_setup_component(hass, "http", {})
    async_register_views(hass)
    routes = len(hass.http.app.router.routes())
    async_register_views(hass)
    assert len(hass.http.app.router.routes()) == routes
