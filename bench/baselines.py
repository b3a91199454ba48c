"""Two baseline polling policies, run on the same simulated day as the integration.

Each baseline is a small poller that talks real HTTP through tesla-fleet-api to its own simulator
(same car, same clock start, same household). It does no PV control of its own: it sends exactly
the charging commands the integration sent in its run, at the same simulated times, so that
charging, energy and command cost are identical and only the polling differs. The outside client
reads the poller's last data every 10 s, like it reads /tlwb/1/status.

- naive: every 30 s a (free) state check, and vehicle_data whenever the car is online.
- ha_core_tesla_fleet: Home Assistant core's tesla_fleet vehicle coordinator (2026.2):
  update_interval 600 s; each update reads the vehicle endpoint (free) and, only when the state is
  "online", vehicle_data with charge, climate, drive, vehicle state, vehicle config and location;
  a 408 marks the car asleep. Its pre-2021 Model S/X rule (a 15-minute pause to let an old car
  sleep) does not apply to this Model 3. Before a command it wakes a car it does not believe
  online like its wake_up_vehicle helper: wake_up, then the vehicle endpoint after 5, 10 and 15 s,
  giving up after 4 tries. After a command it does not refresh (entities update optimistically).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import time
from typing import Any

import aiohttp
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import TeslaFleetError, VehicleOffline
from tesla_fleet_api.tesla import VehicleFleet

from bench.metrics import distribution, in_window, ledger_summary, request_times, sleep_report
from bench.scenario import (
    CLIENT_PERIOD_S,
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
from fleet_sim import SimClock, Simulator

# The baselines' clock step: fine enough for a 5 s wake-poll and a 30 s poll period.
STEP_S = 5.0
ONLINE = "online"
ASLEEP = "asleep"
NAIVE_ENDPOINTS = ["charge_state", "drive_state", "location_data"]
CORE_ENDPOINTS = [
    "charge_state",
    "climate_state",
    "drive_state",
    "vehicle_state",
    "vehicle_config",
    "location_data",
]


@dataclass(frozen=True, slots=True)
class ReplayCommand:
    """A charging command the integration sent: when (sim time), which, with what body."""

    time: float
    name: str
    body: dict[str, Any]


class Poller:
    """A polling policy's cache of the car, its wake-up and its command queue."""

    name = "poller"
    interval = 600.0
    endpoints: list[str] = CORE_ENDPOINTS
    # Seconds to wait after the n-th state check that still saw the car asleep (HA core's helper).
    wake_waits = (5.0, 10.0, 15.0)

    def __init__(self, vehicle: VehicleFleet[Any]) -> None:
        self.vehicle = vehicle
        self.state: str | None = None
        self.data_time: float | None = None
        self.confirmed_time: float | None = None  # last read, or asleep seen after a read
        self.next_poll: float | None = None
        self.queue: deque[ReplayCommand] = deque()
        self._wake_checks = 0
        self._wake_next: float | None = None
        self.failed_commands = 0

    def age(self, now: float) -> float | None:
        """Seconds since the data was known to be current (the status JSON's age rule)."""
        return None if self.confirmed_time is None else now - self.confirmed_time

    async def check_state(self, now: float) -> str | None:
        """The vehicle endpoint: free, never wakes the car."""
        response = await self.vehicle.vehicle()
        self.state = response["response"]["state"]
        if self.state == ASLEEP and self.data_time is not None:
            self.confirmed_time = now
        return self.state

    async def read_data(self, now: float) -> None:
        """vehicle_data; a 408 means the car went to sleep."""
        try:
            await self.vehicle.vehicle_data(endpoints=list(self.endpoints))
        except VehicleOffline:
            self.state = ASLEEP
            return
        self.state = ONLINE
        self.data_time = self.confirmed_time = now

    async def poll(self, now: float) -> None:
        """One update of the policy."""
        if await self.check_state(now) == ONLINE:
            await self.read_data(now)

    async def tick(self, now: float) -> None:
        """Poll when due, then work on the command queue."""
        if self.next_poll is None or now >= self.next_poll:
            await self.poll(now)
            self.next_poll = now + self.interval
        if self.queue:
            await self._commands(now)

    async def _commands(self, now: float) -> None:
        if self.state != ONLINE:
            await self._wake(now)
            if self.state != ONLINE:
                return
        while self.queue:
            command = self.queue.popleft()
            try:
                await _send(self.vehicle, command)
            except TeslaFleetError:
                self.failed_commands += 1

    async def _wake(self, now: float) -> None:
        if self._wake_next is None:
            response = await self.vehicle.wake_up()
            self.state = response["response"]["state"]
            self._wake_checks = 0
        elif now >= self._wake_next:
            await self.check_state(now)
        else:
            return
        if self.state == ONLINE:
            self._wake_next = None
            return
        if self._wake_checks >= len(self.wake_waits):
            self._wake_next = None
            self.failed_commands += len(self.queue)
            self.queue.clear()  # HA core gives up: wake_up_timeout
            return
        self._wake_next = now + self.wake_waits[self._wake_checks]
        self._wake_checks += 1


class NaivePoller(Poller):
    """A state check every 30 s, and vehicle_data whenever the car is online."""

    name = "naive_30s"
    interval = 30.0
    endpoints = NAIVE_ENDPOINTS


class CoreTeslaFleetPoller(Poller):
    """Home Assistant core's tesla_fleet vehicle coordinator (see the module docstring)."""

    name = "ha_core_tesla_fleet"
    interval = 600.0
    endpoints = CORE_ENDPOINTS


async def _send(vehicle: VehicleFleet[Any], command: ReplayCommand) -> dict[str, Any]:
    calls: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "charge_start": vehicle.charge_start,
        "charge_stop": vehicle.charge_stop,
        "set_charging_amps": lambda: vehicle.set_charging_amps(int(command.body["charging_amps"])),
        "set_charge_limit": lambda: vehicle.set_charge_limit(int(command.body["percent"])),
    }
    return await calls[command.name]()


async def run_baseline(
    poller_type: type[Poller], midnight: float, commands: list[ReplayCommand]
) -> dict[str, Any]:
    """The day with one baseline poller: cost, sleep, energy and what the client saw."""
    wall_start = time.perf_counter()
    household = Household.clear()
    energy = EnergySplit()
    clock = SimClock(start=midnight - WARMUP_S, speed=0)
    pending = deque(sorted(commands, key=lambda command: command.time))
    external: list[float] = []
    ages: list[float] = []
    states: dict[str, int] = {}
    async with (
        Simulator(
            clock=clock,
            vehicles=[vehicle_config()],
            token=TOKEN,
            wake_delay=WAKE_DELAY_S,
            sleep_after=SLEEP_AFTER_S,
        ) as sim,
        aiohttp.ClientSession() as session,
    ):
        assert sim.url is not None
        car = sim.vehicle(1)
        api = TeslaFleetApi(session, access_token=TOKEN, server=sim.url)
        poller = poller_type(api.vehicles.createFleet(car.vin))
        forced_asleep = False
        t = -WARMUP_S
        while t < DAY_S:
            now = sim.now()
            if t == 0:
                forced_asleep = asleep_at_midnight(car)
            if t == PLAN.online_at:
                car.go_online()
                external.append(now)
            if t == PLAN.plug_at:
                car.plug_in()
                external.append(now)
            if t == PLAN.unplug_at:
                car.unplug()
                external.append(now)
            while pending and pending[0].time <= now:
                poller.queue.append(pending.popleft())
            await poller.tick(now)
            if t >= 0 and t % CLIENT_PERIOD_S == 0:
                age = poller.age(now)
                if age is not None:
                    ages.append(age)
                states[str(poller.state)] = states.get(str(poller.state), 0) + 1
            surplus = household.surplus_w(t % DAY_S)
            before = car.energy_total_kwh
            sim.advance(STEP_S)
            if t >= 0:
                energy.add(car.energy_total_kwh - before, surplus, STEP_S)
            t += STEP_S

        window = (midnight, midnight + DAY_S)
        entries = in_window(sim.ledger.entries, window)
        sleep = sleep_report(
            window=window,
            timeline=car.timeline,
            charging_timeline=car.charging_timeline,
            wake_events=[*external, *request_times(entries, {"command", "wake"})],
            sleep_after=SLEEP_AFTER_S,
        )
        complete = [at for at, state in car.charging_timeline if state == "Complete"]
        return {
            "policy": poller.name,
            "ledger": ledger_summary(entries),
            "sleep": sleep.as_dict(),
            "energy": {
                "pv_kwh": round(energy.pv_kwh, 3),
                "grid_kwh": round(energy.grid_kwh, 3),
                "total_kwh": round(energy.total_kwh, 3),
            },
            "soc_end": round(car.battery_level, 2),
            "complete_at_h": round((complete[-1] - midnight) / 3600, 3) if complete else None,
            "client": {
                "requests": int(DAY_S / CLIENT_PERIOD_S),
                "car_state_seen": states,
                "age_s": distribution(ages, digits=1),
            },
            "commands_replayed": len(commands),
            "commands_failed": poller.failed_commands,
            "forced_asleep_at_midnight": forced_asleep,
            "wall_s": round(time.perf_counter() - wall_start, 1),
        }


BASELINES: tuple[type[Poller], ...] = (NaivePoller, CoreTeslaFleetPoller)
