"""Reliability: every fault the simulator injects, while polling and while commanding; restarts and
concurrency. Home Assistant keeps running, nothing is retried in a loop, and it recovers by itself."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox import client as client_module
from custom_components.tesla_wallbox.const import DOMAIN
from fleet_sim import Simulator, VehicleConfig

from .conftest import HOME, advance, entity_id

PLUGGED = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        battery_level=40.0,
        plugged_in=True,
        auto_start_on_plug=False,
    )
]
CHARGING = [VehicleConfig(latitude=HOME[0], longitude=HOME[1], battery_level=30.0, plugged_in=True)]
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
    assert "Traceback" not in caplog.text
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
        failed = sum(1 for e in sim.ledger.entries if e.status != 200)
        assert failed <= 8  # backing off, not hammering
    await advance(hass, freezer, sim, 900, step=60)
    if status not in (408, 429):
        # No contact for longer than stale_after: unavailable now.
        assert hass.states.get(battery).state == STATE_UNAVAILABLE
    sim.faults.clear()
    await advance(hass, freezer, sim, 1800, step=60)
    assert hass.states.get(battery).state not in (STATE_UNAVAILABLE, "unknown")
    assert init_integration.runtime_data.cars[vin].coordinator.data.last_error is None
    no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
async def test_hung_polls_time_out_and_back_off(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request that never answers is given up after our timeout (real time: no frozen clock)."""
    car = next(iter(init_integration.runtime_data.cars.values()))
    coordinator = car.coordinator
    sim.faults.add("hang", count=None)
    plans = []
    for _ in range(3):
        await coordinator.async_refresh()
        assert coordinator.plan is not None
        plans.append(coordinator.plan.at - coordinator.now())
    assert coordinator.facts.failures == 3
    assert coordinator.data.last_error == "cannot_connect"
    assert plans[0] < plans[1] < plans[2]  # backing off
    sim.faults.clear()
    for _ in range(50):  # the simulator records a hung request once the client has hung up
        if sum(1 for e in sim.ledger.entries if e.status == 0) == 3:
            break
        await asyncio.sleep(0.01)
    assert sum(1 for e in sim.ledger.entries if e.status == 0) == 3
    await coordinator.async_refresh()
    assert coordinator.facts.failures == 0
    assert coordinator.data.last_error is None
    no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
async def test_fault_on_a_command(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
) -> None:
    client: TestClient = await hass_client()
    sim.faults.add(**{"kind": "status", **fault, "count": None, "path": "/command/"})
    sim.clock.speed = 500  # a wake-up after a 408 takes 40 ms
    response = await client.get("/tlwb/1/set_amps?10&wait=30")
    body = await response.json()
    assert response.status in (409, 429, 502, 504)
    assert body["command"]["state"] == "failed"
    assert body["command"]["reason"]
    sent = sum(1 for e in sim.ledger.entries if "/command/" in e.path)
    # Once, or twice after a 408 (wake, then one more try): never in a loop.
    assert sent == (2 if fault.get("status") == 408 else 1)
    car = next(iter(init_integration.runtime_data.cars.values()))
    with pytest.raises(HomeAssistantError):
        await car.controller.async_set_amps(11)
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"command_protocol_{init_integration.entry_id}"
    )
    assert (issue is not None) == (fault.get("status") == 403)
    sim.faults.clear()
    if fault.get("status") == 429:
        return  # held back until Retry-After: covered in test_control
    await car.controller.async_set_amps(12)
    assert sim.vehicle(1).charge_current_request == 12
    no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    "reason",
    ["is_charging", "not_charging", "complete", "disconnected", "requested", "already_set", "busy"],
)
async def test_every_refusal_reason(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, reason: str
) -> None:
    car = next(iter(init_integration.runtime_data.cars.values()))
    sim.faults.add("result_false", reason=reason, path="/command/", count=None)
    outcomes = {}
    for name, call in (
        ("start", car.controller.async_start),
        ("stop", car.controller.async_stop),
    ):
        try:
            await call()
        except HomeAssistantError as err:
            outcomes[name] = err.translation_placeholders["reason"]
        else:
            outcomes[name] = "ok"
    success_on_start = reason in ("is_charging", "requested", "already_set")
    success_on_stop = reason in ("not_charging", "already_set", "requested")
    assert outcomes == {
        "start": "ok" if success_on_start else reason,
        "stop": "ok" if success_on_stop else reason,
    }
    assert sim.ledger.count("command") == 2  # one each, no retries


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


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_hundred_requests_against_an_asleep_car(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """100 control and set requests: one wake, applied in the order received, the last one wins."""
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
    # Sent one after another without waiting: each is queued (202) in the order received.
    answers = [await client.get(f"/tlwb/1/{path}&wait=0") for path in sequence]
    assert {answer.status for answer in answers} <= {200, 202}
    sim.clock.speed = 1000
    for _ in range(200):
        if len(sim.vehicle(1).commands) >= 100:
            break
        await asyncio.sleep(0.02)
    await hass.async_block_till_done()
    assert sim.ledger.count("wake") == 1
    sent = [(r.name, r.body) for r in sim.vehicle(1).commands]
    expected: list[tuple[str, dict[str, object]]] = []
    for path in sequence:
        action, value = path.split("?")
        if action == "control":
            expected.append(("charge_start" if value == "1" else "charge_stop", {}))
        else:
            expected.append(("set_charging_amps", {"charging_amps": int(value)}))
    assert sent == expected
    status = await (await client.get("/tlwb/1/status")).json()
    assert status["targetamp"] == 5 + 98 % 11  # the last set_amps
    assert status["command"]["name"] == "start"  # the last request: control?1 at index 99
    assert status["command"]["state"] == "ok"
