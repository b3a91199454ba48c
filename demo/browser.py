"""Headless Chromium for scripts/screenshots and the browser test, driven by Playwright.

Playwright's own browser download is never used (`playwright install` is not needed): the driver
talks to the system's Chromium at CHROMIUM (default /usr/bin/chromium).
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Playwright is imported where it is used: chromium_path() works without it.
    from playwright.async_api import Browser, Page, Playwright, ViewportSize

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


def chromium_path() -> Path | None:
    """The Chromium to drive: $CHROMIUM, /usr/bin/chromium, or chromium on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


async def launch(playwright: Playwright) -> Browser:
    """Headless Chromium with the flags that work on a server without a desktop."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium found: apt-get install chromium, or set $CHROMIUM")
    return await playwright.chromium.launch(
        executable_path=str(path), headless=True, args=list(CHROMIUM_FLAGS)
    )


async def login(page: Page, url: str, username: str, password: str) -> None:
    """Sign in on Home Assistant's login page like a person: type, press the button."""
    from playwright.async_api import expect  # noqa: PLC0415

    await page.goto(url)
    await page.get_by_role("textbox", name="Username").fill(username)
    await page.get_by_role("textbox", name="Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    # The frontend is loaded once its sidebar shows.
    await expect(page.locator("ha-sidebar")).to_be_visible(timeout=30_000)
