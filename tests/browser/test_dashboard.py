"""End to end in a real browser: scripts/develop's demo, headless Chromium, the simulated car.

Brings up the demo (the simulator and a real Home Assistant, on free ports, in a fresh folder) the
way scripts/develop does, signs in on Home Assistant's login page, checks that the dashboard shows
the home car's wallbox status, sets the charging current slider with the mouse, and asserts that
the simulated car received set_charging_amps with that value.

Skipped when Chromium (/usr/bin/chromium or $CHROMIUM) or Playwright is missing; .ci/run installs
both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import importlib.util
import json
import os
from pathlib import Path
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from demo.browser import chromium_path, launch, login
from demo.develop import REPO, STATE_FILE, DemoState
from demo.ha_api import HomeAssistantApi

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

DEMO_START_TIMEOUT = 120.0
TRANSLATIONS = REPO / "custom_components" / "tesla_wallbox" / "translations" / "en.json"


@pytest.fixture(autouse=True)
def browser_available() -> None:
    """Skip without Chromium or Playwright; under .ci/run (TLWB_BROWSER_TEST=required) fail."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright (requirements_test.txt)")
    if chromium_path() is None:
        missing.append("Chromium (apt-get install chromium, or set $CHROMIUM)")
    if not missing:
        return
    if os.environ.get("TLWB_BROWSER_TEST") == "required":
        pytest.fail(f"the browser test must run, but this is missing: {', '.join(missing)}")
    pytest.skip(f"missing: {', '.join(missing)}")


def free_ports(count: int) -> list[int]:
    """``count`` different ports nobody listens on right now."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:  # all bound at once, so the ports differ
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def read_state(path: Path) -> DemoState | None:
    """The demo's state file once the demo says it is ready."""
    state = DemoState.load(path)
    return state if state.ready else None


async def stop(process: asyncio.subprocess.Process) -> None:
    """Ctrl-C, as a person would; the demo stops Home Assistant and the simulator."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 45)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def demo(socket_enabled: None, tmp_path: Path) -> AsyncIterator[DemoState]:
    """scripts/develop's demo in a fresh folder on free ports, stopped after the test."""
    folder = tmp_path / "demo"
    log_path = tmp_path / "develop.log"
    log = await asyncio.to_thread(log_path.open, "wb")
    ha_port, sim_port = free_ports(2)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo.develop",
        "--dir",
        str(folder),
        "--port",
        str(ha_port),
        "--sim-port",
        str(sim_port),
        cwd=REPO,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + DEMO_START_TIMEOUT
        while (state := await asyncio.to_thread(read_state, folder / STATE_FILE)) is None:
            output = await asyncio.to_thread(log_path.read_text)
            assert process.returncode is None, f"scripts/develop exited:\n{output}"
            assert time.monotonic() < deadline, f"the demo did not start:\n{output}"
            await asyncio.sleep(0.5)
        yield state
    finally:
        await stop(process)
        log.close()
    assert process.returncode == 0, await asyncio.to_thread(log_path.read_text)
    # Ctrl-C left nothing behind: Home Assistant's port is free again.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(state.ha_url.rsplit(":", 1)[1]))) != 0


async def entity_ids(api: HomeAssistantApi, vin: str) -> dict[str, str]:
    """The car's entity ids by key, from the entity registry (unique id: {vin}_{key})."""
    async with api.websocket() as ws:
        entries = await ws.command("config/entity_registry/list")
    return {
        entry["unique_id"].removeprefix(f"{vin}_"): entry["entity_id"]
        for entry in entries
        if entry["platform"] == "tesla_wallbox" and entry["unique_id"].startswith(f"{vin}_")
    }


async def sim_get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        assert response.status == 200
        return await response.json()


async def click_slider_at(page: Page, tile_name: str, section: str, value: int) -> None:
    """Press and release the mouse on a tile's slider at the point that stands for ``value``."""
    from playwright.async_api import expect

    tile = (
        page.locator("hui-grid-section")
        .filter(has_text=section)
        .locator("hui-tile-card")
        .filter(has_text=tile_name)
    )
    slider = tile.get_by_role("slider")
    await expect(slider).to_be_visible()
    low = float(await slider.get_attribute("aria-valuemin") or 0)
    high = float(await slider.get_attribute("aria-valuemax") or 0)
    box = await slider.bounding_box()
    assert box is not None
    assert high > low
    x = box["x"] + box["width"] * (value - low) / (high - low)
    y = box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.up()
    await expect(slider).to_have_attribute("aria-valuenow", str(value))


async def test_dashboard_shows_the_status_and_the_amps_slider_reaches_the_car(
    demo: DemoState,
) -> None:
    from playwright.async_api import async_playwright, expect

    status_names = json.loads(await asyncio.to_thread(TRANSLATIONS.read_text))["entity"]["sensor"][
        "status"
    ]["state"]
    async with aiohttp.ClientSession() as session:
        api = HomeAssistantApi(session, demo.ha_url, demo.token)
        car = await sim_get(session, f"{demo.sim_url}/sim/vehicles/1")
        vin, name = car["vin"], car["display_name"]
        entities = await entity_ids(api, vin)
        status = (await api.request("GET", f"/api/states/{entities['status']}"))["state"]
        before = car["charge_current_request"]
        target = 7 if before != 7 else 9

        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                await login(page, demo.dashboard_url, demo.username, demo.password)
                home = page.locator("hui-grid-section").filter(has_text=name)
                status_tile = home.locator("hui-tile-card").filter(has_text="Status")
                await expect(status_tile).to_contain_text(status_names[status])

                await click_slider_at(page, "Charging current", name, target)

                deadline = time.monotonic() + 30
                while (car := await sim_get(session, f"{demo.sim_url}/sim/vehicles/1"))[
                    "charge_current_request"
                ] != target:
                    assert time.monotonic() < deadline, f"the car still asks for {car}"
                    await asyncio.sleep(0.25)
                # The tile shows the car's new current once Home Assistant has it.
                await expect(
                    home.locator("hui-tile-card").filter(has_text="Charging current")
                ).to_contain_text(f"{target} A")
            finally:
                await browser.close()

        ledger = await sim_get(session, f"{demo.sim_url}/sim/ledger")
        amps_commands = [
            entry
            for entry in ledger["entries"]
            if entry["path"] == f"/api/1/vehicles/{vin}/command/set_charging_amps"
        ]
        assert amps_commands, "no set_charging_amps reached the simulator"
        assert amps_commands[-1]["status"] == 200
        number = await api.request("GET", f"/api/states/{entities['charge_current']}")
        assert float(number["state"]) == target
