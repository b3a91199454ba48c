"""scripts/develop: a real Home Assistant with the integration, driving simulated Teslas.

Starts the Fleet API simulator (demo scenario) in this process and Home Assistant as a child
process, then does what a person would click: onboarding with a demo user, a long-lived access
token, the integration's config entry against the simulator (its custom-server contract), the PV
options pointing at a simulated grid meter, and a dashboard. Prints how to reach all of it and
runs until Ctrl-C, which stops Home Assistant and the simulator.

The runtime folder (default .develop/, git-ignored) keeps Home Assistant's state between runs:
a second start reuses the onboarded user, the token and the entry. --clean starts from scratch.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
import hashlib
import importlib
import importlib.metadata
import json
import logging
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import sys
import time
from typing import Any
import webbrowser
from zoneinfo import ZoneInfo

import aiohttp
from packaging.requirements import Requirement

from fleet_sim.__main__ import build_parser as build_sim_parser, build_simulator
from fleet_sim.energy import time_of_day
from fleet_sim.simulator import Simulator

from .dashboard import (
    ICON,
    TITLE,
    URL_PATH,
    CarEntities,
    build_dashboard,
    cars_from_registry,
    household_from_registry,
)
from .ha_api import DemoUser, HomeAssistantApi, HomeAssistantError, form_defaults

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "demo" / "config"
INTEGRATION = REPO / "custom_components" / "tesla_wallbox"
# The lane this runs in: the newest (Python 3.14, scripts/latest) or the oldest (.venv).
NEWEST_LANE = sys.version_info >= (3, 14)
REQUIREMENTS = REPO / ("requirements_latest.txt" if NEWEST_LANE else "requirements_test.txt")
SETUP = "scripts/latest" if NEWEST_LANE else "scripts/setup"
DOMAIN = "tesla_wallbox"
DEMO_USER = DemoUser(name="Demo", username="demo", password="demo1234")  # noqa: S106 - a demo
SIM_TOKEN = "tesla-wallbox-demo"  # noqa: S105 - the simulator's token, not a secret
STATE_FILE = "demo.json"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
# The demo polls a charging car every minute (the defaults are 10 minutes, and an hour while the
# PV controller sets the current, to save API cost), so that the dashboard moves while you watch.
DEMO_CHARGING_INTERVAL = 60
DEMO_INTERVALS = ("charging_interval", "pv_charging_interval")
DAY_S = 86_400.0


class DemoError(RuntimeError):
    """Something the person running the demo must fix; printed without a traceback."""


@dataclass(slots=True)
class DemoState:
    """What the demo remembers between runs and hands to scripts/screenshots and the tests."""

    ha_url: str = ""
    dashboard_url: str = ""
    username: str = DEMO_USER.username
    password: str = DEMO_USER.password
    token: str = ""
    api_key: str = ""
    sim_url: str = ""
    energy_url: str = ""
    entry_id: str = ""
    pid: int = 0
    ready: bool = False

    @classmethod
    def load(cls, path: Path) -> DemoState:
        """The saved state, or a blank one."""
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        known = {name: saved[name] for name in cls.__dataclass_fields__ if name in saved}
        return cls(**known)

    def save(self, path: Path) -> None:
        """Write the state, readable only by its owner (it holds a token)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(path)


def build_parser() -> argparse.ArgumentParser:
    """The command line of scripts/develop."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run Home Assistant with Tesla Wallbox and simulated cars. Ctrl-C stops it.",
    )
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's port (8123)")
    parser.add_argument("--sim-port", type=int, default=8765, help="the simulator's port (8765)")
    parser.add_argument(
        "--sim-speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second: charging and the sun move this much faster (1)",
    )
    parser.add_argument(
        "--time-of-day",
        default="11:00",
        help="the simulated household's time of day at start, HH:MM or 'now' (11:00, sunny)",
    )
    parser.add_argument("--latitude", type=float, default=52.52, help="home (Berlin)")
    parser.add_argument("--longitude", type=float, default=13.405, help="home (Berlin)")
    parser.add_argument("--time-zone", default="Europe/Berlin", help="home's time zone")
    parser.add_argument(
        "--dir",
        type=Path,
        default=REPO / (".develop-latest" if NEWEST_LANE else ".develop"),
        help="runtime folder (.develop; .develop-latest on the newest lane)",
    )
    parser.add_argument(
        "--clean", action="store_true", help="delete the runtime folder first: a fresh start"
    )
    parser.add_argument("--open", action="store_true", help="open the dashboard in a browser")
    parser.add_argument(
        "--check",
        action="store_true",
        help="stop as soon as everything is up and /tlwb answers (a smoke test)",
    )
    return parser


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_offset(target: str, now: float, zone: ZoneInfo) -> float:
    """Seconds to add to the clock so that the household's day shows ``target`` (HH:MM) now."""
    if target == "now":
        return 0.0
    try:
        hours, minutes = (int(part) for part in target.split(":"))
    except ValueError:
        raise DemoError(f"--time-of-day must be HH:MM or 'now', not {target!r}") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise DemoError(f"--time-of-day must be HH:MM or 'now', not {target!r}")
    offset = (hours * 3600 + minutes * 60 - time_of_day(now, zone)) % DAY_S
    return offset - DAY_S if offset > DAY_S / 2 else offset


def missing_requirements(configuration: Path) -> list[str]:
    """The pinned requirements of the integrations the demo loads that .venv does not have.

    Home Assistant runs with --skip-pip (fast, offline), so what it would install at its first
    start must already be there; requirements_test.txt lists it. This catches an upgrade of
    Home Assistant that needs more.
    """
    from homeassistant.bootstrap import (  # noqa: PLC0415 - slow, and only needed here
        CORE_INTEGRATIONS,
        DEFAULT_INTEGRATIONS,
    )
    import homeassistant.components  # noqa: PLC0415

    builtin = Path(homeassistant.components.__path__[0])
    configured = re.findall(r"^([a-z_]+):", configuration.read_text(), flags=re.MULTILINE)
    todo = {*CORE_INTEGRATIONS, *DEFAULT_INTEGRATIONS, *configured, DOMAIN}
    seen: set[str] = set()
    missing: list[str] = []
    while todo:
        domain = todo.pop()
        manifest_path = builtin / domain / "manifest.json"
        if domain == DOMAIN:
            manifest_path = INTEGRATION / "manifest.json"
        if domain in seen or not manifest_path.exists():
            continue
        seen.add(domain)
        manifest = json.loads(manifest_path.read_text())
        todo.update(manifest.get("dependencies", []), manifest.get("after_dependencies", []))
        for requirement in manifest.get("requirements", []):
            wanted = Requirement(requirement)
            try:
                installed = importlib.metadata.version(wanted.name)
            except importlib.metadata.PackageNotFoundError:
                installed = None
            if installed is None or not wanted.specifier.contains(installed, prereleases=True):
                missing.append(f"{requirement} (for {domain}; installed: {installed or 'none'})")
    # Checking service descriptions imports every entity base component (and their libraries);
    # when that fails, the frontend waits for the list of services forever.
    from homeassistant.helpers.service import _base_components  # noqa: PLC0415

    # The camera component looks for the libturbojpeg C library at import and logs its absence.
    logging.getLogger("homeassistant.components.camera.img_util").setLevel(logging.CRITICAL)
    try:
        _base_components()
    except ModuleNotFoundError as err:
        missing.append(f"{err.name} (imported by Home Assistant's entity base components)")
    return sorted(missing)


def check_requirements(folder: Path, configuration: Path) -> None:
    """missing_requirements(), skipped while Home Assistant, the requirements and the
    configuration are what they were at the last successful check (it takes two seconds)."""
    stamp = folder / "requirements.checked"
    fingerprint = hashlib.sha256()
    fingerprint.update(importlib.metadata.version("homeassistant").encode())
    for path in (REQUIREMENTS, configuration, INTEGRATION / "manifest.json"):
        fingerprint.update(path.read_bytes())
    if stamp.exists() and stamp.read_text() == fingerprint.hexdigest():
        return
    missing = missing_requirements(configuration)
    if missing:
        raise DemoError(
            f"Home Assistant needs packages that this lane's environment lacks; add them to"
            f" {REQUIREMENTS.name} and run {SETUP}:\n  " + "\n  ".join(missing)
        )
    stamp.write_text(fingerprint.hexdigest())


def prepare_config(config_dir: Path) -> None:
    """Copy the configuration template and link the integration (live: edits apply on restart)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    for source in TEMPLATE.iterdir():
        if source.is_file():
            shutil.copy2(source, config_dir / source.name)
    components = config_dir / "custom_components"
    components.mkdir(exist_ok=True)
    link = components / DOMAIN
    if link.is_symlink() and link.resolve() == INTEGRATION:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(INTEGRATION, target_is_directory=True)


def configure_http(config_dir: Path, port: int) -> None:
    """Where Home Assistant listens: 127.0.0.1, on the demo's port.

    Up to 2026.9 that is the `http:` block of configuration.yaml. Home Assistant 2026.10 keeps it
    in its storage instead: it migrates the YAML once, as a trial that must be confirmed in the
    user interface within five minutes (or it reverts and restarts), and raises a repair issue
    for YAML left behind. There the demo writes the storage as the confirmed (stable) settings
    and drops the YAML block.
    """
    try:
        http_config = importlib.import_module("homeassistant.components.http.config")
    except ModuleNotFoundError:
        return  # the YAML block, with the port from TLWB_DEMO_HA_PORT
    settings = http_config.HTTP_STORAGE_SCHEMA({"server_host": ["127.0.0.1"], "server_port": port})
    stored = {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {
            "stable": {
                **settings,
                "created_at": datetime.now(UTC).isoformat(),
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    }
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    (storage / http_config.STORAGE_KEY).write_text(json.dumps(stored, indent=2))
    configuration = config_dir / "configuration.yaml"
    text = configuration.read_text()
    without_http = re.sub(r"^http:\n(?:[ \t]+.*\n)+", "", text, count=1, flags=re.MULTILINE)
    if without_http == text:
        raise DemoError(f"no http: block to move into Home Assistant's storage in {configuration}")
    configuration.write_text(without_http)


class Demo:
    """One run of the demo: the simulator, Home Assistant, and the set-up between them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dir: Path = args.dir.resolve()
        self.config_dir = self.dir / "config"
        self.state_path = self.dir / STATE_FILE
        self.ha_url = f"http://127.0.0.1:{args.port}"
        self.zone = ZoneInfo(args.time_zone)
        self.sim: Simulator | None = None
        self.hass: asyncio.subprocess.Process | None = None
        self.state = DemoState()
        self.started = time.monotonic()
        self.background: set[asyncio.Task[None]] = set()

    def say(self, message: str) -> None:
        """A progress line."""
        print(f"[{time.monotonic() - self.started:5.1f}s] {message}", flush=True)

    # ----- the two servers ----------------------------------------------------------------------

    async def start_simulator(self) -> Simulator:
        """The demo scenario at home, on the simulator's port."""
        sim_args = build_sim_parser().parse_args(
            [
                "--scenario=demo",
                "--vehicles=2",
                f"--latitude={self.args.latitude}",
                f"--longitude={self.args.longitude}",
                f"--speed={self.args.sim_speed}",
                f"--token={SIM_TOKEN}",
            ]
        )
        sim = build_simulator(sim_args)
        try:
            await sim.start("127.0.0.1", self.args.sim_port)
        except OSError as err:
            raise DemoError(
                f"the simulator cannot listen on port {self.args.sim_port} ({err.strerror}): "
                "is another scripts/develop running? Choose another with --sim-port."
            ) from None
        self.sim = sim
        return sim

    def energy_url(self, sim: Simulator) -> str:
        """The grid meter's URL for the rest sensors: home, its clock and the start offset."""
        offset = start_offset(self.args.time_of_day, sim.now(), self.zone)
        return (
            f"{sim.url}/sim/energy?time_zone={self.args.time_zone}&offset={offset:.0f}"
            f"&latitude={self.args.latitude}&longitude={self.args.longitude}"
        )

    async def start_home_assistant(self, energy_url: str) -> None:
        """Home Assistant as a child in its own session: our Ctrl-C handler stops it in order."""
        if not _port_free(self.args.port):
            raise DemoError(
                f"port {self.args.port} is in use: is another Home Assistant or scripts/develop "
                "running? Choose another with --port."
            )
        env = {
            **os.environ,
            "TLWB_DEMO_HA_PORT": str(self.args.port),
            "TLWB_DEMO_ENERGY_URL": energy_url,
            "TLWB_DEMO_LATITUDE": str(self.args.latitude),
            "TLWB_DEMO_LONGITUDE": str(self.args.longitude),
            "TLWB_DEMO_TIME_ZONE": self.args.time_zone,
        }
        console = (self.dir / "hass-console.log").open("wb")
        try:
            self.hass = await asyncio.create_subprocess_exec(
                sys.executable,
                str(REPO / "demo" / "hass_launcher.py"),
                "--config",
                str(self.config_dir),
                "--skip-pip",
                "--log-no-color",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=console,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.config_dir,
                env=env,
                start_new_session=True,
            )
        finally:
            console.close()

    def hass_alive(self) -> bool:
        """Whether Home Assistant is still running."""
        return self.hass is not None and self.hass.returncode is None

    async def stop(self) -> None:
        """Stop Home Assistant (SIGTERM, then SIGKILL after STOP_TIMEOUT) and the simulator."""
        if self.hass is not None and self.hass.returncode is None:
            self.say("stopping Home Assistant")
            self.hass.terminate()
            try:
                await asyncio.wait_for(self.hass.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.say(f"Home Assistant did not stop within {STOP_TIMEOUT:.0f} s: killing it")
                self.hass.kill()
                await self.hass.wait()
        if self.sim is not None:
            await self.sim.stop()
        self.state.ready = False
        self.state.pid = 0
        if self.state.ha_url:
            self.state.save(self.state_path)

    def log_tail(self, lines: int = 25) -> str:
        """The end of Home Assistant's log, to explain a failed start."""
        for name in ("config/home-assistant.log", "hass-console.log"):
            path = self.dir / name
            if path.exists() and path.stat().st_size:
                text = path.read_text(errors="replace").splitlines()[-lines:]
                return f"--- the end of {path}:\n" + "\n".join(text)
        return ""

    # ----- the set-up, over Home Assistant's APIs -----------------------------------------------

    async def sign_in(self, api: HomeAssistantApi) -> str:
        """A working long-lived token: the saved one, or a new one after onboarding/login."""
        saved = DemoState.load(self.state_path)
        if saved.token and saved.ha_url == self.ha_url and await api.token_works(saved.token):
            self.say("signed in with the saved long-lived token")
            return saved.token
        done = await api.onboarding_done()
        if not all(done.values()):
            self.say(f"onboarding (user {DEMO_USER.username!r})")
        access = await api.onboard(DEMO_USER)
        if not done.get("core_config"):
            await self._drop_onboarding_extras(api, access)
        async with api.websocket(access) as ws:
            stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            token = await ws.command(
                "auth/long_lived_access_token",
                client_name=f"Tesla Wallbox demo {stamp}",
                lifespan=3650,
            )
        self.say("created a long-lived access token")
        return str(token)

    async def _drop_onboarding_extras(self, api: HomeAssistantApi, token: str) -> None:
        """Onboarding adds a shopping list (and tries weather, radio and TTS, which the demo
        does not install); the demo does not need it."""
        api_with = HomeAssistantApi(api.session, api.url, token)
        for _ in range(20):
            entries = await api_with.config_entries("shopping_list")
            if entries:
                for entry in entries:
                    await api_with.request(
                        "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
                    )
                return
            await asyncio.sleep(0.25)

    async def ensure_entry(self, api: HomeAssistantApi, sim: Simulator) -> str:
        """The integration's entry for the simulator: kept if it points at it, else made anew."""
        saved = DemoState.load(self.state_path)
        entries = await api.config_entries(DOMAIN)
        if entries and saved.sim_url != sim.url:
            for entry in entries:
                self.say(f"removing the entry {entry['title']!r}: the simulator's URL changed")
                await api.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
            entries = []
        if not entries:
            self.say("adding Tesla Wallbox through its config flow (custom server: the simulator)")
            answer = await api.config_flow(
                DOMAIN,
                {"backend": "custom"},
                {"url": sim.url, "token": SIM_TOKEN},
                {"vins": list(sim.vehicles)},
            )
            if answer.get("type") != "create_entry":
                raise DemoError(f"the config flow did not create an entry: {answer}")
            entries = await api.config_entries(DOMAIN)
        entry = entries[0]
        deadline = time.monotonic() + 60
        while entry["state"] != "loaded":
            if entry["state"] in ("setup_error", "migration_error", "failed_unload"):
                raise DemoError(f"the Tesla Wallbox entry failed to load: {entry}")
            if time.monotonic() > deadline:
                raise DemoError(f"the Tesla Wallbox entry is still {entry['state']} after 60 s")
            await asyncio.sleep(0.5)
            entry = next(
                e for e in await api.config_entries(DOMAIN) if e["entry_id"] == entry["entry_id"]
            )
        return str(entry["entry_id"])

    async def configure_options(
        self, api: HomeAssistantApi, entry_id: str, grid_sensor: str | None
    ) -> str:
        """Set the demo's options through the options flow; return the HTTP API key.

        The options flow is a menu (general, pv). The PV step points the surplus controller at
        the simulated grid meter. Nothing is posted when the options already are as wanted,
        because saving options reloads the entry.
        """
        flow = await api.start_options_flow(entry_id)
        if flow.get("type") != "menu":
            # An options flow without the menu (before PV charging existed): one form.
            await api.abort_options_flow(flow["flow_id"])
            self.say("notice: the options flow has no PV step; the grid sensor is not set")
            return str(flow.get("description_placeholders", {}).get("api_key", ""))
        general = await api.options_step(flow["flow_id"], {"next_step_id": "general"})
        api_key = str((general.get("description_placeholders") or {}).get("api_key", ""))
        values = form_defaults(general)
        wanted = {name: DEMO_CHARGING_INTERVAL for name in DEMO_INTERVALS if name in values}
        if any(values[name] != interval for name, interval in wanted.items()):
            values.update(wanted)
            await self.save_options(api, entry_id, flow["flow_id"], values)
            self.say(f"options: read a charging car every {DEMO_CHARGING_INTERVAL} s")
        else:
            await api.abort_options_flow(flow["flow_id"])
        flow = await api.start_options_flow(entry_id)
        if "pv" not in flow.get("menu_options", []) or grid_sensor is None:
            await api.abort_options_flow(flow["flow_id"])
            self.say("notice: no PV options step or no grid sensor; PV charging is not set up")
            return api_key
        form = await api.options_step(flow["flow_id"], {"next_step_id": "pv"})
        values = form_defaults(form)
        if values.get("grid_power_sensor") == grid_sensor:
            await api.abort_options_flow(flow["flow_id"])
        else:
            values["grid_power_sensor"] = grid_sensor
            await self.save_options(api, entry_id, flow["flow_id"], values)
            self.say(f"options: PV surplus charging follows {grid_sensor}")
        return api_key

    async def save_options(
        self, api: HomeAssistantApi, entry_id: str, flow_id: str, values: dict[str, Any]
    ) -> None:
        """Submit an options step and wait until the entry has reloaded with the new options.

        Saving options reloads the entry; options saved while it reloads could be missed, so
        the next change waits for this one to be in effect.
        """
        async with api.websocket() as ws:
            changes = await ws.subscribe("config_entries/subscribe")
            answer = await api.options_step(flow_id, values)
            if answer.get("type") != "create_entry":
                raise DemoError(f"the options were refused: {answer.get('errors')}")
            reloading = False
            deadline = time.monotonic() + 60
            while True:
                left = deadline - time.monotonic()
                try:
                    event = await ws.next_event(changes, within=max(left, 0.01))
                except TimeoutError:
                    raise DemoError("the entry did not reload after its options changed") from None
                for change in event:
                    if change["entry"]["entry_id"] != entry_id:
                        continue
                    if change["entry"]["state"] != "loaded":
                        reloading = True
                    elif reloading:
                        return

    async def registry(
        self, api: HomeAssistantApi, *, want_cars: int
    ) -> tuple[list[CarEntities], dict[str, str]]:
        """The cars' and the household's entities, once the cars' entities are registered."""
        deadline = time.monotonic() + 60
        async with api.websocket() as ws:
            while True:
                entities = await ws.command("config/entity_registry/list")
                devices = await ws.command("config/device_registry/list")
                cars = cars_from_registry(entities, devices)
                household = household_from_registry(entities)
                if len(cars) >= want_cars and "grid" in household:
                    return cars, household
                if time.monotonic() > deadline:
                    raise DemoError(
                        f"after 60 s Home Assistant has {len(cars)} of {want_cars} cars and "
                        f"{'a' if 'grid' in household else 'no'} grid sensor registered"
                    )
                await asyncio.sleep(0.5)

    async def save_dashboard(self, api: HomeAssistantApi, config: dict[str, Any]) -> None:
        """Create the dashboard once; write its configuration at every start."""
        async with api.websocket() as ws:
            dashboards = await ws.command("lovelace/dashboards/list")
            if not any(d.get("url_path") == URL_PATH for d in dashboards):
                await ws.command(
                    "lovelace/dashboards/create",
                    url_path=URL_PATH,
                    title=TITLE,
                    icon=ICON,
                    show_in_sidebar=True,
                    require_admin=False,
                    mode="storage",
                )
            await ws.command("lovelace/config/save", url_path=URL_PATH, config=config)

    async def wait_for_car_data(self, api: HomeAssistantApi) -> list[dict[str, Any]]:
        """Each car of /tlwb with its status, once the first car has been read.

        A car that has been asleep since set-up has no data yet (503 no_data): shown as such.
        """
        deadline = time.monotonic() + 60
        while True:
            listing = await api.request("GET", "/tlwb")
            cars: list[dict[str, Any]] = []
            for car in listing["cars"]:
                status = await api.request("GET", f"/tlwb/{car['id']}/status", expect=(200, 503))
                cars.append({**car, **(status if "status" in status else {})})
            if cars and "status" in cars[0]:
                return cars
            if time.monotonic() > deadline:
                raise DemoError(f"/tlwb has no data of the first car after 60 s: {cars}")
            await asyncio.sleep(0.5)

    async def wake_unread_cars(self, api: HomeAssistantApi, cars: list[CarEntities]) -> None:
        """Press Wake up once for a car that has never been read (asleep since set-up), so that
        the dashboard shows its data; the integration itself never wakes a car."""
        states = {state["entity_id"]: state["state"] for state in await api.states()}
        for car in cars:
            # The battery level is known once the car has been read (the status is not: it can
            # tell "not ready" from the cable state alone).
            level, button = car.entities.get("battery_level"), car.entities.get("wake_up")
            if level is None or button is None or states.get(level) != "unavailable":
                continue
            self.say(f"pressing Wake up of {car.name!r} once, so that its data is known")
            task = asyncio.create_task(self._press(api, button))
            self.background.add(task)
            task.add_done_callback(self.background.discard)

    async def _press(self, api: HomeAssistantApi, button: str) -> None:
        try:
            await api.call_service("button", "press", {"entity_id": button})
        except (HomeAssistantError, aiohttp.ClientError, TimeoutError) as err:
            self.say(f"pressing {button} failed: {err}")

    async def goe_answers(self, api: HomeAssistantApi, api_key: str) -> bool:
        """Whether the go-e compatible endpoint exists in this version of the integration."""
        try:
            await api.request("GET", f"/tlwb/1/goe/{api_key}/api/status", token="")
        except (HomeAssistantError, aiohttp.ClientError):
            return False
        return True

    # ----- the run ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> int:
        """Bring everything up, print how to use it, wait for ``stop`` (or a crash)."""
        if self.args.clean and self.dir.exists():
            self.say(f"--clean: deleting {self.dir}")
            shutil.rmtree(self.dir)
        prepare_config(self.config_dir)
        configure_http(self.config_dir, self.args.port)
        check_requirements(self.dir, self.config_dir / "configuration.yaml")
        sim = await self.start_simulator()
        self.say(f"simulator at {sim.url} ({len(sim.vehicles)} cars, speed {sim.clock.speed:g})")
        energy_url = self.energy_url(sim)
        await self.start_home_assistant(energy_url)
        self.say(
            f"starting Home Assistant at {self.ha_url} (log: {self.config_dir}/home-assistant.log)"
        )
        async with aiohttp.ClientSession() as session:
            try:
                return await self._set_up_and_wait(
                    HomeAssistantApi(session, self.ha_url), sim, energy_url, stop
                )
            finally:
                # Tasks still using the session (a wake-up press) end with it.
                for task in list(self.background):
                    task.cancel()
                await asyncio.gather(*self.background, return_exceptions=True)

    async def _set_up_and_wait(
        self, api: HomeAssistantApi, sim: Simulator, energy_url: str, stop: asyncio.Event
    ) -> int:
        try:
            await api.wait_until_up(START_TIMEOUT, alive=self.hass_alive)
        except HomeAssistantError as err:
            raise DemoError(f"{err}\n{self.log_tail()}") from None
        self.say("Home Assistant is up")
        api.token = await self.sign_in(api)
        self.state = DemoState(
            ha_url=self.ha_url,
            dashboard_url=f"{self.ha_url}/{URL_PATH}/wallbox",
            token=api.token,
            sim_url=str(sim.url),
            energy_url=energy_url,
            pid=os.getpid(),
        )
        self.state.entry_id = await self.ensure_entry(api, sim)
        self.state.save(self.state_path)  # the entry and the token, even if a later step fails
        cars, household = await self.registry(api, want_cars=len(sim.vehicles))
        self.state.api_key = await self.configure_options(
            api, self.state.entry_id, household.get("grid")
        )
        await self.save_dashboard(api, build_dashboard(cars, household))
        self.say(f"dashboard {TITLE!r} with {len(cars)} cars")
        await self.wake_unread_cars(api, cars)
        tlwb = await self.wait_for_car_data(api)
        goe = bool(self.state.api_key) and await self.goe_answers(api, self.state.api_key)
        self.state.ready = True
        self.state.save(self.state_path)
        self.say(f"ready in {time.monotonic() - self.started:.1f} s")
        states = {state["entity_id"]: state["state"] for state in await api.states()}
        status_states = {car.vin: states.get(car.entities.get("status", ""), "?") for car in cars}
        print(self.summary(tlwb, status_states, goe=goe), flush=True)
        if self.args.open:
            webbrowser.open(self.state.dashboard_url)
        if self.args.check:
            return 0
        return await self.wait(stop)

    async def wait(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set or Home Assistant exits by itself."""
        assert self.hass is not None
        stopped = asyncio.ensure_future(stop.wait())
        died = asyncio.ensure_future(self.hass.wait())
        await asyncio.wait({stopped, died}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        died.cancel()
        if not stop.is_set():
            print(
                f"Home Assistant exited with code {self.hass.returncode}.\n{self.log_tail()}",
                file=sys.stderr,
                flush=True,
            )
            return 1
        return 0

    def summary(
        self, tlwb: list[dict[str, Any]], status_states: dict[str, str], *, goe: bool
    ) -> str:
        """What the person at the terminal needs: URLs, login, token, and commands to paste."""
        token, key, url = self.state.token, self.state.api_key, self.ha_url
        lines = [
            "",
            "Tesla Wallbox demo is running. Ctrl-C stops it.",
            "",
            f"  Dashboard      {self.state.dashboard_url}",
            f"  Login          {DEMO_USER.username} / {DEMO_USER.password}",
            f"  Device page    {url}/config/integrations/integration/{DOMAIN}",
            f"  Simulator      {self.state.sim_url}  (admin API under /sim/)",
            f"  Token          {token}",
            f"  API key        {key}",
            f"  Saved in       {self.state_path}",
            "",
            "  Cars:",
        ]
        for car in tlwb:
            if "status" not in car:
                lines.append(f"    {car['id']}  {car['name']}: not read yet (asleep)")
                continue
            status = f"status {car['status']} ({status_states.get(car['vin'], '?')})"
            lines.append(
                f"    {car['id']}  {car['name']}: {status}, {car.get('soc')} %, "
                f"{car.get('state')}, {'plugged in' if car.get('plugged') else 'not plugged in'}"
            )
        lines += [
            "",
            "The wallbox HTTP API, with the token or with the API key:",
            f"  curl -H 'Authorization: Bearer {token}' {url}/tlwb",
            f"  curl -H 'X-API-Key: {key}' {url}/tlwb/1/status",
            f"  curl -H 'X-API-Key: {key}' '{url}/tlwb/1/set_amps?10'",
            f"  curl -H 'X-API-Key: {key}' '{url}/tlwb/1?control=1&set_amps=16&set_soc=70'",
        ]
        if goe:
            lines.append(f"  curl '{url}/tlwb/1/goe/{key}/api/status'   # go-eCharger API v2")
        lines += [
            "The simulated car, and the household's grid meter:",
            f"  curl {self.state.sim_url}/sim/vehicles/1",
            f"  curl '{self.state.energy_url}'",
            "",
        ]
        return "\n".join(lines)


async def _main(args: argparse.Namespace) -> int:
    demo = Demo(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        # A second Ctrl-C: do not wait for a clean shutdown.
        if stop.is_set() and demo.hass is not None and demo.hass.returncode is None:
            demo.hass.kill()
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, request_stop)
    run = asyncio.ensure_future(demo.run(stop))
    waiting = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({run, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done() and demo.state.ready:  # Ctrl-C while running: run() returns 0
            return await run
        if not run.done():  # Ctrl-C while starting
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
            return 130
        return run.result()
    except (DemoError, HomeAssistantError) as err:
        print(f"scripts/develop: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        waiting.cancel()
        await demo.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of scripts/develop."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("port", "sim_port"):
        if not 1 <= getattr(args, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 65535")
    if args.port == args.sim_port:
        parser.error("--port and --sim-port must differ")
    if args.sim_speed < 0:
        parser.error("--sim-speed must not be negative")
    if not (-90 <= args.latitude <= 90 and -180 <= args.longitude <= 180):
        parser.error("--latitude/--longitude out of range")
    try:
        zone = ZoneInfo(args.time_zone)
        start_offset(args.time_of_day, 0.0, zone)
    except (ValueError, KeyError):
        parser.error(f"unknown time zone {args.time_zone!r}")
    except DemoError as err:
        parser.error(str(err))
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
