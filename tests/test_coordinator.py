"""Polling against the simulator: the car is left to sleep; data is read when it buys something."""

from __future__ import annotations

import itertools
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox.const import DOMAIN
from custom_components.tesla_wallbox.storage import NOT_BEFORE_KEY
from fleet_sim import Simulator, VehicleConfig

from .conftest import advance, assert_no_traceback, entity_id
from .const import AWAY, HOME


def data_reads_while_asleep(sim: Simulator) -> int:
    """vehicle_data requests the simulator answered 408 because the car slept."""
    return sum(
        1 for entry in sim.ledger.entries if entry.category == "data" and entry.status == 408
    )


ASLEEP = [VehicleConfig(latitude=HOME[0], longitude=HOME[1], state="asleep")]
PLUGGED_IDLE = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        plugged_in=True,
        auto_start_on_plug=False,
        battery_level=60,
    )
]
CHARGING = [
    VehicleConfig(
        latitude=HOME[0], longitude=HOME[1], plugged_in=True, battery_level=20, charge_limit_soc=90
    )
]


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_asleep_car_is_never_read(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await advance(hass, freezer, sim, 6 * 3600, step=300)
    assert sim.ledger.count("data") == 0
    assert sim.ledger.count("wake") == 0
    # A free state check every 5 minutes, give or take the first one.
    assert 70 <= sim.ledger.count("state") <= 74
    assert sim.vehicle(1).state == "asleep"
    vin = sim.vehicle(1).vin
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "not_ready"


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_plug_in_wakes_car_and_is_noticed(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    await advance(hass, freezer, sim, 1800, step=300)
    sim.vehicle(1).plug_in()  # plugging in wakes a real car, and it starts charging
    await advance(hass, freezer, sim, 300, step=300)
    assert sim.ledger.count("data") == 1
    assert hass.states.get(entity_id(hass, "binary_sensor", vin, "plugged_in")).state == "on"
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state in (
        "charging",
        "ready_for_pv",
    )


@pytest.mark.parametrize("vehicle_configs", [PLUGGED_IDLE])
async def test_plugged_idle_car_falls_asleep(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await advance(hass, freezer, sim, 3600, step=60)
    car = sim.vehicle(1)
    assert car.state == "asleep"
    assert sim.ledger.count("data") == 1  # the first read only
    assert car.asleep_seconds() >= 3600 - 15 * 60 - 60
    vin = car.vin
    # Asleep with the last data still true: entities stay available, status as it was.
    assert hass.states.get(entity_id(hass, "sensor", vin, "battery_level")).state == "60"
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "ready_for_pv"


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
async def test_charging_reads_every_interval(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await advance(hass, freezer, sim, 3600, step=60)
    # One read at setup, then one every 10 minutes.
    assert sim.ledger.count("data") == 7
    vin = sim.vehicle(1).vin
    energy = float(hass.states.get(entity_id(hass, "sensor", vin, "energy_added")).state)
    assert energy == pytest.approx(11.0, abs=0.2)
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "charging"


@pytest.mark.parametrize("vehicle_configs", [PLUGGED_IDLE])
async def test_a_day_parked_plugged_in_sleeps(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """24 simulated hours at home, plugged in, idle: asleep >= 90 %, no data while asleep."""
    start = sim.now()
    await advance(hass, freezer, sim, 24 * 3600, step=300)
    asleep = sim.vehicle(1).asleep_seconds(since=start)
    assert asleep / (24 * 3600) >= 0.9
    assert data_reads_while_asleep(sim) == 0
    assert sim.ledger.count("data") == 1
    assert sim.ledger.cost() == pytest.approx(0.002)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED_IDLE])
async def test_auth_failure_while_polling_starts_reauth(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    sim.faults.add(status=401, count=None)
    await advance(hass, freezer, sim, 600, step=300)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    requests = len(sim.ledger)
    await advance(hass, freezer, sim, 3600, step=300)
    assert len(sim.ledger) == requests  # no more polling with a refused token


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_rate_limit_honoured(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    sim.faults.add(status=429, retry_after=1800)
    await advance(hass, freezer, sim, 300, step=300)
    limited_at = sim.ledger.entries[-1].time
    assert sim.ledger.entries[-1].status == 429
    await advance(hass, freezer, sim, 1790, step=10)
    assert sim.ledger.entries[-1].time == limited_at  # nothing before Retry-After
    await advance(hass, freezer, sim, 60, step=10)
    assert sim.ledger.entries[-1].time >= limited_at + 1800
    assert sim.ledger.entries[-1].status == 200


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_rate_limit_holds_the_refresh_button_and_survives_a_restart(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    sim.faults.add(status=429, retry_after=3600)
    await advance(hass, freezer, sim, 300, step=300)
    limited_at = sim.ledger.entries[-1].time
    assert sim.ledger.entries[-1].status == 429
    requests = len(sim.ledger)
    button = entity_id(hass, "button", sim.vehicle(1).vin, "refresh")
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    assert raised.value.translation_key == "rate_limited"
    # A restart in the middle of the wait still waits.
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, sim, 3000, step=60)
    assert len(sim.ledger) == requests
    await advance(hass, freezer, sim, 600, step=60)
    assert sim.ledger.entries[-1].time >= limited_at + 3600
    assert sim.ledger.entries[-1].status == 200


@pytest.mark.parametrize("header", ["31536000", "1e12", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_a_retry_after_of_a_year_holds_an_hour(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    header: str,
) -> None:
    """A year (or a malformed 1e12, or the year 9999) would lock the car out for good: the hold
    is capped at an hour, the entry stays loaded, and the status still answers."""
    sim.faults.add(status=429, retry_after_header=header)
    await advance(hass, freezer, sim, 300, step=300)
    limited_at = sim.ledger.entries[-1].time
    assert sim.ledger.entries[-1].status == 429
    assert init_integration.state is ConfigEntryState.LOADED
    client = await hass_client()
    response = await client.get("/tlwb/1/status")
    assert response.status == 200
    requests = len(sim.ledger)
    await advance(hass, freezer, sim, 3540, step=60)
    assert len(sim.ledger) == requests  # held
    await advance(hass, freezer, sim, 600, step=60)
    assert limited_at + 3600 <= sim.ledger.entries[-1].time <= limited_at + 3600 + 600
    assert sim.ledger.entries[-1].status == 200
    assert_no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_a_stored_hold_beyond_the_cap_is_dropped_at_reload(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A hold of a year stored by an older version: the next reload clears it, and the Refresh
    button then works at once."""
    car = next(iter(init_integration.runtime_data.cars.values()))
    a_year = dt_util.utcnow().timestamp() + 365 * 86400
    await init_integration.runtime_data.store.async_set_now(car.vin, NOT_BEFORE_KEY, a_year)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    requests = len(sim.ledger)
    button = entity_id(hass, "button", car.vin, "refresh")
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    assert len(sim.ledger) == requests + 1  # the free state check of an asleep car
    assert init_integration.runtime_data.store.get(car.vin, NOT_BEFORE_KEY) is None


@pytest.mark.parametrize("vehicle_configs", [PLUGGED_IDLE])
async def test_server_errors_back_off_then_go_stale_then_recover(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    vin = sim.vehicle(1).vin
    battery = entity_id(hass, "sensor", vin, "battery_level")
    sim.faults.add(status=503, count=None)
    await advance(hass, freezer, sim, 1500, step=30)
    failed = [entry for entry in sim.ledger.entries if entry.status == 503]
    # Backing off: 30 s, 60 s, 120 s, ... not a request every few seconds.
    assert 3 <= len(failed) <= 7
    gaps = [b.time - a.time for a, b in itertools.pairwise(failed)]
    assert all(later >= earlier for earlier, later in itertools.pairwise(gaps))
    assert hass.states.get(battery).state == "60"  # not stale yet: still available
    with caplog.at_level(logging.WARNING):
        await advance(hass, freezer, sim, 600, step=30)
    assert hass.states.get(battery).state == STATE_UNAVAILABLE
    assert sum("entities are unavailable" in message for message in caplog.messages) == 1
    assert_no_traceback(caplog)
    sim.faults.clear()
    with caplog.at_level(logging.INFO):
        await advance(hass, freezer, sim, 1000, step=30)
    assert hass.states.get(battery).state == "60"
    assert sum("is back" in message for message in caplog.messages) == 1
    assert init_integration.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("vehicle_configs", [PLUGGED_IDLE])
async def test_restart_while_asleep_keeps_last_data(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await advance(hass, freezer, sim, 3600, step=300)
    assert sim.vehicle(1).state == "asleep"
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    vin = sim.vehicle(1).vin
    assert hass.states.get(entity_id(hass, "sensor", vin, "battery_level")).state == "60"
    assert sim.ledger.count("data") == 1
    assert data_reads_while_asleep(sim) == 0


@pytest.mark.parametrize("vehicle_configs", [PLUGGED_IDLE])
async def test_first_poll_failing_retries_setup(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    sim.faults.add(status=500, count=None)
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
async def test_car_asleep_when_data_read_is_due(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A 408 on a planned data read makes the next poll a free state check, not a wake."""
    sim.vehicle(1).fall_asleep()
    await advance(hass, freezer, sim, 700, step=50)
    assert sim.ledger.count("wake") == 0
    assert [e.status for e in sim.ledger.entries if e.category == "data"][-1] == 408
    car = next(iter(init_integration.runtime_data.cars.values()))
    assert car.coordinator.data.connection == "asleep"
    assert car.coordinator.age is not None


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
async def test_data_refused_while_online_is_not_a_loop(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The vehicle endpoint says online, vehicle_data answers 408 (a car dozing off, weak
    signal; here while it charges, so that it stays awake): a handful of refused reads in two
    hours, growing gaps, and back to normal after."""
    sim.faults.add(status=408, path="/vehicle_data", count=None)
    await advance(hass, freezer, sim, 2 * 3600, step=20)
    refused = [e.time for e in sim.ledger.entries if e.category == "data" and e.status == 408]
    assert 1 <= len(refused) <= 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(refused)]
    assert all(gap >= 300 for gap in gaps)
    assert gaps == sorted(gaps)
    assert sim.ledger.count("wake") == 0
    state_checks = sim.ledger.count("state")
    assert state_checks <= 2 * 3600 / 300 + 2 * len(refused) + 2  # the usual pace, no loop
    sim.faults.clear()
    await advance(hass, freezer, sim, 3600, step=60)
    ok = [e for e in sim.ledger.entries if e.category == "data" and e.status == 200]
    assert ok
    assert ok[-1].time > refused[-1]


async def test_age_unknown_before_any_data(hass: HomeAssistant, sim: Simulator) -> None:
    from homeassistant.helpers.aiohttp_client import async_get_clientsession

    from custom_components.tesla_wallbox.client import AccountClient, Connect
    from custom_components.tesla_wallbox.const import Backend
    from custom_components.tesla_wallbox.coordinator import WallboxCoordinator
    from custom_components.tesla_wallbox.storage import CarStore

    entry = MockConfigEntry(domain=DOMAIN, data={}, options={})
    entry.add_to_hass(hass)
    account = AccountClient(
        async_get_clientsession(hass), Connect(Backend.CUSTOM, "t", url=sim.url)
    )
    coordinator = WallboxCoordinator(
        hass, entry, account.vehicle(sim.vehicle(1).vin), CarStore(hass, entry.entry_id), "car"
    )
    assert coordinator.age is None
    assert coordinator.stale


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
async def test_energy_total_counts_sessions_and_survives_restart(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    vin = sim.vehicle(1).vin
    total = entity_id(hass, "sensor", vin, "energy_total")
    await advance(hass, freezer, sim, 3600, step=60)
    first = float(hass.states.get(total).state)
    assert first == pytest.approx(11.04, abs=0.2)
    # A new plug session starts its own counter at zero; the total goes on.
    sim.vehicle(1).unplug()
    sim.vehicle(1).plug_in()
    car = init_integration.runtime_data.cars[vin]
    await car.coordinator.async_user_refresh()
    await advance(hass, freezer, sim, 1800, step=60)
    second = float(hass.states.get(total).state)
    assert second == pytest.approx(first + 5.52, abs=0.3)
    await advance(hass, freezer, sim, 10, step=10)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    # Restored, plus what the car charged between the last read and the read at reload.
    assert second <= float(hass.states.get(total).state) <= second + 0.1


@pytest.mark.parametrize(
    "vehicle_configs",
    [
        [
            VehicleConfig(
                latitude=HOME[0],
                longitude=HOME[1],
                plugged_in=True,
                battery_level=75,
                charge_limit_soc=80,
            )
        ]
    ],
)
async def test_read_when_the_car_should_reach_its_limit(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """5 % at 11 kW takes about 20 minutes: one read right after, then the car is left to sleep."""
    await advance(hass, freezer, sim, 3 * 3600, step=60)
    reads = [e.time for e in sim.ledger.entries if e.category == "data"]
    assert sim.vehicle(1).charging_state == "Complete"
    assert len(reads) == 4  # set-up, 10 and 20 minutes, and the predicted completion
    assert reads[-1] - reads[0] < 25 * 60
    vin = sim.vehicle(1).vin
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "stopped"
    assert sim.vehicle(1).state == "asleep"


@pytest.mark.parametrize("vehicle_configs", [PLUGGED_IDLE])
async def test_a_dc_fast_charge_away_is_not_the_wallbox(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Driven to a Supercharger and plugged in there: the wallbox shows no car, no power, and the
    energy total leaves the DC energy out; plugged in at home again, it counts from zero."""
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    total = entity_id(hass, "sensor", vin, "energy_total")
    before = float(hass.states.get(total).state)
    sim.vehicle(1).unplug()
    sim.vehicle(1).move(*AWAY)
    sim.vehicle(1).plug_in_dc()
    await car.coordinator.async_user_refresh()
    await advance(hass, freezer, sim, 1200, step=60)
    assert sim.vehicle(1).charge_state()["fast_charger_present"] is True
    assert sim.vehicle(1).energy_added_kwh == pytest.approx(15.0)  # 60 % to the 80 % limit
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "not_ready"
    assert hass.states.get(entity_id(hass, "sensor", vin, "charging_power")).state == "0"
    assert hass.states.get(entity_id(hass, "sensor", vin, "phases")).state == "0"
    assert float(hass.states.get(total).state) == before
    sim.vehicle(1).unplug()
    sim.vehicle(1).move(*HOME)
    sim.vehicle(1).set_battery_level(50)  # driven home
    sim.vehicle(1).auto_start_on_plug = True
    sim.vehicle(1).plug_in()
    await car.coordinator.async_user_refresh()
    await advance(hass, freezer, sim, 600, step=60)
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "charging"
    last_read = car.coordinator.data.charge
    assert last_read is not None
    assert last_read.charge_energy_added
    assert float(hass.states.get(total).state) == pytest.approx(
        before + last_read.charge_energy_added, abs=0.01
    )


@pytest.mark.parametrize(
    "vehicle_configs",
    [[VehicleConfig(latitude=HOME[0], longitude=HOME[1], plugged_in=True, cached_data=True)]],
)
async def test_a_cached_reply_does_not_keep_a_sleeping_car_online(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A backend that answers vehicle_data of a sleeping car with cached data (state asleep):
    the car is asleep for the integration, as after a 408, not online with fresh data."""
    vin = sim.vehicle(1).vin
    car = init_integration.runtime_data.cars[vin]
    sim.vehicle(1).fall_asleep()
    await advance(hass, freezer, sim, 700, step=50)
    cached = [e for e in sim.ledger.entries if e.category == "data" and e.status == 200]
    assert len(cached) == 2  # the setup read, and one planned read answered from the cache
    assert car.coordinator.data.connection == "asleep"
    assert car.coordinator.data.data_time == pytest.approx(cached[0].time, abs=1)
    await advance(hass, freezer, sim, 3 * 3600, step=300)
    assert sim.ledger.count("data") == 2  # asleep: free state checks only
    assert sim.ledger.count("wake") == 0
    assert sim.vehicle(1).state == "asleep"
    assert not car.coordinator.stale


@pytest.mark.parametrize(
    "vehicle_configs",
    [
        [
            VehicleConfig(
                latitude=HOME[0],
                longitude=HOME[1],
                plugged_in=True,
                auto_start_on_plug=False,
                location_scope=False,
            )
        ]
    ],
)
async def test_without_the_location_scope_the_position_is_unknown(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A token without vehicle_location: no drive_state, so "at PV location" is unknown and
    the car is ready, not ready for PV (the PV modes wait for a known position)."""
    vin = sim.vehicle(1).vin
    assert hass.states.get(entity_id(hass, "binary_sensor", vin, "at_pv_location")).state == (
        "unknown"
    )
    assert hass.states.get(entity_id(hass, "sensor", vin, "status")).state == "ready"
