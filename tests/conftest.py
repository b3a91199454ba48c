"""Shared fixtures: a running Fleet API simulator, a config entry for it, a set-up integration.

Tests read like user stories: plug the simulated car in, press the switch, look at the state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import logging
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
import freezegun
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.http import ban as http_ban
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.plugins import (  # noqa: F401 (see the harness note)
    aiohttp_client,
    snapshot,
)

from custom_components.tesla_wallbox import car_access, stream
from custom_components.tesla_wallbox.const import (
    CONF_API_KEY,
    CONF_BACKEND,
    CONF_PV_ZONE,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
)
from fleet_sim import SimClock, Simulator, VehicleConfig

from .const import API_KEY, HOME, TOKEN

# The log of the whole run is scanned for secrets (tests/plugins/secret_scan.py).
pytest_plugins = ["tests.plugins.secret_scan", "tests.bluetooth"]

# aiohttp's access log (3.14) asks time.localtime() for the zone offset, which freezegun's frozen
# struct_time lacks (None): every access line after a frozen clock moved became an "Error in
# logging" traceback. Its clock is only for log lines: let it read the real one.
freezegun.configure(extend_ignore_list=["aiohttp.web_log"])


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/ in every test."""


# The harness overrides two fixtures of other pytest plugins: `aiohttp_client` (its test server
# lets views be registered after it started, as a running Home Assistant does) and `snapshot`
# (Home Assistant's serializer, in tests/snapshots). Which plugin's fixture wins depends on the
# order the plugins load; with pytest-homeassistant-custom-component 0.13.375 pytest-aiohttp's and
# syrupy's won. Imported into this conftest, the harness's fixtures always win.


@pytest.fixture(autouse=True)
def fast_wake_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our own wake-wait loop polls every 2 s; tests run the simulator's clock faster instead."""
    monkeypatch.setattr(car_access, "WAKE_POLL_INTERVAL", 0.01)


@pytest.fixture
def sim_clock() -> SimClock:
    """A manual simulator clock starting at Home Assistant's now."""
    return SimClock(start=dt_util.utcnow().timestamp(), speed=0)


@pytest.fixture
def vehicle_configs() -> list[VehicleConfig]:
    """One car, online, unplugged, at home."""
    return [VehicleConfig(latitude=HOME[0], longitude=HOME[1], battery_level=40.0)]


@pytest.fixture
def sim_tls() -> bool:
    """Whether the simulator also serves HTTPS under Teslemetry's host names (for its stream)."""
    return False


@pytest.fixture
async def sim(
    socket_enabled: None, sim_clock: SimClock, vehicle_configs: list[VehicleConfig], sim_tls: bool
) -> AsyncIterator[Simulator]:
    """The Fleet API simulator, on a free port of 127.0.0.1."""
    async with Simulator(
        clock=sim_clock, vehicles=vehicle_configs, token=TOKEN, tls=sim_tls
    ) as simulator:
        yield simulator


@pytest.fixture
async def teslemetry_hosts(hass: HomeAssistant, sim: Simulator) -> AsyncIterator[None]:
    """Teslemetry's stream reaches the simulator (needs sim_tls): the one place it cannot reach
    by itself, since teslemetry-stream only connects to https://*.teslemetry.com. The stream's
    session resolves those names to the simulator's HTTPS port and trusts its certificate;
    everything else (the library, TLS, the events) is real."""
    async with aiohttp.ClientSession(connector=sim.teslemetry_connector()) as session:
        with patch.object(stream, "stream_session", return_value=session):
            yield
            # Unloaded while the session is open, so the stream ends before its connection does.
            for entry in hass.config_entries.async_entries(DOMAIN):
                await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The options of the test entry."""
    return {CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY}


def sim_entry(
    sim: Simulator,
    options: dict[str, Any],
    *,
    backend: str = "custom",
    title: str = "Simulated cars",
    unique_id: str = "sim-account",
) -> MockConfigEntry:
    """An entry of the backend for every simulated car, its server the simulator (CONF_URL)."""
    vins = list(sim.vehicles)
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        data={
            CONF_BACKEND: backend,
            CONF_URL: sim.url,
            CONF_TOKEN: TOKEN,
            CONF_VINS: vins,
            CONF_VEHICLES: {vin: sim.vehicles[vin].display_name for vin in vins},
        },
        options=options,
    )


@pytest.fixture
def config_entry(sim: Simulator, entry_options: dict[str, Any]) -> MockConfigEntry:
    """A custom-server entry for every simulated car."""
    return sim_entry(sim, entry_options)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The integration set up against the simulator."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


async def advance(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    seconds: float,
    step: float = 60.0,
) -> None:
    """Let time pass for Home Assistant and the simulated cars together, in steps."""
    remaining = seconds
    while remaining > 0:
        delta = min(step, remaining)
        freezer.tick(delta)
        sim.advance(delta)
        async_fire_time_changed(hass)
        # Polls run as background tasks, like DataUpdateCoordinator's own.
        await hass.async_block_till_done(wait_background_tasks=True)
        remaining -= delta


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """No record in caplog carries a traceback. One kind is allowed: the DEBUG "Full error:"
    record that Home Assistant's DataUpdateCoordinator (2026.10) adds after it logged a failed
    update in one line, which only a user who asked for debug logs sees."""
    for record in caplog.records:
        if record.name.startswith("custom_components.") and record.getMessage() == "Full error:":
            assert record.levelno == logging.DEBUG
            continue
        text = caplog.handler.format(record)
        assert "Traceback" not in text, f"{record.name} {record.levelname}: {text[:2000]}"


def car_device(hass: HomeAssistant, entry: MockConfigEntry, vin: str) -> DeviceEntry | None:
    """The entry's device of a car. Device identifiers are unique per config entry only (Home
    Assistant 2026.10 deprecates the lookup without one), so this asks by entry in every release."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    found = [device for device in devices if (DOMAIN, vin) in device.identifiers]
    assert len(found) <= 1, f"{len(found)} devices of {vin} in one entry"
    return found[0] if found else None


def entity_id(hass: HomeAssistant, platform: str, vin: str, key: str) -> str:
    """The entity id of one of our entities, found by its unique id."""
    from homeassistant.helpers import entity_registry as er

    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{vin}_{key}")
    assert found is not None, f"no {platform} entity {key} for {vin}"
    return found


@pytest.fixture
def ip_bans_file(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The file the IP ban tests' bans go to: HA writes bans into its config folder, which every
    test (and every pytest-xdist worker) shares and reads at the set-up of its HTTP server. A file
    of this test's own keeps its bans from the others; none is left behind."""
    name = f"ip_bans_{os.getpid()}.yaml"
    monkeypatch.setattr(http_ban, "IP_BANS_FILE", name)
    path = Path(hass.config.path(name))
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)
