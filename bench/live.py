"""Parts 2 and 3 against a real Home Assistant: HTTP load (part 2) and command latency (part 3).

Home Assistant runs as a child process (demo/hass_launcher.py, the launcher scripts/develop uses)
in a throw-away folder, with a lean configuration: http, api, websocket_api, config and
onboarding, no frontend or recorder. It is onboarded over its REST API, and the integration's
entry is created through its config flow (the custom-server contract) against the simulator,
which runs in this process. Everything talks over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
import shutil
import socket
import sys
import tempfile
import time
from typing import Any

import aiohttp

from bench.load import find_sustained, open_loop, run_wrk, wrk_available
from bench.metrics import distribution, ledger_summary
from bench.scenario import HOME
from custom_components.tesla_wallbox.car_access import WAKE_POLL_INTERVAL
from demo.ha_api import DemoUser, HomeAssistantApi
from fleet_sim import Simulator, VehicleConfig
from fleet_sim.vehicle import START_DELAY, SimVehicle

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "demo" / "hass_launcher.py"
INTEGRATION = ROOT / "custom_components" / "tesla_wallbox"
DOMAIN = "tesla_wallbox"
STATUS_PATH = "/tlwb/1/status"
SIM_TOKEN = "bench-sim-token"
USER = DemoUser(name="Bench", username="bench", password="bench-password-1")
START_TIMEOUT_S = 120.0
WAKE_DELAY_S = 20.0
LATENCY_TIMEOUT_S = 60.0
CONFIGURATION = """\
homeassistant:
  name: Tesla Wallbox bench
  latitude: {latitude}
  longitude: {longitude}
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: DE
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
websocket_api:
config:
onboarding:
logger:
  default: warning
"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(slots=True)
class LiveHa:
    """A running Home Assistant with the integration, and what it takes to talk to it."""

    sim: Simulator
    url: str
    token: str
    api_key: str
    session: aiohttp.ClientSession
    start_s: float

    @property
    def auth(self) -> dict[str, str]:
        """The long-lived token header."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def api(self) -> HomeAssistantApi:
        """A REST client with the token."""
        return HomeAssistantApi(self.session, self.url, self.token)

    async def status(self) -> dict[str, Any]:
        """The first car's status JSON."""
        async with self.session.get(self.url + STATUS_PATH, headers=self.auth) as response:
            body: dict[str, Any] = await response.json()
            return body

    async def refresh_button(self, vin: str) -> str:
        """The entity id of a car's Refresh button."""
        async with self.api.websocket() as ws:
            entities = await ws.command("config/entity_registry/list")
        for entity in entities:
            if entity.get("platform") == DOMAIN and entity.get("unique_id") == f"{vin}_refresh":
                return str(entity["entity_id"])
        raise RuntimeError(f"no refresh button for {vin}")

    async def put_to_sleep(self, car: SimVehicle, button: str) -> None:
        """The car falls asleep, and the integration learns it with one free state check."""
        car.fall_asleep()
        await self.api.call_service("button", "press", {"entity_id": button})
        deadline = time.monotonic() + 30
        while (await self.status()).get("state") != "asleep":
            if time.monotonic() > deadline:
                raise RuntimeError("the integration did not see the car asleep within 30 s")
            await asyncio.sleep(0.05)


def _prepare(folder: Path, port: int) -> Path:
    config = folder / "config"
    (config / "custom_components").mkdir(parents=True)
    (config / "configuration.yaml").write_text(
        CONFIGURATION.format(latitude=HOME[0], longitude=HOME[1], port=port)
    )
    (config / "custom_components" / DOMAIN).symlink_to(INTEGRATION, target_is_directory=True)
    return config


async def _wait_until_up(
    session: aiohttp.ClientSession, url: str, process: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"Home Assistant exited with code {process.returncode}")
        try:
            async with session.get(url + "/api/onboarding") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"Home Assistant did not answer within {START_TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.2)


async def _set_up(api: HomeAssistantApi, sim: Simulator) -> str:
    """Onboard, add the entry through the config flow, and return the entry's API key."""
    access = await api.onboard(USER)
    async with api.websocket(access) as ws:
        api.token = str(
            await ws.command(
                "auth/long_lived_access_token", client_name="Tesla Wallbox bench", lifespan=1
            )
        )
    answer = await api.config_flow(
        DOMAIN,
        {"backend": "custom"},
        {"url": sim.url, "token": SIM_TOKEN},
        {"vins": list(sim.vehicles)},
    )
    if answer.get("type") != "create_entry":
        raise RuntimeError(f"the config flow did not create an entry: {answer}")
    entry_id = str(answer["result"]["entry_id"])
    flow = await api.start_options_flow(entry_id)
    if flow.get("type") == "menu":
        form = await api.options_step(flow["flow_id"], {"next_step_id": "general"})
    else:
        form = flow
    await api.abort_options_flow(flow["flow_id"])
    return str((form.get("description_placeholders") or {}).get("api_key", ""))


@asynccontextmanager
async def live_home_assistant() -> AsyncIterator[LiveHa]:
    """Home Assistant with the integration against a simulated car at home, plugged in at 40 %."""
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="tlwb-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = _prepare(folder, port)
    car = VehicleConfig(
        latitude=HOME[0],
        longitude=HOME[1],
        battery_level=40.0,
        charge_limit_soc=80,
        plugged_in=True,
        auto_start_on_plug=False,
    )
    process: asyncio.subprocess.Process | None = None
    log = folder / "hass-console.log"
    try:
        async with (
            Simulator(vehicles=[car], token=SIM_TOKEN, wake_delay=WAKE_DELAY_S) as sim,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as session,
        ):
            with log.open("wb") as console:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(LAUNCHER),
                    "--config",
                    str(config),
                    "--skip-pip",
                    "--log-no-color",
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=console,
                    stderr=asyncio.subprocess.STDOUT,
                    cwd=config,
                )
            await _wait_until_up(session, url, process)
            api = HomeAssistantApi(session, url)
            api_key = await _set_up(api, sim)
            ha = LiveHa(
                sim=sim,
                url=url,
                token=str(api.token),
                api_key=api_key,
                session=session,
                start_s=0.0,
            )
            deadline = time.monotonic() + 30
            while "status" not in await ha.status():
                if time.monotonic() > deadline:
                    raise RuntimeError("the integration has not read the car within 30 s")
                await asyncio.sleep(0.1)
            ha.start_s = round(time.perf_counter() - started, 1)
            yield ha
    except BaseException:
        for name in ("config/home-assistant.log", "hass-console.log"):
            path = folder / name
            if path.exists():
                sys.stderr.write(f"--- {path}:\n{path.read_text(errors='replace')[-3000:]}\n")
        raise
    finally:
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(folder, ignore_errors=True)


# ----- part 2: HTTP load --------------------------------------------------------------------------


async def _goe_path(ha: LiveHa) -> str | None:
    """The go-e status path when this version of the integration has the endpoint."""
    path = f"/tlwb/1/goe/{ha.api_key}/api/status"
    async with ha.session.get(ha.url + path) as response:
        await response.read()
        return path if response.status == 200 and ha.api_key else None


async def run_http(ha: LiveHa, *, duration: float, sweep_duration: float) -> dict[str, Any]:
    """Part 2: /tlwb/1/status and the go-e status at 100/s and at the highest sustained rate."""
    started = time.perf_counter()
    car = ha.sim.vehicle(1)
    await ha.put_to_sleep(car, await ha.refresh_button(car.vin))
    ledger_before = len(ha.sim.ledger.entries)
    sim_start = ha.sim.now()
    endpoints: list[tuple[str, str, dict[str, str]]] = [("status", STATUS_PATH, ha.auth)]
    goe = await _goe_path(ha)
    if goe is not None:
        endpoints.append(("goe_status", goe, {}))
    results: list[dict[str, Any]] = []
    for label, path, headers in endpoints:
        url = ha.url + path
        fixed = await open_loop(
            ha.session, url, label=label, rate=100.0, duration=duration, headers=headers
        )
        results.append({"test": "100 req/s", **fixed.as_dict()})
        best, sweep = await find_sustained(
            ha.session, url, label=label, duration=sweep_duration, headers=headers
        )
        results.append(
            {
                "test": "highest sustained (open loop)",
                **(best.as_dict() if best else {"endpoint": label, "sustained": False}),
                "sweep": [
                    {
                        "offered_rps": run.offered_rps,
                        "throughput_rps": round(run.throughput_rps, 1),
                        "p99_ms": run.as_dict()["latency_ms"].get("p99"),
                        "sustained": run.sustained,
                    }
                    for run in sweep
                ],
            }
        )
        if wrk_available():
            saturated = await asyncio.to_thread(
                run_wrk, url, label=label, duration=int(duration), connections=32, headers=headers
            )
            results.append({"test": "saturation (wrk, 32 connections)", **saturated.as_dict()})
    during = ha.sim.ledger.entries[ledger_before:]
    return {
        "part": "http",
        "home_assistant_start_s": ha.start_s,
        "goe_endpoint": goe is not None,
        "wrk": wrk_available(),
        "results": results,
        "tesla_requests_during_load": ledger_summary(during),
        "tesla_requests_during_load_detail": [
            {"after_s": round(entry.time - sim_start, 1), "category": entry.category}
            for entry in during
        ],
        "wall_s": round(time.perf_counter() - started, 1),
    }


# ----- part 3: command latency --------------------------------------------------------------------


async def _one_command(ha: LiveHa, car: SimVehicle, button: str, speed: float) -> dict[str, float]:
    """control?1 on a sleeping car; real seconds from the request to each milestone."""
    await ha.put_to_sleep(car, button)
    ledger_mark = len(ha.sim.ledger.entries)
    timeline_mark = len(car.timeline)
    charging_mark = len(car.charging_timeline)
    sim_t0 = ha.sim.now()
    t0 = time.perf_counter()

    async def control() -> tuple[int, str]:
        async with ha.session.get(f"{ha.url}/tlwb/1/control?1&wait=60", headers=ha.auth) as r:
            return r.status, await r.text()

    request = asyncio.create_task(control())
    answered: float | None = None
    while car.charging_state != "Charging":
        if request.done() and answered is None:
            answered = time.perf_counter() - t0
        if time.perf_counter() - t0 > LATENCY_TIMEOUT_S:
            request.cancel()
            raise RuntimeError("the car did not charge within 60 s")
        await asyncio.sleep(0.002)
    charging = time.perf_counter() - t0
    status, text = await request
    if answered is None:
        answered = time.perf_counter() - t0
    if status != 200:
        raise RuntimeError(f"control?1 answered {status}: {text[:300]}")

    def real(sim_time: float) -> float:
        return (sim_time - sim_t0) / speed

    entries = ha.sim.ledger.entries[ledger_mark:]
    wake = next(entry.time for entry in entries if entry.category == "wake")
    start = next(entry.time for entry in entries if entry.path.endswith("/charge_start"))
    online = next(at for at, state in car.timeline[timeline_mark:] if state == "online")
    starting = next(
        at for at, state in car.charging_timeline[charging_mark:] if state == "Starting"
    )
    return {
        "to_wake_request": real(wake),
        "to_online": real(online),
        "to_charge_start": real(start),
        "to_starting": real(starting),
        "to_charging": charging,
        "http_answer": answered,
        "state_checks": sum(1 for entry in entries if entry.category == "state"),
    }


async def run_latency(ha: LiveHa, *, runs: int) -> dict[str, Any]:
    """Part 3: `control?1` on a sleeping car until the simulator reports Charging, `runs` times.

    The wake delay is 20 simulated seconds in every run. A real car's wake time varies, so the
    moment it comes online falls anywhere within one poll of the integration's wake-wait loop
    (WAKE_POLL_INTERVAL real seconds). With a fixed speed the scaled wake delay would always end
    at the same point of that loop (at speed 10 exactly on a poll, hiding the loop's cost), so
    run i uses the speed that scales the wake delay to (1 + i / runs) poll intervals: the runs
    cover every phase of the loop evenly.
    """
    started = time.perf_counter()
    car = ha.sim.vehicle(1)
    car.wake_delay = WAKE_DELAY_S
    if not car.plugged_in:
        car.plug_in()
    button = await ha.refresh_button(car.vin)
    previous_speed = ha.sim.clock.speed
    samples: list[dict[str, float]] = []
    try:
        for index in range(runs):
            scaled_wake = WAKE_POLL_INTERVAL * (1 + index / runs)
            speed = WAKE_DELAY_S / scaled_wake
            if car.battery_level > car.charge_limit_soc - 5:
                car.set_battery_level(40.0)
            ha.sim.clock.speed = speed
            sample = await _one_command(ha, car, button, speed)
            scaled_start = START_DELAY / speed
            sample.update(
                speed=speed,
                scaled_wake=scaled_wake,
                overhead_beyond_wake=sample["to_charging"] - scaled_wake,
                overhead_beyond_wake_and_start=sample["to_charging"] - scaled_wake - scaled_start,
                notice_delay=sample["to_charge_start"] - sample["to_online"],
            )
            samples.append(sample)
    finally:
        ha.sim.clock.speed = previous_speed

    def column(name: str) -> list[float]:
        return [sample[name] for sample in samples]

    return {
        "part": "latency",
        "runs": runs,
        "wake_delay_sim_s": WAKE_DELAY_S,
        "start_delay_sim_s": START_DELAY,
        "wake_poll_interval_s": WAKE_POLL_INTERVAL,
        "speed_range": [round(min(column("speed")), 2), round(max(column("speed")), 2)],
        "scaled_wake_range_s": [
            round(min(column("scaled_wake")), 2),
            round(max(column("scaled_wake")), 2),
        ],
        "to_charging_s": distribution(column("to_charging")),
        "http_answer_s": distribution(column("http_answer")),
        "overhead_beyond_wake_s": distribution(column("overhead_beyond_wake")),
        "overhead_beyond_wake_and_start_s": distribution(column("overhead_beyond_wake_and_start")),
        "breakdown_s": {
            "request_to_wake_up_sent": distribution(column("to_wake_request")),
            "online_to_charge_start_sent": distribution(column("notice_delay")),
            "charge_start_to_charging": distribution(
                [s["to_charging"] - s["to_charge_start"] for s in samples]
            ),
        },
        "state_checks_per_command": distribution(column("state_checks"), digits=1),
        "samples": [{name: round(value, 4) for name, value in s.items()} for s in samples],
        "wall_s": round(time.perf_counter() - started, 1),
    }
