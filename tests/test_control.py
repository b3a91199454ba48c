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

from custom_components.tesla_wallbox.commands import CommandRecord, CommandState
from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_PV_ZONE,
    CONF_WAKE_TIMEOUT,
    DOMAIN,
)
from fleet_sim import Simulator, VehicleConfig
from fleet_sim.vehicle import FastCharger

from .conftest import advance, entity_id
from .const import API_KEY, AWAY, CHARGING_AT_HOME, HOME, PLUGGED_AT_HOME

PLUGGED = [PLUGGED_AT_HOME]


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
CHARGING = [CHARGING_AT_HOME]


@pytest.mark.parametrize(
    "vehicle_configs", [[VehicleConfig(latitude=AWAY[0], longitude=AWAY[1], battery_level=40.0)]]
)
@pytest.mark.parametrize("entry_options", [LOW_TARGETS])
async def test_a_soft_target_never_stops_a_fast_charge(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The soft target is the wallbox's: at a Supercharger the driver decides."""
    vin = sim.vehicle(1).vin
    await set_number(hass, entity_id(hass, "number", vin, "charge_limit"), 45)
    sim.vehicle(1).plug_in_dc(FastCharger())  # 150 kW: 40 % to 46.7 % in two minutes
    await advance(hass, freezer, sim, 120, step=30)
    car = init_integration.runtime_data.cars[vin]
    await car.coordinator.async_user_refresh()  # a read past the soft target
    await hass.async_block_till_done(wait_background_tasks=True)
    assert car.coordinator.data.charge.battery_level > 45
    assert sim.vehicle(1).charging_state == "Charging"
    assert ("charge_stop", {}) not in commands(sim)


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
    from custom_components.tesla_wallbox.commands import Command

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


async def _general_options(hass: HomeAssistant, entry: MockConfigEntry, **changes: object) -> None:
    """Save the general options through the options flow, as a user does (the entry reloads)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "general"}
    )
    values = {
        CONF_PV_ZONE: "zone.home",
        CONF_ALLOW_LOW_TARGET: False,
        "charging_interval": 600,
        "pv_charging_interval": 3600,
        "sleep_check_interval": 300,
        "idle_quiet": 900,
        "stale_after": 1800,
        "wake_timeout": 90,
        "regenerate_api_key": False,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**values, **changes}
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize("entry_options", [LOW_TARGETS])
async def test_switching_low_targets_off_clears_the_soft_target(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    await advance(hass, freezer, sim, 10, step=10)  # past Starting
    target = entity_id(hass, "number", vin, "charge_limit")
    await set_number(hass, target, 45)
    assert init_integration.runtime_data.cars[vin].controller.soft_target == 45

    await _general_options(hass, init_integration, **{CONF_ALLOW_LOW_TARGET: False})
    car = init_integration.runtime_data.cars[vin]
    assert car.controller.soft_target is None
    assert car.coordinator.soft_target is None
    state = hass.states.get(target)
    assert state.attributes["min"] == 50
    assert state.state == "50"  # the car's own limit, which stays

    # Charging goes on past the old target of 45 %, up to the car's limit.
    await advance(hass, freezer, sim, 30 * 60, step=30)
    assert ("charge_stop", {}) not in commands(sim)
    assert sim.vehicle(1).charging_state == "Charging"
    assert sim.vehicle(1).battery_level > 46
    # It was cleared in the store too: allowing low targets again does not bring it back.
    await _general_options(hass, init_integration, **{CONF_ALLOW_LOW_TARGET: True})
    assert init_integration.runtime_data.cars[vin].controller.soft_target is None
    assert hass.states.get(target).attributes["min"] == 1


async def press(hass: HomeAssistant, entity: str) -> None:
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: entity}, blocking=True)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_wake_button_on_an_online_car_sends_no_wake(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A wake-up costs $0.02: the free state check says the car is awake already."""
    vin = sim.vehicle(1).vin
    data, states = sim.ledger.count("data"), sim.ledger.count("state")
    await press(hass, entity_id(hass, "button", vin, "wake_up"))
    assert sim.ledger.count("wake") == 0
    assert sim.ledger.count("data") == data + 1  # the fresh read the user asked for
    assert sim.ledger.count("state") > states


@pytest.mark.parametrize(
    "vehicle_configs",
    [
        [
            VehicleConfig(
                latitude=HOME[0], longitude=HOME[1], plugged_in=True, auto_start_on_plug=False
            )
        ]
    ],
)
async def test_wake_button_wakes_a_car_that_fell_asleep(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The coordinator still thinks the car is online; the state check finds it asleep."""
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    sim.vehicle(1).fall_asleep()
    assert car.coordinator.data.connection == "online"
    sim.clock.speed = 200
    await press(hass, entity_id(hass, "button", vin, "wake_up"))
    assert sim.ledger.count("wake") == 1
    assert sim.vehicle(1).state == "online"
    assert car.coordinator.data.connection == "online"


@pytest.mark.parametrize("vehicle_configs", [ASLEEP_PLUGGED])
async def test_wake_button_state_check_failing_sends_no_wake(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    sim.faults.add(status=503, path=f"/vehicles/{vin}", count=1)
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, entity_id(hass, "button", vin, "wake_up"))
    assert err.value.translation_key == "cannot_connect"
    assert sim.ledger.count("wake") == 0


@pytest.mark.parametrize("vehicle_configs", [ASLEEP_PLUGGED])
async def test_commands_queued_behind_a_failed_wake_fail_with_it(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The car stays out of reach after its wake-up: the commands waiting behind share that."""
    car = next(iter(init_integration.runtime_data.cars.values()))
    sim.faults.add(status=408, path="/command/", count=None)
    sim.clock.speed = 200
    results = await asyncio.gather(
        *(car.controller.async_set_amps(amps) for amps in range(5, 10)), return_exceptions=True
    )
    assert all(isinstance(result, HomeAssistantError) for result in results)
    assert {result.translation_key for result in results} == {"vehicle_unavailable"}  # type: ignore[union-attr]
    # The first command wakes the car, and once more after its 408; the four others wake nothing.
    assert sim.ledger.count("wake") == 2
    assert sim.ledger.count("command") == 2
    assert car.controller.last_command.state == "failed"
    assert car.controller.last_command.reason == "vehicle_unavailable"

    # A command sent afterwards tries again: the car may be back.
    sim.faults.clear()
    await car.controller.async_set_amps(11)
    assert sim.vehicle(1).charge_current_request == 11


@pytest.mark.parametrize("vehicle_configs", [ASLEEP_PLUGGED])
@pytest.mark.parametrize(
    # The simulator's clock stands still: the car never wakes, and the wait ends after 0.05 s.
    "entry_options",
    [{CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_WAKE_TIMEOUT: 0.05}],
)
async def test_wake_timeout_fails_the_whole_queue(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    results = await asyncio.gather(
        car.controller.async_start(),
        car.controller.async_set_amps(8),
        car.controller.async_stop(),
        car.controller.async_wake_up(),
        return_exceptions=True,
    )
    assert [getattr(result, "translation_key", None) for result in results] == ["wake_timeout"] * 4
    assert sim.ledger.count("wake") == 1
    assert sim.ledger.count("command") == 0
    assert car.controller.last_command.state == "failed"
    assert car.controller.last_command.reason == "wake_timeout"


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    ("status", "error", "key", "words"),
    [
        (403, "invalid_scope", "missing_scope", "permission"),
        (403, "Unauthorized missing scopes", "missing_scope", "permission"),
        (402, "payment required", "subscription_required", "payment"),
        (402, "subscription_required", "subscription_required", "payment"),
    ],
)
async def test_scope_and_payment_errors_are_named(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    status: int,
    error: str,
    key: str,
    words: str,
) -> None:
    vin = sim.vehicle(1).vin
    sim.faults.add(status=status, error=error, path="/command/")
    with pytest.raises(HomeAssistantError) as err:
        await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert err.value.translation_key == key
    assert words in str(err.value)  # the translated message, not the generic one
    assert sim.ledger.count("command") == 1  # not retried
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, f"command_protocol_{init_integration.entry_id}") is None
    # A 402 raises the repair issue a 402 while polling raises; the next command through clears it.
    subscription = f"subscription_required_{init_integration.entry_id}"
    assert (issues.async_get_issue(DOMAIN, subscription) is not None) is (status == 402)
    sim.faults.clear()
    await switch(hass, entity_id(hass, "switch", vin, "charging"), True)
    assert issues.async_get_issue(DOMAIN, subscription) is None


def test_a_stored_command_record_that_is_not_one_is_forgotten() -> None:
    """A record from the store is shown only when it is whole; a pending one was interrupted."""
    record = {
        "name": "amps",
        "value": 10,
        "state": "ok",
        "reason": "",
        "time": 5.0,
        "source": "goe",
    }
    restored = CommandRecord.from_dict(record)
    assert restored is not None
    assert restored.as_dict() == record
    pending = CommandRecord.from_dict({**record, "state": "pending"})
    assert pending is not None
    assert (pending.state, pending.reason) == (CommandState.CANCELLED, "interrupted")
    assert CommandRecord.from_dict({**record, "value": "ten"}).value is None  # type: ignore[union-attr]
    for broken in (
        None,
        [],
        "ok",
        {**record, "state": "lost"},
        {"name": "amps"},
        {**record, "time": "x"},
    ):
        assert CommandRecord.from_dict(broken) is None, broken
