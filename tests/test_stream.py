"""Teslemetry's stream, end to end: a Teslemetry entry whose REST requests (the metadata included)
go to the simulator over plain HTTP, and whose stream is the real teslemetry-stream library over
HTTPS to the simulator's stream (tests/conftest.py's teslemetry_hosts points Teslemetry's host
names at it: the one thing the simulator cannot do by itself).

A streaming car is never read on a timer: every value comes from the stream, and the ledger shows
what was read and when. Tests that let an hour pass freeze Home Assistant's clock (and the event
loop's with it) and move the simulated cars along; the library's 30 s read timeout is lifted
there, since a frozen minute is a silent minute to it. Tests of drops and reconnects run on the
real clock, with a short stale_after, and wait for the library's own back-off (1 s, then 2 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import math
from typing import Any

import aiohttp
import freezegun.api
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import teslemetry_stream.stream as library

from custom_components.tesla_wallbox import stream as stream_module
from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_PV_ZONE,
    CONF_STALE_AFTER,
    DOMAIN,
)
from custom_components.tesla_wallbox.coordinator import WallboxCoordinator
from custom_components.tesla_wallbox.models import WallboxRuntime
from custom_components.tesla_wallbox.repairs import subscription_issue_id
from fleet_sim import SimClock, Simulator, VehicleConfig

from .conftest import API_KEY, HOME, assert_no_traceback, entity_id, sim_entry

CHARGING = [
    VehicleConfig(
        latitude=HOME[0], longitude=HOME[1], plugged_in=True, battery_level=20, charge_limit_soc=90
    )
]
UNPLUGGED = [VehicleConfig(latitude=HOME[0], longitude=HOME[1], battery_level=40.0)]
ASLEEP = [VehicleConfig(latitude=HOME[0], longitude=HOME[1], state="asleep", battery_level=55)]
PLUGGED_IDLE = [
    VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        plugged_in=True,
        auto_start_on_plug=False,
        battery_level=60,
    )
]


@pytest.fixture
def sim_tls() -> bool:
    """The stream is served over HTTPS under Teslemetry's names."""
    return True


@pytest.fixture
def sim_clock(request: pytest.FixtureRequest) -> SimClock:
    """The cars' clock: Home Assistant's. Frozen, it moves only with the test (advance()); else
    it runs with real time, so that what a car streams is never dated before what was read.

    A frozen clock freezes the event loop's too: it is frozen here, before anything is set up,
    so that no timer of the set-up sees the loop's clock jump."""
    if "freezer" in request.fixturenames:
        request.getfixturevalue("freezer")
        return SimClock(start=dt_util.utcnow().timestamp(), speed=0)
    return SimClock(start=dt_util.utcnow().timestamp(), speed=1)


@pytest.fixture
def config_entry(
    sim: Simulator, entry_options: dict[str, Any], teslemetry_hosts: None
) -> MockConfigEntry:
    """A Teslemetry entry for every simulated car, its REST server the simulator (CONF_URL) and
    its stream the simulator's (teslemetry_hosts)."""
    return sim_entry(
        sim,
        entry_options,
        backend="teslemetry",
        title="Teslemetry cars",
        unique_id="sim-teslemetry-account",
    )


@pytest.fixture
def no_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patched: teslemetry-stream gives up a connection after 30 s without a byte. With the clock
    frozen, the simulator's keep-alives and the minutes a test lets pass arrive all at once; this
    lifts the read timeout of the library's connection only (aiohttp itself is untouched)."""

    class Aiohttp:
        def __getattr__(self, name: str) -> Any:
            return getattr(aiohttp, name)

        @staticmethod
        def ClientTimeout(**kwargs: Any) -> aiohttp.ClientTimeout:
            return aiohttp.ClientTimeout(**{**kwargs, "sock_read": None})

    monkeypatch.setattr(library, "aiohttp", Aiohttp())


def real_time() -> float:
    """The real clock, frozen or not (freezegun swaps out any other reference to it)."""
    return freezegun.api.real_monotonic()


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait (in real time, whatever the frozen clock says) until the condition holds."""
    deadline = real_time() + seconds
    while not condition():
        assert real_time() < deadline, "timed out"
        await asyncio.sleep(0)


async def real_sleep(seconds: float) -> None:
    """Let real time pass with the loop running (the stream's I/O flows meanwhile)."""
    deadline = real_time() + seconds
    while real_time() < deadline:  # noqa: ASYNC110 - a frozen loop clock never ends a sleep
        await asyncio.sleep(0)


def polls_running() -> bool:
    return any(task.get_name().endswith(" poll") for task in asyncio.all_tasks())


async def advance(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    seconds: float,
    step: float = 60.0,
    settled: Callable[[], bool] = lambda: True,
) -> None:
    """Let time pass for Home Assistant and the cars together; after each step, wait for the
    polls it started and until `settled` (what the stream should have delivered by then)."""
    remaining = seconds
    while remaining > 0:
        delta = min(step, remaining)
        freezer.tick(delta)
        sim.advance(delta)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        await until(lambda: not polls_running())
        await until(settled)
        remaining -= delta


def runtime(entry: MockConfigEntry) -> WallboxRuntime:
    return entry.runtime_data  # type: ignore[no-any-return]


def coordinator(entry: MockConfigEntry, sim: Simulator, car: int = 1) -> WallboxCoordinator:
    return runtime(entry).cars[sim.vehicle(car).vin].coordinator


async def connected(entry: MockConfigEntry) -> None:
    stream = runtime(entry).stream
    assert stream is not None
    await until(lambda: stream.connected is True)


def state(hass: HomeAssistant, platform: str, sim: Simulator, key: str, car: int = 1) -> str:
    found = hass.states.get(entity_id(hass, platform, sim.vehicle(car).vin, key))
    assert found is not None
    return found.state


def reads(sim: Simulator, category: str, car: int = 1) -> int:
    return sim.ledger.count(category, sim.vehicle(car).vin)


def energy_seen(entry: MockConfigEntry, sim: Simulator, car: int = 1) -> Callable[[], bool]:
    """Whether the coordinator shows the energy the car has added by now (ACChargingEnergyIn)."""

    def seen() -> bool:
        charge = coordinator(entry, sim, car).data.charge
        expected = round(sim.vehicle(car).energy_added_kwh, 3)
        return charge is not None and charge.charge_energy_added == expected

    return seen


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.usefixtures("no_read_timeout")
async def test_charging_at_home_streams_live_for_an_hour(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    # Set-up: a free state check, and one read since nothing was known about the car yet.
    assert (reads(sim, "state"), reads(sim, "data")) == (1, 1)
    await connected(init_integration)
    car = sim.vehicle(1)
    for _ in range(6):
        await advance(hass, freezer, sim, 600, settled=energy_seen(init_integration, sim))
        assert state(hass, "sensor", sim, "battery_level") == str(math.floor(car.battery_level))
        assert state(hass, "sensor", sim, "charging_power") == "11040"
        assert state(hass, "sensor", sim, "actual_current") == "16"
        assert state(hass, "sensor", sim, "status") == "charging"
    # An hour of charging (11 kWh, less the 5 s of Starting), every value from the stream.
    assert float(state(hass, "sensor", sim, "energy_added")) == round(car.energy_added_kwh, 3)
    assert car.energy_added_kwh == pytest.approx(11.04 * 3595 / 3600)
    assert (reads(sim, "state"), reads(sim, "data"), reads(sim, "wake")) == (1, 1, 0)
    assert sim.ledger.count("stream") == 1  # one connection, never dropped
    assert coordinator(init_integration, sim).plan is None
    assert sim.ledger.cost() == pytest.approx(0.002)  # the set-up read


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_an_event_reaches_the_entities_and_the_status_at_once(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    await connected(init_integration)
    client = await hass_client()
    before = len(sim.ledger)

    async def status() -> dict[str, Any]:
        response = await client.get("/tlwb/1/status")
        body: dict[str, Any] = await response.json()
        return body

    assert (await status())["plugged"] is False
    sim.vehicle(1).plug_in()  # Starting at once, charging 5 s later
    await until(lambda: state(hass, "binary_sensor", sim, "plugged_in") == STATE_ON)
    assert (await status())["plugged"] is True
    sim.advance(10)
    await until(lambda: state(hass, "sensor", sim, "charging_power") == "11040")
    body = await status()
    assert (body["status"], body["power"], body["amps"], body["phases"]) == (3, 11040, 16, 3)
    assert body["age"] == 0.0  # the stream is up: the data is current
    # Nothing was asked of the API in between: the stream told it all.
    assert [entry.category for entry in sim.ledger.entries[before:]] == []


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_plug_unplug_sleep_and_wake_come_from_the_stream(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    await connected(init_integration)
    car = sim.vehicle(1)
    data = coordinator(init_integration, sim)
    car.plug_in()
    await until(lambda: state(hass, "binary_sensor", sim, "plugged_in") == STATE_ON)
    car.unplug()
    await until(lambda: state(hass, "binary_sensor", sim, "plugged_in") == STATE_OFF)
    assert state(hass, "sensor", sim, "status") == "not_ready"
    car.fall_asleep()
    await until(lambda: data.data.connection == "asleep")
    assert state(hass, "sensor", sim, "battery_level") == "40"  # an asleep car's data stays true
    car.wake_up()
    sim.advance(sim.wake_delay)
    await until(lambda: data.data.connection == "online")
    # Set-up's state check and read; nothing since.
    assert (reads(sim, "state"), reads(sim, "data"), reads(sim, "wake")) == (1, 1, 0)


@pytest.mark.parametrize("vehicle_configs", [ASLEEP])
async def test_a_car_asleep_at_set_up_is_never_read(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Nothing known and asleep: no read can be had. The stream tells all once it wakes."""
    await connected(init_integration)
    assert state(hass, "sensor", sim, "battery_level") == STATE_UNAVAILABLE  # nothing known
    sim.vehicle(1).plug_in()  # wakes the car; it streams every signal
    await until(lambda: state(hass, "binary_sensor", sim, "plugged_in") == STATE_ON)
    assert state(hass, "sensor", sim, "battery_level") == "55"
    assert (reads(sim, "state"), reads(sim, "data")) == (1, 0)


@pytest.mark.parametrize(
    "vehicle_configs",
    [[*CHARGING, VehicleConfig(**{**CHARGING[0].__dict__, "vin": None, "streaming": False})]],
)
@pytest.mark.usefixtures("no_read_timeout")
async def test_a_car_that_does_not_stream_keeps_polling(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A car Teslemetry polls (a pre-2021 Model S or X: `polling: true` in the metadata) is
    polled as before, beside a car that streams."""
    await connected(init_integration)
    assert coordinator(init_integration, sim, 1).streaming
    assert not coordinator(init_integration, sim, 2).streaming
    await advance(hass, freezer, sim, 3600, settled=energy_seen(init_integration, sim, 1))
    # The polled car: one read at set-up, then one every 10 minutes while charging.
    assert reads(sim, "data", 2) == 7
    assert reads(sim, "data", 1) == 1
    energy = float(state(hass, "sensor", sim, "energy_added", car=2))
    assert energy == pytest.approx(11.0, abs=0.2)


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
@pytest.mark.parametrize(
    "entry_options",
    [{CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_STALE_AFTER: 1.5}],
)
async def test_a_dropped_stream_reconnects_and_goes_stale_only_after_stale_after(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await connected(init_integration)
    stream = runtime(init_integration).stream
    assert stream is not None
    attempts = sim.ledger.count("stream")
    # A drop: the library reconnects after 1 s; the entities never notice.
    assert sim.stream.drop() == 1
    await until(lambda: stream.connected is False)
    await until(lambda: stream.connected is True)
    assert state(hass, "sensor", sim, "battery_level") == "40"
    # A longer outage: the first reconnect fails too (1 s), the next one (2 s later) works.
    sim.faults.add("status", status=503, path="/sse", count=1)
    sim.stream.drop()
    await until(lambda: stream.connected is False)
    await real_sleep(1.0)
    assert state(hass, "sensor", sim, "battery_level") == "40"  # not stale yet
    await until(lambda: state(hass, "sensor", sim, "battery_level") == STATE_UNAVAILABLE)
    assert "No contact with" in caplog.text
    await until(lambda: stream.connected is True, seconds=5)
    await until(lambda: state(hass, "sensor", sim, "battery_level") == "40")
    assert "Contact with" in caplog.text
    # Nothing polled meanwhile, in panic or otherwise: only the stream's own attempts.
    assert sim.ledger.count("stream") == attempts + 3
    assert (reads(sim, "state"), reads(sim, "data")) == (1, 1)
    assert_no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_a_refused_token_on_the_stream_starts_reauthentication(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    await connected(init_integration)
    sim.token = "rotated-token"  # the entry's token is refused from now on
    sim.stream.drop()
    await until(lambda: any(init_integration.async_get_active_flows(hass, {SOURCE_REAUTH})))
    # As after a 401 while polling: the car's data is unavailable until a new token is in.
    assert state(hass, "sensor", sim, "battery_level") == STATE_UNAVAILABLE
    assert sim.ledger.entries[-1].status == 401


@pytest.fixture
def stream_fails_to_connect(sim: Simulator) -> None:
    """The stream's first two attempts (at set-up, and 1 s later) fail; the third, 2 s later,
    connects. The account is asked why after the second."""
    sim.faults.add("status", status=503, path="/sse", count=2)


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
@pytest.mark.usefixtures("stream_fails_to_connect")
async def test_a_stream_refused_for_payment_raises_the_subscription_issue(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    issue_id = subscription_issue_id(init_integration)
    # The subscription is missing: the stream cannot connect (the library retries forever and
    # only logs) and the free metadata, asked after the second failed attempt, answers 402.
    sim.faults.add("status", status=402, path="/api/metadata", error="subscription_required")
    await until(lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "subscription_required"
    assert issue.learn_more_url is not None
    assert issue.learn_more_url.endswith("/repairs/subscription_required/")
    # Renewed: the next attempt connects and the issue goes by itself.
    await until(lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None)
    assert runtime(init_integration).stream.connected is True  # type: ignore[union-attr]
    assert (reads(sim, "state"), reads(sim, "data")) == (1, 1)
    assert sim.ledger.count("other") == 2 + 1  # set-up's metadata and field config; the probe


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
@pytest.mark.parametrize(("status", "reauth"), [(None, False), (500, False), (401, True)])
@pytest.mark.usefixtures("stream_fails_to_connect")
async def test_what_the_account_says_when_the_stream_cannot_connect(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    status: int | None,
    reauth: bool,
) -> None:
    if status is not None:
        sim.faults.add("status", status=status, path="/api/metadata")
    metadata = lambda: [e for e in sim.ledger.entries if e.path == "/api/metadata"]  # noqa: E731
    reauthenticating = lambda: any(init_integration.async_get_active_flows(hass, {SOURCE_REAUTH}))  # noqa: E731
    await until(lambda: len(metadata()) == 2)  # set-up's, and the question
    assert metadata()[-1].status == (status or 200)
    if reauth:
        await until(reauthenticating)
    # Asked once per outage: the stream connects at the third attempt, 2 s later.
    await connected(init_integration)
    assert reauthenticating() is reauth
    assert not [key for key in ir.async_get(hass).issues if key[0] == DOMAIN]
    assert len(metadata()) == 2


@pytest.mark.parametrize(
    "vehicle_configs", [[VehicleConfig(latitude=HOME[0], longitude=HOME[1], streaming=False)]]
)
async def test_a_402_while_polling_raises_the_same_issue(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    assert runtime(init_integration).stream is None  # no car of the entry streams
    issue_id = subscription_issue_id(init_integration)
    sim.faults.add("status", status=402, path="/vehicle_data", error="subscription_required")
    await coordinator(init_integration, sim).async_user_refresh()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    await coordinator(init_integration, sim).async_user_refresh()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_a_malformed_event_is_ignored_and_the_stream_goes_on(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await connected(init_integration)
    vin = sim.vehicle(1).vin
    # Well-formed, with values of the wrong kind: read as nothing, in our listener.
    assert sim.stream.send({"data": {"BatteryLevel": "n/a", "ChargeAmps": [16], "Location": 7}})
    assert sim.stream.send({"state": {"asleep": True}})
    # Not JSON at all: the library drops the connection and reconnects after 1 s.
    assert sim.stream.send_malformed(vin) == 1
    sim.vehicle(1).plug_in()
    await until(lambda: state(hass, "binary_sensor", sim, "plugged_in") == STATE_ON, seconds=5)
    assert state(hass, "sensor", sim, "battery_level") == "40"
    assert coordinator(init_integration, sim).data.connection == "online"
    assert "Uncaught error in listener" not in caplog.text
    assert_no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_the_refresh_button_still_reads_once(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    await connected(init_integration)
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", sim.vehicle(1).vin, "refresh")},
        blocking=True,
    )
    assert (reads(sim, "state"), reads(sim, "data")) == (2, 2)


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.usefixtures("no_read_timeout")
async def test_commands_work_and_the_stream_shows_what_they_did(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await connected(init_integration)
    data = coordinator(init_integration, sim)
    vin = sim.vehicle(1).vin
    charging = lambda: data.data.charge is not None and data.data.charge.power == 11040  # noqa: E731
    await advance(hass, freezer, sim, 10, settled=charging)
    assert state(hass, "sensor", sim, "charging_power") == "11040"
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", vin, "charge_current"), "value": 10},
        blocking=True,
    )
    assert sim.vehicle(1).charge_current_request == 10
    await until(lambda: state(hass, "sensor", sim, "charging_power") == "6900")
    assert state(hass, "sensor", sim, "actual_current") == "10"
    await hass.services.async_call(
        "switch",
        "turn_off",
        {ATTR_ENTITY_ID: entity_id(hass, "switch", vin, "charging")},
        blocking=True,
    )
    assert sim.vehicle(1).charging_state == "Stopped"
    await until(lambda: state(hass, "sensor", sim, "charging_power") == "0")
    # Past the moment a polled car would have been read to confirm the commands: nothing.
    await advance(hass, freezer, sim, 300)
    assert state(hass, "sensor", sim, "status") == "stopped"
    assert reads(sim, "command") == 2
    assert (reads(sim, "state"), reads(sim, "data")) == (1, 1)
    assert data.facts.confirm_at is None


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
@pytest.mark.parametrize(
    "entry_options",
    [{CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_ALLOW_LOW_TARGET: True}],
)
@pytest.mark.usefixtures("no_read_timeout")
async def test_a_failing_soft_target_stop_is_not_resent_with_every_event(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream brings new data every few seconds: a stop at the soft target that keeps failing
    is tried again a few minutes apart, not once per event (each try is a billed command)."""
    await connected(init_integration)
    vin = sim.vehicle(1).vin
    sim.faults.add(status=503, path="/command/charge_stop", count=None)
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: entity_id(hass, "number", vin, "charge_limit"), "value": 21},
        blocking=True,
    )
    events = sum(runtime(init_integration).stream.events.values())  # type: ignore[union-attr]
    await advance(hass, freezer, sim, 30 * 60, step=30)
    await hass.async_block_till_done()
    stream = runtime(init_integration).stream
    assert stream is not None
    assert sum(stream.events.values()) - events > 30  # the stream went on all the while
    # Each failed try logs one warning.
    tries = caplog.text.count("Could not stop charging at the soft target")
    assert 1 <= tries <= 30 * 60 / 300 + 1
    assert sim.vehicle(1).charging_state == "Charging"


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_a_reload_reads_nothing_already_known(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    await connected(init_integration)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await connected(init_integration)
    # The second set-up: its free state check, no read (the stored data and the stream suffice).
    assert (reads(sim, "state"), reads(sim, "data")) == (2, 1)
    assert state(hass, "sensor", sim, "battery_level") == "40"


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_diagnostics_show_the_stream(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    await connected(init_integration)
    await until(lambda: runtime(init_integration).stream.events[sim.vehicle(1).vin] > 0)  # type: ignore[union-attr]
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    car = result["cars"][0]
    assert car["streams"] is True
    assert car["stream"]["connected"] is True
    assert car["stream"]["server"] == "eu.teslemetry.com"  # the metadata's region
    assert car["stream"]["events"] > 0
    assert car["stream"]["last_event_age"] >= 0
    assert sim.vehicle(1).vin not in str(result)


@pytest.mark.parametrize(
    ("status", "entry_state"),
    [
        (401, ConfigEntryState.SETUP_ERROR),
        (402, ConfigEntryState.SETUP_RETRY),
        (500, ConfigEntryState.SETUP_RETRY),
    ],
)
async def test_the_metadata_at_set_up(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    status: int,
    entry_state: ConfigEntryState,
) -> None:
    sim.faults.add("status", status=status, path="/api/metadata")
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is entry_state
    issue = ir.async_get(hass).async_get_issue(DOMAIN, subscription_issue_id(config_entry))
    assert (issue is not None) is (status == 402)
    assert sim.ledger.count("data") == 0


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_the_cars_streaming_fields_are_made_sure_of(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A car whose streaming config lacks a signal the wallbox needs gets it added (with
    Teslemetry's default interval); nothing else of its config changes."""
    vin = sim.vehicle(1).vin
    sim.stream.configure(
        vin, {"BatteryLevel": {"interval_seconds": 300}, "Odometer": {}}, replace=True
    )
    caplog.set_level(logging.DEBUG)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await until(lambda: "DetailedChargeState" in sim.stream.fields(vin), seconds=5)
    fields = sim.stream.fields(vin)
    assert fields["BatteryLevel"] == {"interval_seconds": 300}
    assert "Odometer" in fields
    assert {"ChargeAmps", "ACChargingPower", "Location"} <= set(fields)


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_a_streaming_config_that_cannot_be_read_is_given_up(
    hass: HomeAssistant,
    sim: Simulator,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A config request that hangs does not hold up the stream: given up after a while."""
    monkeypatch.setattr(stream_module, "FIELDS_TIMEOUT", 0.2)
    sim.faults.add("hang", path="/api/config")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await connected(config_entry)
    await until(lambda: "streaming fields could not be checked" in caplog.text)


async def test_the_stream_uses_home_assistants_session(hass: HomeAssistant) -> None:
    assert stream_module.stream_session(hass) is async_get_clientsession(hass)


@pytest.mark.parametrize("vehicle_configs", [UNPLUGGED])
async def test_the_stream_librarys_log_keeps_vins_out(
    hass: HomeAssistant, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """teslemetry-stream names cars by VIN in its records ("Config fetch failed for ..."), also
    cars of the account that are not this entry's: every VIN-shaped token of it is masked."""
    logging.getLogger("teslemetry_stream").warning(
        "Config fetch failed for %s", "5YJ3E1EA5HF000123"
    )
    assert "Config fetch failed for ***0123" in caplog.text
    assert "5YJ3E1EA5HF000123" not in caplog.text
