"""scripts/screenshots: pictures of the running demo for the README, from a real browser.

Uses the demo that scripts/develop runs (its .develop/demo.json), or starts one for the time it
takes. Puts the home car into PV surplus mode and waits until it charges from the simulated sun,
then signs in with headless Chromium like a person and saves:

  docs/dashboard.png   the demo dashboard: both cars as wallboxes and the household's power
  docs/device.png      the home car's device page with all its entities

The car's charge mode is put back afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
import os
from pathlib import Path
import signal
import sys
import time
from typing import Any

import aiohttp
from playwright.async_api import Page, ViewportSize, async_playwright, expect

from .browser import chromium_path, launch, login
from .dashboard import cars_from_registry
from .develop import REPO, STATE_FILE, DemoState
from .ha_api import HomeAssistantApi, HomeAssistantError

DEMO_START_TIMEOUT = 240.0
# PV mode starts after 60 s of surplus, and the power shows after the next data read.
CHARGE_TIMEOUT = 300.0
# It starts at the minimum current and raises it at most every 2 minutes (the defaults).
MIN_AMPS = 5
RAMP_TIMEOUT = 300.0
# The dashboard and the device page are taller than the usual 800 pixels.
PAGE_SIZE: ViewportSize = {"width": 1280, "height": 920}


class ScreenshotError(RuntimeError):
    """Printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The command line of scripts/screenshots."""
    parser = argparse.ArgumentParser(prog="scripts/screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=REPO / ".develop", help="the demo's folder")
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where the PNGs go (docs)")
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="photograph the demo as it is (do not switch the home car to PV mode and wait)",
    )
    parser.add_argument("--time-zone", default="Europe/Berlin", help="the browser's time zone")
    return parser


def _log(message: str) -> None:
    print(f"scripts/screenshots: {message}", flush=True)


async def _running_demo(state_path: Path, session: aiohttp.ClientSession) -> DemoState | None:
    state = DemoState.load(state_path)
    if not (state.ready and state.token and state.pid):
        return None
    try:
        os.kill(state.pid, 0)
    except OSError:
        return None
    api = HomeAssistantApi(session, state.ha_url, state.token)
    try:
        return state if await api.token_works(state.token) else None
    except aiohttp.ClientError:
        return None


@asynccontextmanager
async def demo_running(folder: Path, session: aiohttp.ClientSession) -> AsyncIterator[DemoState]:
    """The running demo's state; a demo started (and stopped again) here if none runs."""
    state_path = folder / STATE_FILE
    state = await _running_demo(state_path, session)
    if state is not None:
        _log(f"using the running demo at {state.ha_url}")
        yield state
        return
    _log("no demo is running: starting scripts/develop for the screenshots")
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    log = await asyncio.to_thread((folder / "develop-for-screenshots.log").open, "wb")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo.develop",
        "--dir",
        str(folder),
        cwd=REPO,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + DEMO_START_TIMEOUT
        while (state := await _running_demo(state_path, session)) is None or state.pid != child.pid:
            if child.returncode is not None:
                raise ScreenshotError(f"scripts/develop failed; see {log.name}")
            if time.monotonic() > deadline:
                raise ScreenshotError(f"the demo did not start within {DEMO_START_TIMEOUT:.0f} s")
            await asyncio.sleep(1)
        yield state
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGINT)
            await child.wait()
        log.close()


async def _state(api: HomeAssistantApi, entity_id: str) -> dict[str, Any]:
    state: dict[str, Any] = await api.request("GET", f"/api/states/{entity_id}")
    return state


async def charge_from_the_sun(api: HomeAssistantApi, car: dict[str, str]) -> str | None:
    """Switch the car to PV mode and wait until it charges with its power known.

    Returns the mode to put back, or None when the car cannot do PV charging here.
    """
    mode_entity = car.get("charge_mode")
    if mode_entity is None:
        _log("this version of the integration has no charge mode: photographing as is")
        return None
    previous = str((await _state(api, mode_entity))["state"])
    if previous != "pv":
        await api.call_service(
            "select", "select_option", {"entity_id": mode_entity, "option": "pv"}
        )
    _log("home car in PV mode: waiting until it charges from the simulated sun (1-2 minutes)")
    if not await _wait_for_number(api, car["charging_power"], above=0, within=CHARGE_TIMEOUT):
        _log(f"the car did not start charging within {CHARGE_TIMEOUT:.0f} s: photographing as is")
        return previous
    _log("charging; waiting until the controller raises the current to follow the surplus")
    current = car.get("actual_current") or car["charge_current"]
    if not await _wait_for_number(api, current, above=MIN_AMPS, within=RAMP_TIMEOUT):
        _log("the current stayed at the minimum: photographing as is")
    return previous


async def _wait_for_number(
    api: HomeAssistantApi, entity_id: str, *, above: float, within: float
) -> bool:
    """Wait until the entity's state is a number above ``above``; False after ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if float((await _state(api, entity_id))["state"]) > above:
                return True
        except ValueError:  # unknown or unavailable
            pass
        await asyncio.sleep(5)
    return False


async def _settle(page: Page) -> None:
    """Wait until the page has stopped loading data and drawing."""
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(2500)


async def photograph(state: DemoState, device_id: str, out: Path, time_zone: str) -> list[Path]:
    """Sign in and save the dashboard and the device page."""
    saved: list[Path] = []
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            context = await browser.new_context(
                viewport=PAGE_SIZE,
                locale="en-GB",
                timezone_id=time_zone,
                color_scheme="light",
            )
            page = await context.new_page()
            await login(page, state.dashboard_url, state.username, state.password)
            await expect(page.locator("hui-tile-card").first).to_be_visible(timeout=30_000)
            await _settle(page)
            saved.append(out / "dashboard.png")
            await page.screenshot(path=saved[-1])

            await page.goto(f"{state.ha_url}/config/devices/device/{device_id}")
            await expect(page.get_by_text("Charging current").first).to_be_visible(timeout=30_000)
            await _settle(page)
            saved.append(out / "device.png")
            await page.screenshot(path=saved[-1])
        finally:
            await browser.close()
    return saved


async def run(args: argparse.Namespace) -> int:
    """Prepare the scene, take the pictures, put the scene back."""
    if chromium_path() is None:
        raise ScreenshotError("no Chromium found: apt-get install chromium (or set $CHROMIUM)")
    async with aiohttp.ClientSession() as session, demo_running(args.dir, session) as state:
        api = HomeAssistantApi(session, state.ha_url, state.token)
        async with api.websocket() as ws:
            entities = await ws.command("config/entity_registry/list")
            devices = await ws.command("config/device_registry/list")
        cars = cars_from_registry(entities, devices)
        if not cars:
            raise ScreenshotError("the demo has no Tesla Wallbox cars")
        home = cars[0]
        restore = None if args.as_is else await charge_from_the_sun(api, home.entities)
        try:
            saved = await photograph(state, home.device_id, args.out, args.time_zone)
        finally:
            if restore is not None and restore != "pv":
                await api.call_service(
                    "select",
                    "select_option",
                    {"entity_id": home.entities["charge_mode"], "option": restore},
                )
    for path in saved:
        _log(f"saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of scripts/screenshots."""
    args = build_parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(run(args))
    except (ScreenshotError, HomeAssistantError) as err:
        print(f"scripts/screenshots: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
