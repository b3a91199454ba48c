"""Charge control through the entities: start, stop, amps, target, wake-up, failures."""

from __future__ import annotations

import asyncio

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_PV_ZONE,
    DOMAIN,
)
from fleet_sim import Simulator, VehicleConfig

from .conftest import API_KEY, HOME, advance, entity_id

PLUGGED = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        battery_level=40.0,
        plugged_in=True,
        auto_start_on_plug=False,
        charge_limit_soc=80,
    )
]


def commands(sim: Simulator) -> list[tuple[str, dict[str, object]]]:
    """The commands the simulated car received, in order."""
    return [(record.name, record.body) for record in sim.vehicle(1).commands]


async def set_number(hass: HomeAssistant, entity: str, value: float) -> None:
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity, ATTR_VALUE: value}, blocking=True
    )


async def switch(hass: HomeAssistant, entity: str, on: bool) -> None:
    await hass.services.async_call(
        "switch",
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity},
        blocking=True,
    )


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_start_stop_and_status(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    status = entity_id(hass, "sensor", vin, "status")
    charging = entity_id(hass, "switch", vin, "charging")
    assert hass.states.get(status).state == "ready_for_pv"
    assert hass.states.get(entity_id(hass, "binary_sensor", vin, "plugged_in")).state == STATE_ON
    assert (
        hass.states.get(entity_id(hass, "binary_sensor", vin, "at_pv_location")).state == STATE_ON
    )

    await switch(hass, charging, True)
    assert commands(sim) == [("charge_start", {})]
    # The commanded state shows at once, before any read confirms it.
    assert hass.states.get(charging).state == STATE_ON
    assert hass.states.get(status).state == "charging"
    last = hass.states.get(entity_id(hass, "sensor", vin, "last_command"))
    assert last.state == "ok"
    assert last.attributes["command"] == "start"

    reads = sim.ledger.count("data")
    await advance(hass, freezer, sim, 31, step=31)
    assert sim.ledger.count("data") == reads + 1  # one confirming read 30 s later
    assert sim.vehicle(1).charging_state == "Charging"
    power = hass.states.get(entity_id(hass, "sensor", vin, "charging_power"))
    assert power.state == "11040"
    assert hass.states.get(entity_id(hass, "sensor", vin, "phases")).state == "3"

    await switch(hass, charging, False)
    assert commands(sim)[-1] == ("charge_stop", {})
    assert hass.states.get(status).state == "stopped"
    await advance(hass, freezer, sim, 31, step=31)
    assert sim.vehicle(1).charging_state == "Stopped"
    assert hass.states.get(status).state == "stopped"


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_amps(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    vin = sim.vehicle(1).vin
    current = entity_id(hass, "number", vin, "charge_current")
    state = hass.states.get(current)
    assert state.attributes["max"] == 16
    assert state.attributes["min"] == 1
    await set_number(hass, current, 10)
    assert commands(sim) == [("set_charging_amps", {"charging_amps": 10})]
    assert hass.states.get(current).state == "10"
    assert sim.vehicle(1).charge_current_request == 10
    # Below 5 A the car needs the command twice, and then it takes it.
    await set_number(hass, current, 3)
    assert commands(sim)[-2:] == [("set_charging_amps", {"charging_amps": 3})] * 2
    assert sim.vehicle(1).charge_current_request == 3


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize("value", [0, 17, 10.5, -3])
async def test_bad_amps_send_nothing(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, value: float
) -> None:
    vin = sim.vehicle(1).vin
    before = len(sim.ledger)
    with pytest.raises(ServiceValidationError):
        await set_number(hass, entity_id(hass, "number", vin, "charge_current"), value)
    assert len(sim.ledger) == before
    assert sim.vehicle(1).commands == []


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_target_soc(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    target = entity_id(hass, "number", vin, "charge_limit")
    assert hass.states.get(target).attributes["min"] == 50
    await set_number(hass, target, 90)
    assert commands(sim) == [("set_charge_limit", {"percent": 90})]
    assert sim.vehicle(1).charge_limit_soc == 90
    assert hass.states.get(target).state == "90"
    # Already set is success, not an error.
    await set_number(hass, target, 90)
    assert len(commands(sim)) == 2
    with pytest.raises(ServiceValidationError):
        await set_number(hass, target, 45)  # low targets are not allowed by default
    assert len(commands(sim)) == 2


LOW_TARGETS = {CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_ALLOW_LOW_TARGET: True}
CHARGING = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        battery_level=40.0,
        plugged_in=True,
        charge_limit_soc=80,
    )
]


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize("entry_options", [LOW_TARGETS])
async def test_soft_target_stops_charging_and_survives_restart(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    await advance(hass, freezer, sim, 10, step=10)  # past Starting
    target = entity_id(hass, "number", vin, "charge_limit")
    await set_number(hass, target, 45)
    # The car's own limit goes to 50 % as a safety net; 45 % is ours.
    assert commands(sim) == [("set_charge_limit", {"percent": 50})]
    assert hass.states.get(target).state == "45"
    assert hass.states.get(target).attributes["min"] == 1

    # Charging at 11 kW into 75 kWh: 5 % takes about 20 minutes. We read when it should be reached.
    reads_before = sim.ledger.count("data")
    await advance(hass, freezer, sim, 30 * 60, step=30)
    assert ("charge_stop", {}) in commands(sim)
    level = sim.vehicle(1).battery_level
    assert 45 <= level < 46.5
    assert sim.vehicle(1).charging_state == "Stopped"
    assert sim.ledger.count("data") - reads_before <= 4
    status = hass.states.get(entity_id(hass, "sensor", vin, "status"))
    assert status.state == "stopped"

    # A start is refused while the target is reached: nothing is sent.
    sent = len(commands(sim))
    with pytest.raises(ServiceValidationError):
        await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert len(commands(sim)) == sent

    # The soft target survives a restart.
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(target).state == "45"
    car = init_integration.runtime_data.cars[vin]
    assert car.controller.soft_target == 45
    # A target of 50 or more clears it.
    await set_number(hass, target, 60)
    assert car.controller.soft_target is None
    assert commands(sim)[-1] == ("set_charge_limit", {"percent": 60})


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize("entry_options", [LOW_TARGETS])
async def test_low_target_below_level_stops_at_once(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    await advance(hass, freezer, sim, 10, step=10)
    await set_number(hass, entity_id(hass, "number", vin, "charge_limit"), 30)
    assert commands(sim) == [("set_charge_limit", {"percent": 50}), ("charge_stop", {})]


ASLEEP_PLUGGED = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        state="asleep",
        plugged_in=True,
        auto_start_on_plug=False,
        battery_level=40.0,
    )
]


@pytest.mark.parametrize("vehicle_configs", [ASLEEP_PLUGGED])
async def test_ten_concurrent_commands_one_wake(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    assert sim.ledger.count("data") == 0  # asleep at setup: never read, never woken
    assert hass.states.get(entity_id(hass, "switch", vin, "charging")).state == "unavailable"
    sim.clock.speed = 200  # the 20 s wake-up takes 0.1 s
    car = init_integration.runtime_data.cars[vin]
    results = await asyncio.gather(
        *(car.controller.async_set_amps(amps) for amps in range(5, 15)), return_exceptions=True
    )
    assert results == [None] * 10
    assert sim.ledger.count("wake") == 1
    assert [body["charging_amps"] for _, body in commands(sim)] == list(range(5, 15))
    assert sim.vehicle(1).charge_current_request == 14


@pytest.mark.parametrize("vehicle_configs", [ASLEEP_PLUGGED])
async def test_wake_timeout(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    car.controller.wake_timeout = 0.05  # the simulator's clock stands still: the car never wakes
    with pytest.raises(HomeAssistantError) as err:
        await car.controller.async_start()
    assert err.value.translation_key == "wake_timeout"
    assert sim.ledger.count("wake") == 1
    assert sim.ledger.count("command") == 0
    assert car.controller.last_command.state == "failed"
    assert car.controller.last_command.reason == "wake_timeout"


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_asleep_since_last_read_wakes_on_408(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The coordinator still thinks the car is online; the command's 408 makes us wake it once."""
    sim.vehicle(1).fall_asleep()
    sim.clock.speed = 200
    car = next(iter(init_integration.runtime_data.cars.values()))
    await car.controller.async_set_amps(8)
    assert sim.ledger.count("wake") == 1
    assert sim.vehicle(1).charge_current_request == 8


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    ("reason", "ok"),
    [("complete", False), ("disconnected", False), ("is_charging", True), ("requested", True)],
)
async def test_start_refusal_reasons(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, reason: str, ok: bool
) -> None:
    vin = sim.vehicle(1).vin
    sim.faults.add("result_false", reason=reason, path="/command/")
    switch_id = entity_id(hass, "switch", vin, "charging")
    if ok:
        await switch(hass, switch_id, True)
        assert hass.states.get(entity_id(hass, "sensor", vin, "last_command")).state == "ok"
        return
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, switch_id, True)
    assert err.value.translation_key == "command_refused"
    assert err.value.translation_placeholders["reason"] == reason
    last = hass.states.get(entity_id(hass, "sensor", vin, "last_command"))
    assert last.state == "failed"
    assert last.attributes["reason"] == reason
    assert sim.ledger.count("command") == 1  # never retried


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_command_protocol_repair_issue(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    sim.faults.add(status=403, path="/command/")
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert err.value.translation_key == "command_protocol_required"
    issue_id = f"command_protocol_{init_integration.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    # The next command that goes through clears it.
    await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_command_auth_failure_starts_reauth(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    sim.faults.add(status=401, path="/command/")
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_command_rate_limited_holds_everything_back(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    sim.faults.add(status=429, retry_after=120, path="/command/")
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert err.value.translation_key == "rate_limited"
    sent = len(sim.ledger)
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert err.value.translation_key == "rate_limited"
    await advance(hass, freezer, sim, 100, step=50)
    assert len(sim.ledger) == sent  # nothing at all before Retry-After
    await advance(hass, freezer, sim, 30, step=30)
    await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert commands(sim) == [("charge_start", {})]


@pytest.mark.parametrize("vehicle_configs", [ASLEEP_PLUGGED])
async def test_wake_button_and_refresh(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", vin, "refresh")},
        blocking=True,
    )
    assert sim.ledger.count("data") == 0  # asleep: a refresh never wakes the car
    sim.clock.speed = 200
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", vin, "wake_up")},
        blocking=True,
    )
    assert sim.ledger.count("wake") == 1
    assert sim.ledger.count("data") == 1
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "ready_for_pv"


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_validation_edges(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    from custom_components.tesla_wallbox.control import Command

    car = next(iter(init_integration.runtime_data.cars.values()))
    requests = len(sim.ledger)
    with pytest.raises(ServiceValidationError) as err:
        await car.controller.async_execute([Command("honk")])
    assert err.value.translation_key == "unknown_command"
    with pytest.raises(ServiceValidationError):
        await car.controller.async_set_amps(True)  # a bool is not a number of amps
    await car.controller.async_execute([])
    assert len(sim.ledger) == requests  # nothing was sent


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize("entry_options", [LOW_TARGETS])
async def test_soft_target_with_limit_already_50_sends_nothing(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    target = entity_id(hass, "number", vin, "charge_limit")
    await set_number(hass, target, 50)
    await set_number(hass, target, 48)
    # The safety net is already in place: 48 % costs no command.
    assert commands(sim) == [("set_charge_limit", {"percent": 50})]
    assert hass.states.get(target).state == "48"


@pytest.mark.parametrize("vehicle_configs", [ASLEEP_PLUGGED])
@pytest.mark.parametrize(("status", "key"), [(401, "auth_failed"), (503, "cannot_connect")])
async def test_wake_failures(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, status: int, key: str
) -> None:
    sim.faults.add(status=status, path="/wake_up")
    car = next(iter(init_integration.runtime_data.cars.values()))
    with pytest.raises(HomeAssistantError) as err:
        await car.controller.async_start()
    assert err.value.translation_key == key
    assert sim.ledger.count("command") == 0


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize("entry_options", [LOW_TARGETS])
async def test_soft_target_stop_failure_is_logged_not_looped(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    vin = sim.vehicle(1).vin
    await advance(hass, freezer, sim, 10, step=10)
    car = init_integration.runtime_data.cars[vin]
    await set_number(hass, entity_id(hass, "number", vin, "charge_limit"), 45)
    sim.faults.add(status=503, path="/command/charge_stop", count=None)
    await advance(hass, freezer, sim, 30 * 60, step=30)
    stops = [entry for entry in sim.ledger.entries if entry.path.endswith("/charge_stop")]
    # One attempt per data read that sees the target reached, never a loop.
    assert 1 <= len(stops) <= sim.ledger.count("data")
    assert "Could not stop charging at the soft target" in caplog.text
    assert car.controller.last_command.state == "failed"
