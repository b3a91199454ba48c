"""Every entity's state and attributes in three simulator scenarios, and the cost of the day.

The states are compared with syrupy snapshots (`pytest --snapshot-update` after a wanted change);
the figures a user reads most (voltage, currents, the cost) are also asserted one by one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util, slugify
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.tesla_wallbox.const import (
    CONF_API_KEY,
    CONF_GRID_SENSOR,
    CONF_PV_ZONE,
    DOMAIN,
)
from fleet_sim import Simulator, VehicleConfig

from .conftest import advance, entity_id
from .const import API_KEY, AWAY, HOME

# 10:00 in Home Assistant's test time zone (US/Pacific): the same day all through a scenario.
MORNING = "2026-06-15 17:00:00+00:00"

PARKED_IDLE = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        battery_level=55.0,
        plugged_in=True,
        auto_start_on_plug=False,
        charge_limit_soc=80,
    )
]
CHARGING = [VehicleConfig(latitude=HOME[0], longitude=HOME[1], battery_level=40.0, plugged_in=True)]
AWAY_UNPLUGGED = [VehicleConfig(latitude=AWAY[0], longitude=AWAY[1], battery_level=70.0)]


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Options that give every entity a meaning: a PV location and a grid sensor."""
    return {CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_GRID_SENSOR: "sensor.grid"}


def ledger_cost(sim: Simulator, since: float | None = None) -> float:
    """What the simulator's ledger says the requests cost (since a moment, sim time)."""
    return sum(e.price for e in sim.ledger.entries if since is None or e.time >= since)


def billed(sim: Simulator, category: str, since: float | None = None) -> int:
    """Billable requests of a category, as the ledger counts them."""
    return sum(
        1
        for e in sim.ledger.entries
        if e.category == category and e.price > 0 and (since is None or e.time >= since)
    )


async def set_up_with_every_entity(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up the entry with the entities that are disabled by default enabled too."""
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    for vin, name in entry.data["vehicles"].items():
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{vin}_charging_state",
            suggested_object_id=slugify(f"{name} charging state"),
            config_entry=entry,
        )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def entity_states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, object]:
    """entity_id -> state of every entity of the entry, sorted.

    Home Assistant 2026.10 keys the attributes it sets itself (friendly_name, device_class...) with
    the StrEnum EntityStateAttribute, 2026.2 with plain strings; both are the same text, in the
    state machine and in JSON. The keys are made plain strings so that one snapshot fits both.
    """
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert all(item.disabled_by is None for item in entries)
    states: dict[str, object] = {}
    for item in sorted(entries, key=str):
        state = hass.states.get(item.entity_id)
        assert state is not None
        attributes = {str(key): value for key, value in state.attributes.items()}
        states[item.entity_id] = State(
            state.entity_id,
            state.state,
            attributes,
            last_changed=state.last_changed,
            last_reported=state.last_reported,
            last_updated=state.last_updated,
            context=state.context,
        )
    return states


@pytest.mark.freeze_time(MORNING)
@pytest.mark.parametrize(
    ("vehicle_configs", "minutes"),
    [(PARKED_IDLE, 0), (CHARGING, 10), (AWAY_UNPLUGGED, 120)],
    ids=["parked_at_home_plugged_in_idle", "charging_at_home", "asleep_away"],
)
async def test_every_entity(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
    request: pytest.FixtureRequest,
    minutes: int,
) -> None:
    await set_up_with_every_entity(hass, config_entry)
    await advance(hass, freezer, sim, minutes * 60)
    scenario = request.node.callspec.id.split("-")[0]
    vin = sim.vehicle(1).vin

    def state(platform: str, key: str) -> str:
        return hass.states.get(entity_id(hass, platform, vin, key)).state

    if scenario == "charging_at_home":
        # 16 A on three phases of 230 V, as the car reads it at the 10-minute poll.
        assert sim.vehicle(1).charging_state == "Charging"
        assert (state("sensor", "voltage"), state("sensor", "actual_current")) == ("230", "16")
        assert state("sensor", "available_current") == "16"
        assert state("sensor", "status") == "charging"
    elif scenario == "parked_at_home_plugged_in_idle":
        # A plugged, idle Tesla reports a couple of volts and no current, as the real car does.
        assert (state("sensor", "voltage"), state("sensor", "actual_current")) == ("2", "0")
        assert state("sensor", "available_current") == "16"  # the wall offers it, the car idles
        assert state("sensor", "status") == "ready_for_pv"
    else:
        assert sim.vehicle(1).state == "asleep"
        assert state("binary_sensor", "at_pv_location") == "off"
        # Asleep since the last read: its figures still hold, and nothing was read while asleep.
        assert state("sensor", "battery_level") == "70"
        asleep_since = sim.vehicle(1).timeline[-1][0]
        assert billed(sim, "data", since=asleep_since) == 0

    # The cost of the day is what the ledger billed: data reads only, in these scenarios.
    cost = hass.states.get(entity_id(hass, "sensor", vin, "api_cost_today"))
    reads = billed(sim, "data")
    assert reads >= 1
    assert billed(sim, "wake") == billed(sim, "command") == 0
    assert float(cost.state) == pytest.approx(ledger_cost(sim)) == pytest.approx(reads * 0.002)
    assert cost.attributes["data"] == reads
    assert cost.attributes["last_reset"] == "2026-06-15T00:00:00-07:00"

    assert entity_states(hass, config_entry) == snapshot


async def press(hass: HomeAssistant, entity: str) -> None:
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: entity}, blocking=True)


# 23:40 in US/Pacific: midnight comes 20 minutes in.
@pytest.mark.freeze_time("2026-06-15 06:40:00+00:00")
@pytest.mark.parametrize("vehicle_configs", [PARKED_IDLE])
async def test_cost_of_the_day_survives_a_reload_and_starts_again_at_midnight(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, dict[str, object]],
) -> None:
    vin = sim.vehicle(1).vin
    cost_id = entity_id(hass, "sensor", vin, "api_cost_today")
    refresh = entity_id(hass, "button", vin, "refresh")
    await press(hass, refresh)
    await press(hass, refresh)
    cost = hass.states.get(cost_id)
    assert billed(sim, "data") == 3  # the read at setup and two refreshes
    assert float(cost.state) == pytest.approx(0.006)
    assert cost.attributes["last_reset"] == "2026-06-14T00:00:00-07:00"

    # A reload (every options save does one) keeps the day's counts.
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    cost = hass.states.get(cost_id)
    assert billed(sim, "data") == 4
    assert float(cost.state) == pytest.approx(ledger_cost(sim)) == pytest.approx(0.008)
    assert cost.attributes["data"] == 4
    # And they are on disk, a few seconds later, for a restart.
    await advance(hass, freezer, sim, 10, step=10)
    stored = hass_storage[f"{DOMAIN}.{init_integration.entry_id}"]["data"]
    assert stored[vin]["calls"] == {"day": "2026-06-14", "counts": {"data": 4}}  # type: ignore[index]

    # Past midnight: the day's cost starts from zero, with a new last_reset.
    await advance(hass, freezer, sim, 25 * 60)
    midnight = datetime.fromisoformat("2026-06-15T00:00:00-07:00").timestamp()
    assert dt_util.now().date().isoformat() == "2026-06-15"
    await press(hass, refresh)
    cost = hass.states.get(cost_id)
    assert float(cost.state) == pytest.approx(ledger_cost(sim, since=midnight))
    assert cost.attributes["last_reset"] == "2026-06-15T00:00:00-07:00"
    # Yesterday's counts, stored, do not come back with a reload on the new day.
    yesterday = {"day": "2026-06-14", "counts": {"data": 50}}
    init_integration.runtime_data.store.set(vin, "calls", yesterday)
    before = len(sim.ledger)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    cost = hass.states.get(cost_id)
    assert float(cost.state) == pytest.approx(sum(e.price for e in sim.ledger.entries[before:]))
    assert float(cost.state) < 0.1


@pytest.mark.parametrize(
    ("options", "absent"),
    [
        ({CONF_PV_ZONE: "zone.home"}, {("sensor", "pv_surplus"), ("sensor", "pv_state")}),
        (
            {CONF_PV_ZONE: "", CONF_GRID_SENSOR: "sensor.grid"},
            {("binary_sensor", "at_pv_location")},
        ),
    ],
    ids=["no_grid_sensor", "no_pv_location"],
)
async def test_entities_the_options_give_no_meaning_are_not_there(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    options: dict[str, Any],
    absent: set[tuple[str, str]],
) -> None:
    """No PV figures without a grid sensor, no At PV location without a PV location; an entity
    the options no longer have leaves the registry at the reload, and comes back with them."""
    await set_up_with_every_entity(hass, config_entry)
    registry = er.async_get(hass)
    vin = sim.vehicle(1).vin
    every = {
        (item.domain, item.unique_id.removeprefix(f"{vin}_"))
        for item in er.async_entries_for_config_entry(registry, config_entry.entry_id)
    }
    assert absent <= every
    leaving = [entity_id(hass, domain, vin, key) for domain, key in absent]
    assert all(hass.states.get(item) is not None for item in leaving)

    hass.config_entries.async_update_entry(config_entry, options={CONF_API_KEY: API_KEY, **options})
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    now = {
        (item.domain, item.unique_id.removeprefix(f"{vin}_"))
        for item in er.async_entries_for_config_entry(registry, config_entry.entry_id)
    }
    assert now == every - absent
    for domain, key in absent:
        assert registry.async_get_entity_id(domain, DOMAIN, f"{vin}_{key}") is None
    assert all(hass.states.get(item) is None for item in leaving)

    hass.config_entries.async_update_entry(
        config_entry,
        options={CONF_API_KEY: API_KEY, CONF_PV_ZONE: "zone.home", CONF_GRID_SENSOR: "sensor.grid"},
    )
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert {
        (item.domain, item.unique_id.removeprefix(f"{vin}_"))
        for item in er.async_entries_for_config_entry(registry, config_entry.entry_id)
    } == every
