"""Fixtures: a started simulator on a manual clock, an HTTP session and library clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.tesla import VehicleFleet

from fleet_sim import SimClock, Simulator

from .const import START, TOKEN


@pytest.fixture
def clock() -> SimClock:
    """A manual clock: time moves only through advance()."""
    return SimClock(start=START, speed=0)


@pytest.fixture
async def sim(socket_enabled: None, clock: SimClock) -> AsyncIterator[Simulator]:
    """A running simulator with one online, unplugged car."""
    async with Simulator(clock=clock, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session (closed after the test)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def api(sim: Simulator, session: aiohttp.ClientSession) -> TeslaFleetApi:
    """The real library pointed at the simulator."""
    return TeslaFleetApi(session, access_token=TOKEN, server=sim.url)


@pytest.fixture
def car(api: TeslaFleetApi, sim: Simulator) -> VehicleFleet[TeslaFleetApi]:
    """The library's vehicle object for the first simulated car."""
    return VehicleFleet(api, sim.vehicle(1).vin)
