"""The departure plan in Home Assistant: its entities, plan mode driving the simulated car through
the real library, the repair issue and its fallback, the PV forecast, and the HTTP API.

The price sensor is a plain state the test sets, with Nord Pool's raw_today attribute shape.
Home Assistant's test time zone is US/Pacific: 10:00 there is 17:00 UTC (MORNING).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest.mock import Mock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.time import ATTR_TIME
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox.const import (
    CONF_API_KEY,
    CONF_PRICE_SENSOR,
    CONF_PV_ZONE,
    CONF_SOLAR_FORECAST,
    DOMAIN,
)
from custom_components.tesla_wallbox.repairs import plan_inputs_issue_id
from fleet_sim import Simulator

from .conftest import advance, entity_id, sim_entry
from .const import API_KEY, MORNING, PLUGGED_AT_HOME

PRICES = "sensor.electricity_price"
START = datetime.fromisoformat(MORNING)
pytestmark = [
    pytest.mark.parametrize("vehicle_configs", [[PLUGGED_AT_HOME]]),
    pytest.mark.freeze_time(MORNING),
]


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """A price sensor, no grid sensor."""
    return {CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_PRICE_SENSOR: PRICES}


def set_prices(hass: HomeAssistant, cheap_hour: int = 2, hours: int = 24) -> None:
    """Hourly prices from now on at 0.30, one cheap hour `cheap_hour` hours from now."""
    rows = [
        {
            "start": (START + timedelta(hours=h)).isoformat(),
            "end": (START + timedelta(hours=h + 1)).isoformat(),
            "value": 0.05 if h == cheap_hour else 0.30,
        }
        for h in range(hours)
    ]
    hass.states.async_set(PRICES, "0.30", {"raw_today": rows, "unit_of_measurement": "EUR/kWh"})


async def set_mode(hass: HomeAssistant, sim: Simulator, mode: str) -> None:
    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {
            ATTR_ENTITY_ID: entity_id(hass, "select", sim.vehicle(1).vin, "charge_mode"),
            ATTR_OPTION: mode,
        },
        blocking=True,
    )
    # The command it sends goes through before the clock moves on.
    await hass.async_block_till_done(wait_background_tasks=True)


async def set_target(hass: HomeAssistant, sim: Simulator, percent: int) -> None:
    await hass.services.async_call(
        "number",
        SERVICE_SET_VALUE,
        {
            ATTR_ENTITY_ID: entity_id(hass, "number", sim.vehicle(1).vin, "departure_soc"),
            ATTR_VALUE: percent,
        },
        blocking=True,
    )


def plan_state(hass: HomeAssistant, sim: Simulator) -> tuple[str, dict[str, Any]]:
    state = hass.states.get(entity_id(hass, "sensor", sim.vehicle(1).vin, "charge_plan"))
    assert state is not None
    return state.state, dict(state.attributes)


def started_and_stopped(sim: Simulator) -> list[str]:
    return [r.name for r in sim.vehicle(1).commands if r.name in ("charge_start", "charge_stop")]


async def test_plan_mode_charges_in_the_cheapest_slot_only(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    set_prices(hass, cheap_hour=2)
    sim.vehicle(
        1
    ).wake_delay = 0.0  # the slot's start wakes the car; the sim's clock waits for none
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await set_target(hass, sim, 50)  # 40 % -> 50 %: 7.5 kWh, 45 minutes at 11 kW and 90 %
    await set_mode(hass, sim, "plan")
    status, attrs = plan_state(hass, sim)
    assert status == "planned"
    assert attrs["reachable"] is True
    assert attrs["energy_needed"] == 7.5
    slot = attrs["slots"][0]
    assert slot["grid"] is True
    assert slot["price"] == 0.05
    assert slot["start"] == dt_util.as_local(START + timedelta(hours=2)).isoformat()
    assert attrs["expected_cost"] == pytest.approx(7.5 / 0.9 * 0.05, abs=1e-3)
    # Not before the slot: the car waits.
    await advance(hass, freezer, sim, 2 * 3600 - 120, step=120)
    assert started_and_stopped(sim) == []
    assert sim.vehicle(1).state == "asleep"  # waiting costs nothing: the car sleeps
    # In the slot it charges, at the car's maximum.
    await advance(hass, freezer, sim, 240, step=60)
    assert started_and_stopped(sim) == ["charge_start"]
    assert sim.vehicle(1).charging_state in ("Starting", "Charging")
    # After the slot's 45 minutes it stops, and stays stopped.
    await advance(hass, freezer, sim, 3600, step=120)
    assert started_and_stopped(sim) == ["charge_start", "charge_stop"]
    assert sim.vehicle(1).charging_state not in ("Starting", "Charging")
    assert sim.vehicle(1).battery_level >= 49.0
    await advance(hass, freezer, sim, 1800, step=300)
    assert started_and_stopped(sim) == ["charge_start", "charge_stop"]


async def test_departure_entities(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    vin = sim.vehicle(1).vin
    monday = entity_id(hass, "time", vin, "departure_monday")
    assert hass.states.get(monday).state == "07:00:00"  # type: ignore[union-attr]
    next_departure = entity_id(hass, "time", vin, "departure_next")
    assert hass.states.get(next_departure).state == "unknown"  # type: ignore[union-attr]
    await hass.services.async_call(
        "time", "set_value", {ATTR_ENTITY_ID: monday, ATTR_TIME: "06:15:00"}, blocking=True
    )
    await hass.services.async_call(
        "time", "set_value", {ATTR_ENTITY_ID: next_departure, ATTR_TIME: "09:30:00"}, blocking=True
    )
    await set_target(hass, sim, 90)
    assert hass.states.get(monday).state == "06:15:00"  # type: ignore[union-attr]
    assert hass.states.get(next_departure).state == "09:30:00"  # type: ignore[union-attr]
    _, attrs = plan_state(hass, sim)
    # 10:00 local now: 09:30 is tomorrow's, before any weekday time.
    assert attrs["departure"] == "2026-06-16T09:30:00-07:00"
    assert attrs["target_soc"] == 90
    # Kept across a reload.
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(monday).state == "06:15:00"  # type: ignore[union-attr]
    state = hass.states.get(entity_id(hass, "number", vin, "departure_soc"))
    assert state is not None
    assert state.state == "90"


async def test_missing_prices_charge_now_with_a_repair_issue(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    issue_id = plan_inputs_issue_id(init_integration, sim.vehicle(1).vin)
    await set_target(hass, sim, 50)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None  # not in plan mode yet
    await set_mode(hass, sim, "plan")
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "plan_inputs"
    assert "unavailable" in issue.translation_placeholders["problem"]  # type: ignore[index]
    status, _ = plan_state(hass, sim)
    assert status == "fallback"
    # Never no charge: it charges now, towards the target.
    await advance(hass, freezer, sim, 120, step=60)
    assert started_and_stopped(sim) == ["charge_start"]
    # Broken attributes are no better.
    hass.states.async_set(PRICES, "0.3", {"raw_today": "soon"})
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    # Prices back: the issue goes, and the plan waits for the cheap hour.
    set_prices(hass, cheap_hour=5)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    status, _ = plan_state(hass, sim)
    assert status == "planned"
    await advance(hass, freezer, sim, 240, step=60)
    assert started_and_stopped(sim) == ["charge_start", "charge_stop"]
    # Leaving plan mode clears an issue too.
    hass.states.async_set(PRICES, "unavailable")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await set_mode(hass, sim, "manual")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_pv_forecast_from_the_energy_platform(
    hass: HomeAssistant, sim: Simulator, entry_options: dict[str, Any]
) -> None:
    """A solar forecast integration's energy platform, as forecast_solar's answers."""
    set_prices(hass, cheap_hour=20)
    mock_integration(hass, MockModule("solar_test"))
    local = dt_util.as_local(START)
    forecast = {"wh_hours": {(local + timedelta(hours=h)).isoformat(): 9000 for h in (1, 2)}}

    async def get_forecast(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
        return forecast

    mock_platform(hass, "solar_test.energy", Mock(async_get_solar_forecast=get_forecast))
    solar = MockConfigEntry(domain="solar_test", state=ConfigEntryState.LOADED)
    solar.add_to_hass(hass)
    entry = sim_entry(sim, {**entry_options, CONF_SOLAR_FORECAST: solar.entry_id})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await set_target(hass, sim, 50)
    _, attrs = plan_state(hass, sim)
    assert attrs["pv_forecast_problem"] is None
    # The sun covers the 7.5 kWh at no cost: no grid slot at all.
    assert [slot["grid"] for slot in attrs["slots"]] == [False]
    assert attrs["expected_cost"] == 0
    # A forecast entry that is gone: planned without PV, and said so.
    await hass.config_entries.async_remove(solar.entry_id)
    await entry.runtime_data.cars[sim.vehicle(1).vin].plan.async_refresh_solar()
    _, attrs = plan_state(hass, sim)
    assert attrs["pv_forecast_problem"] == "the solar forecast's integration is not loaded"
    assert attrs["slots"][0]["grid"] is True


async def test_http_api_reads_and_sets_the_departures(
    hass: HomeAssistant,
    sim: Simulator,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_access_token: str,
    init_integration: MockConfigEntry,
) -> None:
    set_prices(hass)
    await hass.async_block_till_done()
    client = await hass_client()
    response = await client.get("/tlwb/1/plan")
    assert response.status == 200
    body = await response.json()
    assert body["departure"]["weekdays"]["monday"] == "07:00"
    assert body["plan"]["status"] == "planned"
    assert body["mode"] == "manual"
    response = await client.get("/tlwb/1/plan?monday=06:30&sunday=none&target_soc=85&next=08:00")
    assert response.status == 200
    body = await response.json()
    assert body["departure"]["weekdays"]["monday"] == "06:30"
    assert body["departure"]["weekdays"]["sunday"] is None
    assert body["departure"]["target_soc"] == 85
    assert body["departure"]["next"] == "2026-06-16T08:00:00-07:00"
    assert body["plan"]["departure"] == "2026-06-16T08:00:00-07:00"
    car = init_integration.runtime_data.cars[sim.vehicle(1).vin]
    before = car.plan.settings
    # Bad input: a 400 JSON, and nothing changes (not even the good parameters beside it).
    for query, error in (
        ("tuesday=25:00&target_soc=50", "invalid_time"),
        ("target_soc=0", "out_of_range"),
        ("target_soc=abc", "out_of_range"),
        ("friday=7", "invalid_time"),
        ("holiday=07:00", "unknown_parameter"),
        ("monday=06:00&monday=07:00", "repeated_parameter"),
    ):
        response = await client.get(f"/tlwb/1/plan?{query}")
        assert response.status == 400, query
        assert (await response.json())["error"] == error
    assert car.plan.settings == before
    # Reading is for everyone who may see the car; setting is for admins.
    reader = await hass_client(hass_read_only_access_token)
    assert (await reader.get("/tlwb/1/plan")).status == 200
    response = await reader.get("/tlwb/1/plan?target_soc=60")
    assert response.status == 403
    assert car.plan.settings == before
    response = await client.get(f"/tlwb/9/plan?key={API_KEY}")
    assert response.status == 404
    # The entry's API key works as for the other views; a wrong one is a 401.
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(f"/tlwb/1/plan?key={API_KEY}")).status == 200
    assert (await anonymous.get("/tlwb/1/plan?key=wrong")).status == 401


async def test_the_battery_size_comes_from_the_cars_own_charging(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """The simulated car has a 60 kWh pack, not the model's 75: a charging session of more than
    15 points shows it, the plan counts with it, and it is kept across restarts."""
    sim.vehicle(1).battery_capacity_kwh = 60.0
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    assert car.plan.battery_kwh == 75.0
    await hass.services.async_call(
        "switch",
        "turn_on",
        {ATTR_ENTITY_ID: entity_id(hass, "switch", vin, "charging")},
        blocking=True,
    )
    await advance(hass, freezer, sim, 2 * 3600, step=120)
    assert sim.vehicle(1).battery_level >= 58.0
    learned = car.plan.battery_kwh
    assert learned == pytest.approx(60.0, rel=0.07)
    await set_target(hass, sim, 80)
    _, attrs = plan_state(hass, sim)
    level = car.coordinator.data.charge.battery_level
    assert attrs["energy_needed"] == pytest.approx((80 - level) / 100 * learned, abs=0.1)

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    again = init_integration.runtime_data.cars[vin]
    assert again.plan.battery_kwh == learned
