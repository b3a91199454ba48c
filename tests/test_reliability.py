"""Reliability: every fault the simulator injects, while polling and while commanding; restarts and
concurrency. Home Assistant keeps running, nothing is retried in a loop, and it recovers by itself."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox import client as client_module
from custom_components.tesla_wallbox.commands import Command
from custom_components.tesla_wallbox.const import CONF_STALE_AFTER, DOMAIN
from fleet_sim import Simulator, VehicleConfig
from fleet_sim.faults import DEFAULT_RESULT_FALSE_REASON
from fleet_sim.vehicle import REASON_LIMIT_OUT_OF_RANGE

from .conftest import advance, assert_no_traceback, entity_id
from .const import HOME, PLUGGED_AT_HOME

# The real timeout, taken before the autouse fixture below shortens it.
DEFAULT_REQUEST_TIMEOUT = client_module.REQUEST_TIMEOUT

PLUGGED = [PLUGGED_AT_HOME]
CHARGING = [VehicleConfig(latitude=HOME[0], longitude=HOME[1], battery_level=30.0, plugged_in=True)]
STALE_AFTER = 3.0  # seconds, for the real-time hung-poll test
FAULTS: list[dict[str, Any]] = [
    {"status": 408},
    {"status": 429, "retry_after": 900},
    {"status": 500},
    {"status": 502},
    {"status": 503},
    {"status": 504},
    {"kind": "hang"},
    {"kind": "drop"},
    {"status": 401},
    {"status": 403},
]


@pytest.fixture(autouse=True)
def short_request_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our own request timeout is 30 s; a hung request is given up after 0.3 s here."""
    monkeypatch.setattr(client_module, "REQUEST_TIMEOUT", 0.3)


def fault_id(fault: dict[str, Any]) -> str:
    return str(fault.get("status") or fault.get("kind"))


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert_no_traceback(caplog)
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        and "homeassistant" in r.name
        and "tesla_wallbox" in r.getMessage()
    ]


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize("fault", [f for f in FAULTS if f.get("kind") != "hang"], ids=fault_id)
async def test_fault_while_polling(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
) -> None:
    vin = sim.vehicle(1).vin
    battery = entity_id(hass, "sensor", vin, "battery_level")
    sim.faults.add(**{"kind": "status", **fault, "count": None})
    await advance(hass, freezer, sim, 1200, step=60)
    status = fault.get("status")
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    if status == 401:
        assert [flow["context"]["source"] for flow in flows] == ["reauth"]
        no_traceback(caplog)
        return
    assert not flows
    # Still within stale_after (30 min): the entities keep their values.
    assert hass.states.get(battery).state != STATE_UNAVAILABLE
    if status == 429:
        assert (
            sum(1 for e in sim.ledger.entries if e.status == 429) == 1
        )  # nothing before Retry-After
    else:
        failed = [e.time for e in sim.ledger.entries if e.status != 200]
        # Backing off, not hammering: from 30 s, doubling, each gap stretched by up to a quarter
        # at random, that is at most 5 polls in these 20 minutes. A dropped connection that was
        # a reused keep-alive one is retried once by aiohttp itself: two requests per poll.
        moments = {round(time) for time in failed}
        assert len(moments) <= 5
        assert all(failed.count(time) <= 2 for time in failed)
    await advance(hass, freezer, sim, 900, step=60)
    if status != 408:
        # No contact for longer than stale_after: unavailable now. (A 408 on vehicle_data is
        # an answer: the car is asleep, and its last data still holds.)
        assert hass.states.get(battery).state == STATE_UNAVAILABLE
    issues = ir.async_get(hass)
    issue_id = f"command_protocol_{init_integration.entry_id}"
    # A 403 "Vehicle Command Protocol required" while polling tells the user what to do.
    assert (issues.async_get_issue(DOMAIN, issue_id) is not None) == (status == 403)
    sim.faults.clear()
    await advance(hass, freezer, sim, 1800, step=60)
    assert hass.states.get(battery).state not in (STATE_UNAVAILABLE, "unknown")
    assert init_integration.runtime_data.cars[vin].coordinator.data.last_error is None
    assert issues.async_get_issue(DOMAIN, issue_id) is None  # solved by the next good read
    no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize(
    "entry_options", [{"pv_zone": "zone.home", "api_key": "k", CONF_STALE_AFTER: STALE_AFTER}]
)
async def test_hung_polls_time_out_and_back_off(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request that never answers is given up after our timeout; the entities stay available
    until stale_after, then go. Real time (a frozen clock would freeze the timeout too), so
    stale_after is a few seconds here."""
    car = next(iter(init_integration.runtime_data.cars.values()))
    coordinator = car.coordinator
    battery = entity_id(hass, "sensor", car.vin, "battery_level")
    contact = coordinator.data.checked_time
    assert contact is not None
    sim.faults.add("hang", count=None)
    plans = []
    for _ in range(3):
        await coordinator.async_refresh()
        assert coordinator.plan is not None
        plans.append(coordinator.plan.at - coordinator.now())
    assert coordinator.facts.failures == 3
    assert coordinator.data.last_error == "cannot_connect"
    assert plans[0] < plans[1] < plans[2]  # backing off
    assert plans[0] > STALE_AFTER  # no poll in the time this test waits
    # Failed polls are no contact: available while within stale_after of the last answer ...
    assert coordinator.now() < contact + STALE_AFTER
    assert hass.states.get(battery).state not in (STATE_UNAVAILABLE, "unknown")
    assert "No contact with" not in caplog.text
    # ... and unavailable once it has passed, with one log line.
    await asyncio.sleep(contact + STALE_AFTER + 0.2 - coordinator.now())
    await hass.async_block_till_done()
    assert hass.states.get(battery).state == STATE_UNAVAILABLE
    assert caplog.text.count("No contact with") == 1

    sim.faults.clear()
    for _ in range(50):  # the simulator records a hung request once the client has hung up
        if sum(1 for e in sim.ledger.entries if e.status == 0) == 3:
            break
        await asyncio.sleep(0.01)
    assert sum(1 for e in sim.ledger.entries if e.status == 0) == 3
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.facts.failures == 0
    assert coordinator.data.last_error is None
    assert hass.states.get(battery).state not in (STATE_UNAVAILABLE, "unknown")
    assert "Contact with" in caplog.text  # and one when it is back
    no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize("path", ["/command/", "/wake_up"])
@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
async def test_fault_on_a_command(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
    path: str,
) -> None:
    """A fault on the command itself (the car online), or on the wake-up (the car asleep)."""
    car = next(iter(init_integration.runtime_data.cars.values()))
    battery = entity_id(hass, "sensor", car.vin, "battery_level")
    if path == "/wake_up":
        sim.vehicle(1).fall_asleep()
        await car.coordinator.async_user_refresh()  # a free state check sees it asleep
        assert car.coordinator.data.connection == "asleep"
    client: TestClient = await hass_client()
    sim.faults.add(**{"kind": "status", **fault, "count": None, "path": path})
    sim.clock.speed = 500  # a wake-up takes 40 ms
    response = await client.get("/tlwb/1/set_amps?10&wait=30")
    body = await response.json()
    assert response.status in (409, 429, 502, 504)
    assert body["command"]["state"] == "failed"
    assert body["command"]["reason"]
    sent = sum(1 for e in sim.ledger.entries if "/command/" in e.path)
    wakes = sim.ledger.count("wake")
    if path == "/command/":
        # Once, or twice after a 408 (wake, then one more try): never in a loop.
        assert sent == (2 if fault.get("status") == 408 else 1)
        assert wakes == (1 if fault.get("status") == 408 else 0)
    else:
        assert (sent, wakes) == (0, 1)  # the wake-up failed: one try, and no command
    # A failed command leaves the data as it was: the entities stay available.
    assert hass.states.get(battery).state not in (STATE_UNAVAILABLE, "unknown")
    with pytest.raises(HomeAssistantError):
        await car.controller.async_set_amps(11)
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"command_protocol_{init_integration.entry_id}"
    )
    assert (issue is not None) == (fault.get("status") == 403)
    no_traceback(caplog)
    sim.faults.clear()
    if fault.get("status") == 429:
        # Held back until Retry-After (covered in test_control): nothing was sent for 11 A.
        assert sum(1 for e in sim.ledger.entries if path in e.path) == 1
        return
    await car.controller.async_set_amps(12)
    assert sim.vehicle(1).charge_current_request == 12
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"command_protocol_{init_integration.entry_id}")
        is None
    )
    no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    "reason",
    [
        "is_charging",
        "not_charging",
        "complete",
        "disconnected",
        "requested",
        "already_set",
        "busy",
        DEFAULT_RESULT_FALSE_REASON,  # could_not_wake_buses
        REASON_LIMIT_OUT_OF_RANGE,  # charge_limit_out_of_range
    ],
)
async def test_every_refusal_reason(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, reason: str
) -> None:
    """`result: false` for each command: success where the reason means done, else an error."""
    car = next(iter(init_integration.runtime_data.cars.values()))
    fault = sim.faults.add("result_false", reason=reason, path="/command/", count=None)
    outcomes = {}
    keys = set()
    for name, call in (
        ("start", car.controller.async_start),
        ("stop", car.controller.async_stop),
        ("amps", lambda: car.controller.async_set_amps(10)),
        ("target", lambda: car.controller.async_set_target(60)),
    ):
        try:
            await call()
        except HomeAssistantError as err:
            keys.add(err.translation_key)
            outcomes[name] = err.translation_placeholders["reason"]
        else:
            outcomes[name] = "ok"
        record = car.controller.last_command
        assert (record.name, record.state) == (name, "ok" if outcomes[name] == "ok" else "failed")
    done = {"requested", "already_set"}
    assert outcomes == {
        "start": "ok" if reason in done | {"is_charging"} else reason,
        "stop": "ok" if reason in done | {"not_charging"} else reason,
        "amps": "ok" if reason in done else reason,
        "target": "ok" if reason in done else reason,
    }
    assert keys <= {"command_refused"}
    assert sim.ledger.count("command") == fault.fired == 4  # one each, no retries


ASLEEP = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        state="asleep",
        plugged_in=True,
        auto_start_on_plug=False,
    )
]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_restart_while_a_command_waits_for_a_wake(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    sim.vehicle(1).fall_asleep()
    car = next(iter(init_integration.runtime_data.cars.values()))
    from dataclasses import replace

    car.coordinator.data = replace(car.coordinator.data, connection=None)
    pending = hass.async_create_task(car.controller.async_start())
    await asyncio.sleep(0.05)
    assert sim.ledger.count("wake") == 1  # woken; the simulator's clock stands still
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(asyncio.CancelledError):
        await pending
    sim.clock.speed = 500
    await asyncio.sleep(0.2)
    sim.advance(60)
    await hass.async_block_till_done()
    assert sim.ledger.count("command") == 0  # the waiting start was never sent, let alone twice
    assert sim.ledger.count("wake") == 1
    # The old controller, still referenced somewhere, refuses to send anything after its unload.
    with pytest.raises(HomeAssistantError):
        await car.controller.async_start()
    assert sim.ledger.count("command") == 0


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_the_last_command_and_its_outcome_survive_a_reload(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Sent and answered, or cancelled while it waited: after a reload the status and the Last
    command sensor still say so (they showed nothing at all before)."""
    vin = sim.vehicle(1).vin
    sensor = entity_id(hass, "sensor", vin, "last_command")
    client = await hass_client()

    async def shown() -> tuple[dict[str, Any], str, dict[str, Any]]:
        body = await (await client.get("/tlwb/1/status")).json()
        state = hass.states.get(sensor)
        assert state is not None
        return body["command"], state.state, dict(state.attributes)

    car = init_integration.runtime_data.cars[vin]
    await car.controller.async_set_amps(10)
    sent, state, attributes = await shown()
    assert (sent["name"], sent["value"], sent["state"], state) == ("amps", 10, "ok", "ok")
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert await shown() == (sent, state, attributes)

    # Asleep, and the reload comes while the start waits for the car to wake.
    sim.vehicle(1).fall_asleep()
    car = init_integration.runtime_data.cars[vin]
    from dataclasses import replace

    car.coordinator.data = replace(car.coordinator.data, connection=None)
    pending = hass.async_create_task(car.controller.async_start())
    await asyncio.sleep(0.05)
    assert (await shown())[1] == "pending"
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(asyncio.CancelledError):
        await pending
    command, state, attributes = await shown()
    assert (command["name"], command["state"], command["reason"]) == (
        "start",
        "cancelled",
        "unloaded",
    )
    assert (state, attributes["command"], attributes["reason"]) == (
        "cancelled",
        "start",
        "unloaded",
    )
    assert sim.ledger.count("command") == 1  # the amps; the start was never sent


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_a_command_pending_when_home_assistant_went_down_is_shown_cancelled(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Killed while a command waited: its stored record still says pending. It was never sent
    (waiting commands are not kept), so after the restart it reads cancelled, "interrupted"."""
    vin = sim.vehicle(1).vin
    record = {"name": "start", "value": None, "state": "pending", "reason": "", "time": 1.0e9}
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}",
        "data": {vin: {"last_command": {**record, "source": "user"}}},
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    last = config_entry.runtime_data.cars[vin].controller.last_command
    assert last is not None
    assert (last.name, last.state.value, last.reason, last.time) == (
        "start",
        "cancelled",
        "interrupted",
        1.0e9,
    )
    assert hass.states.get(entity_id(hass, "sensor", vin, "last_command")).state == "cancelled"
    assert sim.ledger.count("command") == 0


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_home_assistant_stopping_ends_a_waiting_wake_up_and_command(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Entries are not unloaded when Home Assistant stops: the stop event itself must end what
    waits for the car, or the shutdown waits for it (the button's press was still running at
    the final stage of a 2026.10 shutdown)."""
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    wake_up = hass.async_create_task(
        hass.services.async_call(
            "button",
            "press",
            {"entity_id": entity_id(hass, "button", vin, "wake_up")},
            blocking=True,
        )
    )
    start = hass.async_create_task(car.controller.async_start())
    await asyncio.sleep(0.05)
    assert sim.ledger.count("wake") == 1  # woken; the simulator's clock stands still
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    for waiting in (wake_up, start):
        with pytest.raises(asyncio.CancelledError):
            await waiting
    last = car.controller.last_command
    assert last is not None
    assert (last.name, last.state.value, last.reason) == (
        "start",
        "cancelled",
        "home_assistant_stopped",
    )
    sim.clock.speed = 500
    await asyncio.sleep(0.2)
    assert sim.ledger.count("command") == 0
    assert sim.ledger.count("wake") == 1
    # Nothing more is sent after the stop, and the later unload still works.
    with pytest.raises(HomeAssistantError):
        await car.controller.async_wake_up()
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert sim.ledger.count("command") == 0


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_hundred_requests_against_an_asleep_car(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """100 control and set requests: one wake, applied in the order received, the last one wins."""
    # Nothing hangs here: the real timeout, so that a slow (loaded) machine fails no request.
    monkeypatch.setattr(client_module, "REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT)
    sim.vehicle(1).go_online()
    car = next(iter(init_integration.runtime_data.cars.values()))
    await car.coordinator.async_user_refresh()
    sim.vehicle(1).fall_asleep()
    from dataclasses import replace

    car.coordinator.data = replace(car.coordinator.data, connection=None)
    client: TestClient = await hass_client()
    sequence = []
    for index in range(100):
        if index % 3 == 0:
            sequence.append(f"control?{(index // 3) % 2}")
        else:
            sequence.append(f"set_amps?{5 + index % 11}")
    # The order the controller receives them in. A spy on our own code, not a fake: the
    # requests travel concurrently, so the order of arrival is not the order of `sequence`.
    received: list[tuple[str, int | float | None]] = []
    execute = car.controller.async_execute

    async def spy(commands: list[Command], source: str = "user") -> None:
        received.extend((command.name, command.value) for command in commands)
        await execute(commands, source)

    car.controller.async_execute = spy  # type: ignore[method-assign]

    async def send(path: str) -> int:
        async with client.get(f"/tlwb/1/{path}&wait=0") as answer:
            return answer.status

    statuses = await asyncio.gather(*(send(path) for path in sequence))
    assert set(statuses) <= {200, 202}
    issued = []
    for path in sequence:
        action, value = path.split("?")
        if action == "control":
            issued.append(("start" if value == "1" else "stop", None))
        else:
            issued.append(("amps", int(value)))
    assert sorted(received, key=str) == sorted(issued, key=str)  # every one, once
    sim.clock.speed = 1000
    # Up to 30 s of real time for the wake-up and 100 commands (about 2 s on an idle machine):
    # a budget for a loaded CI machine, not a timing assertion.
    for _ in range(1500):
        if len(sim.vehicle(1).commands) >= 100:
            break
        await asyncio.sleep(0.02)
    await hass.async_block_till_done()
    assert sim.ledger.count("wake") == 1
    sent = [(r.name, r.body) for r in sim.vehicle(1).commands]
    expected: list[tuple[str, dict[str, object]]] = [
        (f"charge_{name}", {})
        if name != "amps"
        else ("set_charging_amps", {"charging_amps": value})
        for name, value in received
    ]
    assert sent == expected  # in the order received
    # The final state follows the last request of each kind.
    last_amps = next(value for name, value in reversed(received) if name == "amps")
    last_switch = next(name for name, _ in reversed(received) if name != "amps")
    vehicle = sim.vehicle(1)
    assert vehicle.charge_current_request == last_amps
    if last_switch == "start":
        assert vehicle.charging_state in ("Starting", "Charging")
    else:
        assert vehicle.charging_state == "Stopped"
    status = await (await client.get("/tlwb/1/status")).json()
    assert status["targetamp"] == last_amps
    assert status["command"]["name"] == received[-1][0]
    assert status["command"]["state"] == "ok"
