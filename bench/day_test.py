"""The simulated day with the real integration, in a Home Assistant test instance.

Not part of the test suite (pytest collects tests/ only): `python -m bench day` runs this file in
its own pytest session and reads the JSON it writes to $BENCH_DAY_OUT. The integration talks real
HTTP through tesla-fleet-api to the simulator; Home Assistant's clock (freezegun) and the
simulator's manual clock move together in 10 s steps, and an outside client reads
GET /tlwb/1/status through Home Assistant's HTTP app at every step.

With $BENCH_DAY_BACKEND=teslemetry the entry is a Teslemetry one and the car streams: the real
teslemetry-stream library reads the simulator's stream over HTTPS (Teslemetry's host names point at
the simulator, the one thing it cannot serve itself), and each step waits until the stream has
delivered what the car sent.

With $BENCH_DAY_BLUETOOTH=1 the car is paired over Bluetooth and in range of a simulated Bluetooth
proxy in Home Assistant's real bluetooth integration (set up by Home Assistant's test helpers,
fleet_sim/ha_radio.py): its reads, wake-ups and commands go over BLE, the cloud only where BLE
cannot serve.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
import freezegun.api
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped]
    ClientSessionGenerator,
)

from bench.metrics import (
    distribution,
    in_window,
    ledger_summary,
    request_times,
    sleep_report,
)
from bench.scenario import (
    CLIENT_PERIOD_S,
    DAY_DATE,
    DAY_S,
    PLAN,
    SLEEP_AFTER_S,
    TOKEN,
    WAKE_DELAY_S,
    WARMUP_S,
    EnergySplit,
    Household,
    asleep_at_midnight,
    vehicle_config,
)
from custom_components.tesla_wallbox import ble_link, stream as stream_module
from custom_components.tesla_wallbox.ble_link import KEY_STORE_VERSION
from custom_components.tesla_wallbox.const import (
    CONF_API_KEY,
    CONF_BACKEND,
    CONF_BLUETOOTH,
    CONF_GRID_SENSOR,
    CONF_PV_ZONE,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
)
from fleet_sim import SimClock, Simulator
from fleet_sim.ha_radio import async_start_sim_radio

OUT_ENV = "BENCH_DAY_OUT"
# JSON object of extra entry options (a variant of the defaults), and the run's label.
OPTIONS_ENV = "BENCH_DAY_OPTIONS"
LABEL_ENV = "BENCH_DAY_LABEL"
# "custom" (polled, the default) or "teslemetry" (the car streams).
BACKEND_ENV = "BENCH_DAY_BACKEND"
# "1": the car is paired over Bluetooth and in range all day.
BLUETOOTH_ENV = "BENCH_DAY_BLUETOOTH"
# Real seconds a step may wait for the stream before the day is given up.
STREAM_SETTLE_S = 10.0
GRID_SENSOR = "sensor.grid_power"
API_KEY = "bench-api-key-0123456789"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/."""


def local_midnight(date: str) -> float:
    """Epoch seconds of midnight of `date` in Home Assistant's time zone."""
    day = datetime.fromisoformat(date).replace(tzinfo=dt_util.get_default_time_zone())
    return day.timestamp()


class Day:
    """The day's run: Home Assistant, the simulator and the household, stepped together."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        sim: Simulator,
        midnight: float,
        *,
        streaming: bool = False,
    ) -> None:
        self.streaming = streaming
        self.hass = hass
        self.freezer = freezer
        self.sim = sim
        self.car = sim.vehicle(1)
        self.midnight = midnight
        self.household = Household.clear()
        self.energy = EnergySplit()
        self.external_events: list[float] = []  # sim times the car was woken by a person
        self.forced_asleep = False

    def t_of_day(self) -> float:
        """Seconds since the measured day's midnight (negative during the warm-up)."""
        return self.sim.now() - self.midnight

    def set_grid(self) -> None:
        """The meter: house + the car's real draw - PV, at this moment."""
        t = self.t_of_day() % DAY_S
        watts = self.household.grid_w(t, self.car.charge_power_w)
        self.hass.states.async_set(
            GRID_SENSOR, str(round(watts, 1)), {"unit_of_measurement": "W", "device_class": "power"}
        )

    async def set_mode(self, mode: str) -> None:
        """The charge mode select, as a user or an automation sets it."""
        select = er.async_get(self.hass).async_get_entity_id(
            "select", DOMAIN, f"{self.car.vin}_charge_mode"
        )
        assert select is not None
        await self.hass.services.async_call(
            "select",
            SERVICE_SELECT_OPTION,
            {ATTR_ENTITY_ID: select, ATTR_OPTION: mode},
            blocking=True,
        )

    async def events(self, t: float) -> None:
        """The scenario's events due at time of day t."""
        if t == 0:
            self.forced_asleep = asleep_at_midnight(self.car)
        if t == PLAN.online_at:
            self.car.go_online()
            self.external_events.append(self.sim.now())
        if t == PLAN.plug_at:
            self.car.plug_in()
            self.external_events.append(self.sim.now())
        if t == PLAN.pv_from:
            await self.set_mode("pv")
        if t == PLAN.pv_until:
            await self.set_mode("manual")
        if t == PLAN.unplug_at:
            self.car.unplug()
            self.external_events.append(self.sim.now())

    async def advance(self, seconds: float) -> None:
        """Let Home Assistant and the car live through `seconds`, booking the energy."""
        surplus = self.household.surplus_w(self.t_of_day() % DAY_S)
        before = self.car.energy_total_kwh
        self.freezer.tick(seconds)
        self.sim.advance(seconds)
        async_fire_time_changed(self.hass)
        if self.streaming:
            await self.settle_stream()
        else:
            await self.hass.async_block_till_done(wait_background_tasks=True)
        if self.t_of_day() > 0:
            self.energy.add(self.car.energy_total_kwh - before, surplus, seconds)

    async def settle_stream(self) -> None:
        """Wait for the integration's tasks (the stream's own listen loop never ends, so Home
        Assistant's wait for background tasks cannot be used) and until the stream has delivered
        every event the car sent; in real time, since the clock is frozen."""
        entry = self.hass.config_entries.async_entries(DOMAIN)[0]
        deadline = freezegun.api.real_monotonic() + STREAM_SETTLE_S
        while True:
            await self.hass.async_block_till_done()
            busy = [task for task in asyncio.all_tasks() if _integration_task(task)]
            if busy:
                await asyncio.wait(busy)
                continue
            self.sim.stream.tick()  # what the car sent, queued now rather than at the hub's pace
            stream = entry.runtime_data.stream
            heard = stream.events[self.car.vin] if stream is not None else 0
            sent = sum(connection.events for connection in self.sim.stream.connections)
            queued = any(not c.queue.empty() for c in self.sim.stream.connections)
            if not queued and heard >= sent:
                return
            assert freezegun.api.real_monotonic() < deadline, "the stream did not deliver"
            await asyncio.sleep(0)

    def cost_sensor(self) -> float | None:
        """The integration's own "Fleet API cost today" sensor."""
        sensor = er.async_get(self.hass).async_get_entity_id(
            "sensor", DOMAIN, f"{self.car.vin}_api_cost_today"
        )
        state = self.hass.states.get(sensor) if sensor else None
        try:
            return float(state.state) if state else None
        except ValueError:
            return None


def _integration_task(task: asyncio.Task[Any]) -> bool:
    """A task of the integration that ends (a poll, a PV command, a soft-target stop, a probe)."""
    name = task.get_name()
    ours = name.startswith(DOMAIN) or name.endswith(" poll")
    return ours and name != f"{DOMAIN} stream" and not task.done()


def _epoch(iso: Any) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if isinstance(iso, str) else None


def store_bluetooth_key(
    hass_storage: dict[str, Any], entry: MockConfigEntry, sim: Simulator
) -> None:
    """The entry's own Bluetooth key, paired with the car before the day (as the options'
    pairing step leaves it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    sim.vehicle(1).pair_key(key.public_key())
    name = ble_link.key_store_key(entry.entry_id)
    data = {"pem": ble_link.key_pem(key)}
    hass_storage[name] = {
        "version": KEY_STORE_VERSION,
        "minor_version": 1,
        "key": name,
        "data": data,
    }


@pytest.mark.timeout(900)
async def test_simulated_day(
    request: pytest.FixtureRequest,
    hass: HomeAssistant,
    hass_admin_user: MockUser,
    aiohttp_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    *,
    socket_enabled: None,
) -> None:
    """Run the day and write what it cost, how the car slept and what the client saw."""
    extra_options: dict[str, Any] = json.loads(os.environ.get(OPTIONS_ENV) or "{}")
    backend = os.environ.get(BACKEND_ENV) or "custom"
    streaming = backend == "teslemetry"
    bluetooth = os.environ.get(BLUETOOTH_ENV) == "1"
    midnight = local_midnight(DAY_DATE)
    freezer.move_to(datetime.fromtimestamp(midnight - WARMUP_S, UTC))
    clock = SimClock(start=midnight - WARMUP_S, speed=0)
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(
            Simulator(
                clock=clock,
                vehicles=[vehicle_config()],
                token=TOKEN,
                wake_delay=WAKE_DELAY_S,
                sleep_after=SLEEP_AFTER_S,
                tls=streaming,
            )
        )
        if streaming:
            session = await stack.enter_async_context(
                aiohttp.ClientSession(connector=sim.teslemetry_connector())
            )
            stack.enter_context(patch.object(stream_module, "stream_session", return_value=session))
        car = sim.vehicle(1)
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Simulated car",
            unique_id="bench-account",
            data={
                CONF_BACKEND: backend,
                CONF_URL: sim.url,
                CONF_TOKEN: TOKEN,
                CONF_VINS: [car.vin],
                CONF_VEHICLES: {car.vin: car.display_name},
            },
            options={
                CONF_PV_ZONE: "zone.home",
                CONF_API_KEY: API_KEY,
                CONF_GRID_SENSOR: GRID_SENSOR,
                **extra_options,
            },
        )
        if bluetooth:
            # What the test helpers' enable_bluetooth does (an async fixture cannot be asked
            # for here): the host's adapter a stand-in, its scanner not started.
            request.getfixturevalue("mock_bleak_scanner_start")
            adapter = MockConfigEntry(domain="bluetooth", unique_id="00:00:00:00:00:01")
            adapter.add_to_hass(hass)
            assert await hass.config_entries.async_setup(adapter.entry_id)
            store_bluetooth_key(request.getfixturevalue("hass_storage"), entry, sim)
            radio = await async_start_sim_radio(hass, sim)
            stack.callback(radio.stop)
            entry.add_to_hass(hass)
            hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_BLUETOOTH: {car.vin: sim.ble(1).address}}
            )
        day = Day(hass, freezer, sim, midnight, streaming=streaming)
        day.set_grid()
        if not bluetooth:
            entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        if streaming:
            await day.settle_stream()

        # An outside tool holds a long-lived access token, like any HA API client.
        refresh = await hass.auth.async_create_refresh_token(
            hass_admin_user,
            client_name="bench client",
            token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
            access_token_expiration=timedelta(days=30),
        )
        token = hass.auth.async_create_access_token(refresh)
        client = await aiohttp_client(hass.http.app, headers={"Authorization": f"Bearer {token}"})

        statuses: dict[str, int] = {}
        ages: list[float] = []
        # While the car charges: how old the data shown is (now - its data time, `updated`).
        charging_ages: list[float] = []
        states: dict[str, int] = {}
        cost_sensor: float | None = None
        t = -WARMUP_S
        while t < DAY_S:
            await day.events(t)
            day.set_grid()
            response = await client.get("/tlwb/1/status")
            body: dict[str, Any] = await response.json()
            if t >= 0:
                statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
                if isinstance(body.get("age"), int | float):
                    ages.append(float(body["age"]))
                state = str(body.get("state"))
                states[state] = states.get(state, 0) + 1
                updated = _epoch(body.get("updated"))
                if car.charging_state == "Charging" and updated is not None:
                    charging_ages.append(sim.now() - updated)
            if t == DAY_S - CLIENT_PERIOD_S:
                cost_sensor = day.cost_sensor()
            await day.advance(CLIENT_PERIOD_S)
            t += CLIENT_PERIOD_S

        window = (midnight, midnight + DAY_S)
        entries = in_window(sim.ledger.entries, window)
        sleep = sleep_report(
            window=window,
            timeline=car.timeline,
            charging_timeline=car.charging_timeline,
            wake_events=[*day.external_events, *request_times(entries, {"command", "wake"})],
            sleep_after=SLEEP_AFTER_S,
        )
        complete = [at for at, state in car.charging_timeline if state == "Complete"]
        result = {
            "policy": os.environ.get(LABEL_ENV) or "tesla_wallbox",
            "options": extra_options,
            "backend": backend,
            "bluetooth": bluetooth,
            "midnight": midnight,
            "ledger": ledger_summary(entries),
            "sleep": sleep.as_dict(),
            "energy": {
                "pv_kwh": round(day.energy.pv_kwh, 3),
                "grid_kwh": round(day.energy.grid_kwh, 3),
                "total_kwh": round(day.energy.total_kwh, 3),
            },
            "soc_end": round(car.battery_level, 2),
            "complete_at_h": round((complete[-1] - midnight) / 3600, 3) if complete else None,
            "client": {
                "requests": sum(statuses.values()),
                "http_status": statuses,
                "car_state_seen": states,
                "age_s": distribution(ages, digits=1),
                "data_age_charging_s": distribution(charging_ages, digits=1),
            },
            "stream_connections": sim.ledger.count("stream"),
            "cloud_requests": sum(1 for entry in entries if entry.transport == "cloud"),
            "bluetooth_requests": sum(1 for entry in entries if entry.transport == "bluetooth"),
            "commands": [
                {"time": record.time, "name": record.name, "body": record.body}
                for record in car.commands
                if window[0] <= record.time < window[1]
            ],
            "billed_requests": [
                {
                    "at_s": round(entry.time - midnight, 1),
                    "category": entry.category,
                    "path": entry.path.rsplit("/", 1)[-1],
                }
                for entry in entries
                if entry.price > 0
            ],
            "external_events": day.external_events,
            "integration_cost_sensor_usd": cost_sensor,
            "forced_asleep_at_midnight": day.forced_asleep,
        }
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()

    out = os.environ.get(OUT_ENV)
    if out:
        await hass.async_add_executor_job(Path(out).write_text, json.dumps(result, indent=2))
    # The day must have happened as planned, or its numbers mean nothing.
    assert statuses.get("200") == DAY_S / CLIENT_PERIOD_S, statuses
    assert car.commands, "PV mode never charged"
