"""Soak: 24 simulated hours with about 10 % of the Tesla API's answers faulted at random.

Afterwards the integration answers correctly, no task or listener has leaked, and memory has not
grown by more than a few MB. The figures are printed (pytest -s) and quoted in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import gc
import logging
import tracemalloc

import aiohttp
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox import car_access, client as client_module
from fleet_sim import SimClock, Simulator, VehicleConfig
from fleet_sim.pv import clear_day, house_load

from .conftest import advance, assert_no_traceback
from .const import GRID_SENSOR, HOME, TOKEN

FAULT_MIX = [  # (kind, status, probability per request); about 10 % in all
    ("status", 503, 0.03),
    ("status", 500, 0.015),
    ("status", 502, 0.01),
    ("status", 504, 0.01),
    ("status", 429, 0.01),
    ("status", 408, 0.01),
    ("drop", None, 0.015),
]


@pytest.fixture
def vehicle_configs() -> list[VehicleConfig]:
    return [
        VehicleConfig(
            latitude=HOME[0],
            longitude=HOME[1],
            battery_level=20.0,
            plugged_in=True,
            auto_start_on_plug=False,
            charge_limit_soc=90,
        )
    ]


@pytest.fixture
async def sim(
    socket_enabled: None, sim_clock: SimClock, vehicle_configs: list[VehicleConfig]
) -> AsyncIterator[Simulator]:
    """A car that wakes at once: with HA's clock frozen between steps, a wake-up that needs time to
    pass (and our 2 s wait between state checks) would wait for a step that never comes."""
    async with Simulator(
        clock=sim_clock, vehicles=vehicle_configs, token=TOKEN, wake_delay=0
    ) as simulator:
        yield simulator


@pytest.fixture
def entry_options() -> dict[str, object]:
    return {"pv_zone": "zone.home", "api_key": "soak-key", "grid_power_sensor": GRID_SENSOR}


def listener_count(hass: HomeAssistant) -> int:
    return sum(hass.bus.async_listeners().values())


def timer_count(hass: HomeAssistant) -> int:
    """Timers waiting in the event loop (async_track_*, async_call_later, sleeps)."""
    return sum(1 for handle in hass.loop._scheduled if not handle.cancelled())  # type: ignore[attr-defined]


def coordinator_listener_count(entry: MockConfigEntry) -> int:
    """Entities and helpers listening to the cars' coordinators."""
    return sum(len(car.coordinator._listeners) for car in entry.runtime_data.cars.values())


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_faulty_day(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # pytest keeps every log record of a test; HA keeps none. Keep warnings, and drop them hourly.
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(client_module, "REQUEST_TIMEOUT", 0.5)
    monkeypatch.setattr(car_access, "WAKE_POLL_INTERVAL", 0)
    # The API key: HA's access tokens expire after 30 minutes of the simulated day.
    test_client: TestClient = await hass_client_no_auth()
    # A plain session: aiohttp's test client keeps every response until teardown.
    client = aiohttp.ClientSession(base_url=test_client.make_url("/"))
    key = {"X-API-Key": "soak-key"}
    car = next(iter(init_integration.runtime_data.cars.values()))
    await car.surplus.async_set_mode(car.surplus.mode.__class__("pv"))
    pv, house = clear_day(step_s=60), house_load(step_s=60)
    for seed, (kind, status, probability) in enumerate(FAULT_MIX):
        sim.faults.add(kind, status=status, count=None, probability=probability, seed=seed)

    async def hour(start_s: int) -> None:
        for minute in range(60):
            t = start_s + minute * 60
            grid = house.at(t) + sim.vehicle(1).charge_power_w - pv.at(t)
            hass.states.async_set(
                GRID_SENSOR, str(round(grid)), {"unit_of_measurement": "W", "device_class": "power"}
            )
            async with client.get("/tlwb/1/status", headers=key) as response:
                assert response.status == 200
                assert (await response.json())["car"] == 1
            await advance(hass, freezer, sim, 60, step=60)
        assert_no_traceback(caplog)
        caplog.clear()

    await hour(0)  # warm up: caches, first polls
    gc.collect()
    tracemalloc.start()
    tasks_before = len(asyncio.all_tasks())
    listeners_before = listener_count(hass)
    timers_before = timer_count(hass)
    coordinator_before = coordinator_listener_count(init_integration)
    memory_before = tracemalloc.get_traced_memory()[0]
    for h in range(1, 24):
        await hour(h * 3600)
    gc.collect()
    memory_after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    faulted = sum(fault.fired for fault in sim.faults.pending)
    requests = len(sim.ledger)
    timers_after = timer_count(hass)
    coordinator_after = coordinator_listener_count(init_integration)
    sim.faults.clear()
    await advance(hass, freezer, sim, 1800, step=60)

    async with client.get("/tlwb/1/status", headers=key) as response:
        status = await response.json()
    await client.close()
    assert (
        status["soc"] == int(sim.vehicle(1).battery_level)
        or abs(status["soc"] - sim.vehicle(1).battery_level) <= 2
    )
    assert status["state"] in ("online", "asleep")
    assert len(asyncio.all_tasks()) <= tasks_before + 2
    assert listener_count(hass) == listeners_before
    # The same timers are armed at the start and the end of an hour (polls, stale checks, the PV
    # tick); a few may be in flight at either moment.
    assert timers_after <= timers_before + 3
    assert coordinator_after == coordinator_before
    grown_mb = (memory_after - memory_before) / 1e6
    assert grown_mb < 5
    assert 0.05 <= faulted / requests <= 0.15
    # The figures docs/reliability.md quotes (pytest -s tests/test_soak.py).
    print(
        f"\nSOAK requests={requests} faulted={faulted} ({faulted / requests:.1%}) "
        f"memory_growth={grown_mb:.2f}MB tasks={tasks_before}->{len(asyncio.all_tasks())} "
        f"bus_listeners={listeners_before}->{listener_count(hass)} "
        f"timers={timers_before}->{timers_after} "
        f"coordinator_listeners={coordinator_before}->{coordinator_after} "
        f"soc={sim.vehicle(1).battery_level:.1f} cost=${sim.ledger.cost():.3f} "
        f"asleep={sim.vehicle(1).asleep_seconds() / 3600:.1f}h"
    )
