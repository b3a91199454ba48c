"""The go-eCharger API v2 compatible endpoint, through Home Assistant and the simulator.

An independent go-e client (the PyPI package goecharger-api-lite) drives it, and raw HTTP covers
every key, the filter, JSON-encoded values, refused writes and authentication.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
import gc
import logging
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from goecharger_api_lite.exception import GoeChargerError
from goecharger_api_lite.goecharger_api_lite import GoeCharger
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox.api import goe as goe_api
from custom_components.tesla_wallbox.api.goe_keys import KEYS
from custom_components.tesla_wallbox.api.goe_plan import NOT_APPLIED
from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_BACKEND,
    CONF_PV_ZONE,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
)
from custom_components.tesla_wallbox.models import Car
from custom_components.tesla_wallbox.vehicle_data import Connection
from fleet_sim import Simulator, VehicleConfig

from .conftest import advance, entity_id
from .const import API_KEY, GOE_API, PLUGGED_AT_HOME, TOKEN


def plugged(**changes: Any) -> VehicleConfig:
    """The car plugged in at home, idle, with some of its fields changed."""
    return replace(PLUGGED_AT_HOME, **changes)


PLUGGED = [plugged()]
CHARGING = [plugged(auto_start_on_plug=True)]


@pytest.fixture
async def client(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> TestClient:
    """A client without Home Assistant credentials, as go-e clients are."""
    return await hass_client_no_auth()


async def get(client: TestClient, path: str) -> tuple[int, Any]:
    response = await client.get(path)
    assert response.content_type == "application/json", await response.text()
    return response.status, await response.json()


def commands(sim: Simulator) -> list[tuple[str, dict[str, object]]]:
    return [(record.name, record.body) for record in sim.vehicle(1).commands]


def the_car(entry: MockConfigEntry) -> Car:
    return next(iter(entry.runtime_data.cars.values()))


# ----- an independent client: goecharger-api-lite -------------------------------------------------


def drive_goe_lite[T](host: str, steps: Callable[[GoeCharger], T]) -> T:
    """Run goecharger-api-lite's synchronous API against `host` in this (worker) thread.

    The library makes its aiohttp session in __init__, which aiohttp 3.10+ allows only inside a
    running loop: so it is created in a coroutine on a private loop; all else is the library's own.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def create() -> GoeCharger:
        return GoeCharger(host, timeout=10)

    try:
        charger = loop.run_until_complete(create())
        result = steps(charger)
        del charger
        gc.collect()  # the library closes its session in __del__, which needs this loop
        return result
    finally:
        asyncio.set_event_loop(None)
        loop.close()


# The half-made object's __del__ then fails too (it has no session to close): expected here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_goecharger_api_lite_cannot_be_made_outside_a_running_loop() -> None:
    """Why drive_goe_lite makes the charger in a coroutine (and docs/recipes/goe-clients.md tells scripts to):
    goecharger-api-lite 1.5.1 creates its aiohttp session in __init__, refused without a loop."""
    with pytest.raises(RuntimeError, match="no running event loop"):
        GoeCharger("127.0.0.1:9", timeout=1)
    gc.collect()  # the failing __del__ runs now, under this test's filter


def lite_session(charger: GoeCharger) -> dict[str, Any]:
    """What a go-e user does with the library: read, filter, set current and force state."""
    seen: dict[str, Any] = {
        "full": charger.get_status(GoeCharger.STATUS_FULL),
        "default": charger.get_status(),
        "filtered": charger.get_status(("car", "alw", "amp")),
    }
    charger.set_ampere(10)
    seen["amp"] = charger.get_ampere()
    charger.set_charging_mode(GoeCharger.SettableValueEnum.ChargingMode.on)
    seen["on"] = charger.get_status(("frc", "car", "alw"))
    charger.set_charging_mode(GoeCharger.SettableValueEnum.ChargingMode.off)
    seen["off"] = charger.get_status(("frc", "car", "alw"))
    for name, call in (
        ("psm_error", lambda: charger.set_phase_mode(GoeCharger.SettableValueEnum.PhaseMode.one)),
        ("amp_error", lambda: charger.set_key("amp", 99)),
    ):
        try:
            call()
        except GoeChargerError as err:
            seen[name] = str(err)
    return seen


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_goecharger_api_lite_drives_the_car(
    hass: HomeAssistant, client: TestClient, sim: Simulator
) -> None:
    host = f"{client.host}:{client.port}/tlwb/1/goe/{API_KEY}"  # it builds http://{host}/api/...
    seen = await hass.async_add_executor_job(drive_goe_lite, host, lite_session)

    full = seen["full"]
    assert full["car_state"] == "WaitCar"  # plugged in, not charging
    assert full["charging_mode"] == "neutral"
    assert full["error"] is None
    assert full["device_model"] == "11KW/16A"
    assert full["phase_mode"] == "auto"  # not charging: the phases are not known yet
    assert full["ampere_allowed"] == 16
    assert full["energy"]["power"]["total"] == 0
    assert full["sse"] == "000001"
    assert set(seen["default"]) == {
        "ampere", "ampere_device_maximum", "car_state", "charge_limit", "error", "charging_mode",
        "energy", "phase_mode", "temperature", "cable_lock_mode", "device_model",
    }  # fmt: skip
    assert seen["filtered"] == {"alw": True, "ampere_allowed": 16, "car_state": "WaitCar"}

    assert seen["amp"] == {"ampere_allowed": 10}
    assert seen["on"] == {"alw": True, "car_state": "Charging", "charging_mode": "on"}
    assert seen["off"] == {"alw": False, "car_state": "WaitCar", "charging_mode": "off"}
    assert commands(sim) == [
        ("set_charging_amps", {"charging_amps": 10}),
        ("charge_start", {}),
        ("charge_stop", {}),
    ]
    assert "phase switching is not possible" in seen["psm_error"]
    assert "amp must be a whole number from 1 to 16" in seen["amp_error"]


# ----- reading -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_status_every_key(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    status, body = await get(client, f"{GOE_API}/status")
    assert status == 200
    assert tuple(body) == KEYS
    car = the_car(init_integration)
    assert body == {
        "acs": 0,
        "acu": 16,
        "alw": True,
        "ama": 16,
        "amp": 16,
        "car": 3,
        "cards": [],
        "cbl": None,
        "dwo": None,
        "err": 0,
        "eto": 0,
        "fna": sim.vehicle(1).display_name,
        "frc": 0,
        "fwv": "0.1.0",  # the integration's version (manifest.json)
        "modelStatus": 15,
        "nrg": [0] * 16,
        "oem": "Tesla Wallbox",
        "pha": None,
        "pnp": 0,
        "psm": 0,
        "sse": f"{car.number:06d}",
        "tma": [],
        "trx": None,  # plugged in but not charging: no transaction
        "typ": "tesla_wallbox",
        "ust": 0,
        "var": 11,
        "wh": 0.0,
    }


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_filter(client: TestClient) -> None:
    assert await get(client, f"{GOE_API}/status?filter=alw") == (200, {"alw": True})
    status, body = await get(client, f"{GOE_API}/status?filter=car,amp,rbt,nonsense")
    assert (status, body) == (200, {"car": 3, "amp": 16})  # keys we do not serve are left out
    assert await get(client, f'{GOE_API}/status?filter=["car","frc"]') == (
        200,
        {"car": 3, "frc": 0},
    )
    status, body = await get(client, f"{GOE_API}/status?filter=")
    assert tuple(body) == KEYS


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_reads_never_reach_the_car(client: TestClient, sim: Simulator) -> None:
    before = len(sim.ledger)
    paths = [
        f"{GOE_API}/status",
        f"{GOE_API}/status?filter=alw,car,eto,nrg,wh,trx,cards,modelStatus",
    ]
    results = await asyncio.gather(*(get(client, paths[index % 2]) for index in range(500)))
    assert {status for status, _ in results} == {200}
    assert len(sim.ledger) == before


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
async def test_charging_car_matches_the_wallbox_status(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await advance(hass, freezer, sim, 1200, step=60)
    _, wallbox = await get(client, f"/tlwb/1/status?key={API_KEY}")
    _, body = await get(client, f"{GOE_API}/status")
    assert (body["car"], body["alw"], body["modelStatus"], body["trx"]) == (2, True, 15, 0)
    volts, amps, phases = wallbox["volts"], wallbox["amps"], wallbox["phases"]
    assert (volts, amps, phases) == (230, 16, 3)
    assert body["nrg"] == [
        volts, volts, volts, 0,
        amps, amps, amps,
        volts * amps, volts * amps, volts * amps, 0, wallbox["power"],
        100, 100, 100, 0,
    ]  # fmt: skip
    assert (body["pnp"], body["psm"], body["pha"]) == (3, 2, [True] * 6)
    assert body["wh"] == round(wallbox["energy"] * 1000, 1)
    assert body["wh"] > 3000
    car = the_car(init_integration)
    assert body["eto"] == int(car.energy.total_wh)
    assert body["eto"] > 0


@pytest.mark.parametrize("vehicle_configs", [[plugged(state="asleep")]])
async def test_no_data_yet_still_answers(client: TestClient, sim: Simulator) -> None:
    """evcc probes api/status?filter=alw once at start-up and falls back to API v1 on an error."""
    status, body = await get(client, f"{GOE_API}/status")
    assert status == 200
    assert (body["car"], body["modelStatus"], body["alw"], body["amp"]) == (0, 0, True, None)
    status, body = await get(client, f"{GOE_API}/set?amp=10")
    assert (status, body) == (400, {"amp": "no data from the car yet"})
    assert sim.ledger.count("wake") == 0


# ----- writing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [CHARGING])
async def test_evcc_enable_and_disable(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """evcc disables with frc=1 and enables with frc=0 (neutral), and sets the current with amp."""
    await advance(hass, freezer, sim, 120, step=60)
    assert (await get(client, f"{GOE_API}/set?amp=8")) == (200, {"amp": True})
    assert (await get(client, f"{GOE_API}/set?frc=1")) == (200, {"frc": True})
    _, body = await get(client, f"{GOE_API}/status?filter=alw,car,frc,modelStatus,amp")
    assert body == {"alw": False, "car": 3, "frc": 1, "modelStatus": 4, "amp": 8}
    assert (await get(client, f"{GOE_API}/set?frc=0")) == (200, {"frc": True})
    _, body = await get(client, f"{GOE_API}/status?filter=alw,car,frc")
    assert body == {"alw": True, "car": 2, "frc": 0}
    assert commands(sim) == [
        ("set_charging_amps", {"charging_amps": 8}),
        ("charge_stop", {}),
        ("charge_start", {}),
    ]
    assert the_car(init_integration).controller.last_command is not None
    assert the_car(init_integration).controller.last_command.source == "goe"
    # Neutral again, amp unchanged: nothing to send.
    assert (await get(client, f"{GOE_API}/set?frc=0&amp=8")) == (200, {"frc": True, "amp": True})
    assert len(commands(sim)) == 3


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_json_encoded_values(client: TestClient, sim: Simulator) -> None:
    assert await get(client, f"{GOE_API}/set?fna=%22My%20Tesla%22") == (200, {"fna": True})
    assert await get(client, f'{GOE_API}/set?fna="Garage \\u00e4"') == (200, {"fna": True})
    assert await get(client, f"{GOE_API}/status?filter=fna") == (200, {"fna": "Garage ä"})
    assert await get(client, f"{GOE_API}/set?amp=12.0") == (200, {"amp": True})
    assert commands(sim) == [("set_charging_amps", {"charging_amps": 12})]


BAD_SETS_PSM = "phase switching is not possible: a Tesla charges on the phases the supply gives"
BAD_SETS = [
    ("amp=0", {"amp": "amp must be a whole number from 1 to 16"}),
    ("amp=17", {"amp": "amp must be a whole number from 1 to 16"}),
    ("amp=10.5", {"amp": "amp must be a whole number from 1 to 16"}),
    ('amp="10"', {"amp": "amp must be a whole number from 1 to 16"}),
    ("amp=true", {"amp": "amp must be a whole number from 1 to 16"}),
    ("amp=abc", {"amp": "the value must be JSON (strings in double quotes)"}),
    ("amp=", {"amp": "the value must be JSON (strings in double quotes)"}),
    ("amp=NaN", {"amp": "the value must be JSON (strings in double quotes)"}),
    ("amp=10&amp=10", {"amp": "amp is given more than once"}),
    ("frc=3", {"frc": "frc must be 0 (neutral), 1 (off) or 2 (on)"}),
    ("frc=on", {"frc": "the value must be JSON (strings in double quotes)"}),
    ("fna=Garage", {"fna": "the value must be JSON (strings in double quotes)"}),
    ('fna=""', {"fna": "fna must be a JSON string of 1 to 64 printable characters"}),
    ("alw=true", {"alw": "alw is read-only"}),
    ("car=2", {"car": "car is read-only"}),
    ("ama=32", {"ama": "ama is read-only"}),
    (
        "psm=2",
        {"psm": "phase switching is not possible: a Tesla charges on the phases the supply gives"},
    ),
    ("lmo=3", {"lmo": "lmo is not a key of this charger"}),
    ("su=2", {"su": "su must be true or false (1 or 0)"}),
    ('su="1"', {"su": "su must be true or false (1 or 0)"}),
    ("su=1&psm=1", {"su": NOT_APPLIED, "psm": BAD_SETS_PSM}),
    (
        "amp=10&frc=2&psm=1",
        {
            "amp": NOT_APPLIED,
            "frc": NOT_APPLIED,
            "psm": "phase switching is not possible: a Tesla charges on the phases the supply gives",
        },
    ),
]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(("query", "answer"), BAD_SETS)
async def test_refused_writes_send_nothing(
    client: TestClient, sim: Simulator, query: str, answer: dict[str, str]
) -> None:
    before = len(sim.ledger)
    status, body = await get(client, f"{GOE_API}/set?{query}")
    # The charger answers 500; bad input is a 400 here, with the charger's per-key answers.
    assert (status, body) == (400, answer)
    assert len(sim.ledger) == before
    assert commands(sim) == []
    _, state = await get(client, f"{GOE_API}/status?filter=frc,fna,amp")
    assert state == {"frc": 0, "fna": sim.vehicle(1).display_name, "amp": 16}


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_empty_set(client: TestClient, sim: Simulator) -> None:
    assert await get(client, f"{GOE_API}/set") == (200, {})
    assert commands(sim) == []


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_car_refusals_are_error_strings(client: TestClient, sim: Simulator) -> None:
    sim.faults.add("result_false", reason="disconnected", path="/command/charge_start")
    status, body = await get(client, f"{GOE_API}/set?amp=8&frc=2")
    assert (status, body) == (502, {"amp": True, "frc": "command_refused: disconnected"})
    _, state = await get(client, f"{GOE_API}/status?filter=frc,amp")
    assert state == {"frc": 0, "amp": 8}  # the failed force state is not kept
    sim.faults.add("result_false", reason="disconnected", path="/command/")
    status, body = await get(client, f"{GOE_API}/set?amp=6&frc=2")
    assert (status, body) == (502, {"amp": "command_refused: disconnected", "frc": NOT_APPLIED})
    # A refused command does not run in the car, but it reached it (and is billed).
    assert commands(sim) == [("set_charging_amps", {"charging_amps": 8})]
    assert sim.ledger.count("command") == 3


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    "entry_options",
    [{CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_ALLOW_LOW_TARGET: True}],
)
async def test_soft_target_holds_the_car(client: TestClient, sim: Simulator) -> None:
    status, _ = await get(client, f"/tlwb/1/set_soc?30&key={API_KEY}")  # the battery is at 40 %
    assert status == 200
    sent = len(commands(sim))
    status, body = await get(client, f"{GOE_API}/set?frc=2")
    assert (status, body) == (400, {"frc": "the soft target SoC is reached: charging cannot start"})
    assert await get(client, f"{GOE_API}/set?frc=1") == (200, {"frc": True})
    assert await get(client, f"{GOE_API}/set?frc=0") == (200, {"frc": True})  # neutral: no start
    assert len(commands(sim)) == sent


# ----- waking the car takes longer than a go-e client waits ------------------------------------


def asleep_without_knowing(sim: Simulator, entry: MockConfigEntry) -> None:
    """The car sleeps and the integration must wake it before any command."""
    sim.vehicle(1).fall_asleep()
    coordinator = the_car(entry).coordinator
    coordinator.data = replace(coordinator.data, connection=None)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_answer_before_the_wake_up_and_failure_later(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.tesla_wallbox")
    asleep_without_knowing(sim, init_integration)
    # The simulated clock stands still: the wake-up cannot finish before the answer.
    assert await get(client, f"{GOE_API}/set?amp=8") == (200, {"amp": True})
    assert sim.ledger.count("wake") == 1
    sim.faults.add("result_false", reason="disconnected", path="/command/")
    sim.clock.speed = 400  # now the 20 s wake-up takes 50 ms
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim.ledger.count("command") == 1  # sent after the wake-up, and refused
    assert "go-e command failed after the answer: command_refused: disconnected" in caplog.text


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    ("query", "answer"),
    [("frc=2&amp=8", {"amp": "cancelled", "frc": "cancelled"}), ("su=1", {"su": "cancelled"})],
)
async def test_unload_while_a_command_waits(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    init_integration: MockConfigEntry,
    query: str,
    answer: dict[str, str],
) -> None:
    asleep_without_knowing(sim, init_integration)

    async def unload_soon() -> None:
        await asyncio.sleep(0.3)
        assert await hass.config_entries.async_unload(init_integration.entry_id)

    (status, body), _ = await asyncio.gather(get(client, f"{GOE_API}/set?{query}"), unload_soon())
    assert (status, body) == (503, answer)
    assert commands(sim) == []


# ----- su: evcc's wake-up --------------------------------------------------------------------------


@pytest.fixture
def short_answer_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1.5 s a go-e answer waits for the car, made short: the simulated clock stands still."""
    monkeypatch.setattr(goe_api, "DEFAULT_WAIT", 0.05)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize("query", ["su=1", "su=true", "su=0"])
async def test_su_on_an_online_car_costs_nothing(
    client: TestClient, sim: Simulator, query: str
) -> None:
    before = len(sim.ledger)
    assert await get(client, f"{GOE_API}/set?{query}") == (200, {"su": True})
    assert len(sim.ledger) == before


@pytest.mark.usefixtures("short_answer_wait")
@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_su_wakes_a_sleeping_car_once(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """evcc (api.AlarmClock) sends su=1 while the car does not start; a go-e client sends true."""
    asleep_without_knowing(sim, init_integration)
    reads = sim.ledger.count("data")
    # The simulated clock stands still: the wake-up cannot finish, and the second su joins it.
    assert await get(client, f"{GOE_API}/set?su=1") == (200, {"su": True})
    assert await get(client, f"{GOE_API}/set?su=true") == (200, {"su": True})
    assert sim.ledger.count("wake") == 1
    sim.clock.speed = 400  # now the 20 s wake-up takes 50 ms
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim.vehicle(1).state == "online"
    assert the_car(init_integration).coordinator.data.connection is Connection.ONLINE
    assert sim.ledger.count("data") == reads + 1  # read once awake, as the wake-up button does
    assert (sim.ledger.count("wake"), sim.ledger.count("command")) == (1, 0)
    # Online now: su costs nothing.
    before = len(sim.ledger)
    assert await get(client, f"{GOE_API}/set?su=1") == (200, {"su": True})
    assert len(sim.ledger) == before


@pytest.mark.usefixtures("short_answer_wait")
@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_the_wake_up_button_joins_the_wake_up_of_su(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """One wake-up at a time per car, whoever asks: a press while su=1 wakes the car waits for
    that wake-up, and a press that goes away (its caller closed) leaves it to the others."""
    asleep_without_knowing(sim, init_integration)
    reads = sim.ledger.count("data")
    assert await get(client, f"{GOE_API}/set?su=1") == (200, {"su": True})
    button = {"entity_id": entity_id(hass, "button", sim.vehicle(1).vin, "wake_up")}

    def press() -> asyncio.Task[Any]:
        return hass.async_create_task(
            hass.services.async_call("button", "press", button, blocking=True)
        )

    waits, goes_away = press(), press()
    await asyncio.sleep(0.05)  # the simulated clock stands still: the wake-up cannot finish
    assert not waits.done()
    goes_away.cancel()
    with pytest.raises(asyncio.CancelledError):
        await goes_away
    sim.clock.speed = 400  # now the 20 s wake-up takes 50 ms
    await waits
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim.vehicle(1).state == "online"
    # One wake-up and one read once awake, for the su and both presses.
    assert (sim.ledger.count("wake"), sim.ledger.count("data")) == (1, reads + 1)


@pytest.mark.usefixtures("short_answer_wait")
@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_su_with_a_command_wakes_once(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    asleep_without_knowing(sim, init_integration)
    assert await get(client, f"{GOE_API}/set?su=1&amp=8") == (200, {"su": True, "amp": True})
    sim.clock.speed = 400
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim.ledger.count("wake") == 1  # the command's own wake-up, no second one
    assert commands(sim) == [("set_charging_amps", {"charging_amps": 8})]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_su_refused_while_rate_limited(
    hass: HomeAssistant, client: TestClient, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """After a 429 nothing is sent before Retry-After, a wake-up included."""
    asleep_without_knowing(sim, init_integration)
    sim.faults.add("status", status=429, retry_after=600, path="/wake_up")
    status, body = await get(client, f"{GOE_API}/set?su=1")
    assert (status, body) == (502, {"su": "rate_limited"})
    wakes = sim.ledger.count("wake")
    status, body = await get(client, f"{GOE_API}/set?su=1")
    assert (status, body) == (502, {"su": "rate_limited"})
    assert sim.ledger.count("wake") == wakes  # the second one was not sent


# ----- settings survive a restart ------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_force_state_and_name_survive_a_reload(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry
) -> None:
    assert await get(client, f'{GOE_API}/set?frc=1&fna="Garage"') == (
        200,
        {"frc": True, "fna": True},
    )
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    _, body = await get(client, f"{GOE_API}/status?filter=frc,fna,alw,modelStatus")
    assert body == {"frc": 1, "fna": "Garage", "alw": False, "modelStatus": 4}


# ----- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    "path",
    [
        "/tlwb/1/goe/wrong-key/api/status",
        "/tlwb/1/goe/wrong-key/api/set?amp=10",
        "/tlwb/9/goe/wrong-key/api/status",  # a wrong key never tells which cars exist
        f"/tlwb/1/goe/{API_KEY}x/api/status",
    ],
)
async def test_wrong_key_is_401(client: TestClient, sim: Simulator, path: str) -> None:
    status, body = await get(client, path)
    assert (status, body["error"]) == (401, "unauthorized")
    assert commands(sim) == []


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_other_paths_with_the_right_key_are_404_and_never_banned(
    ip_bans_file: Path,
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    """evcc falls back to go-e's API v1 (/status, /mqtt) when its start-up probe fails."""
    assert await async_setup_component(hass, "http", {"http": {"login_attempts_threshold": 2}})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    root = f"/tlwb/1/goe/{API_KEY}"
    for path in (root, f"{root}/", f"{root}/status", f"{root}/mqtt?payload=amp=8", f"{root}/ws"):
        status, body = await get(client, path)
        assert (status, body["error"]) == (404, "unknown_path"), path
    assert await get(client, "/tlwb/7/goe/guess/status") == (
        401,
        {"error": "unauthorized", "message": "Wrong API key in the go-e base URL."},
    )
    status, body = await get(client, f"/tlwb/7/goe/{API_KEY}/status")
    assert (status, body["error"]) == (404, "unknown_car")
    assert (await client.get(f"{GOE_API}/status")).status == 200  # one wrong key: not banned
    assert not await hass.async_add_executor_job(ip_bans_file.exists)
    assert commands(sim) == []


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_unknown_car_is_404(client: TestClient, sim: Simulator) -> None:
    for path in (f"/tlwb/7/goe/{API_KEY}/api/status", f"/tlwb/7/goe/{API_KEY}/api/set?amp=8"):
        status, body = await get(client, path)
        assert (status, body["error"]) == (404, "unknown_car")
    vin = sim.vehicle(1).vin
    assert (await get(client, f"/tlwb/{vin}/goe/{API_KEY}/api/status?filter=car")) == (
        200,
        {"car": 3},
    )


def entry_for(sim: Simulator, vin: str, key: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=vin,
        unique_id=f"account-{vin}",
        data={
            CONF_BACKEND: "custom",
            CONF_URL: sim.url,
            CONF_TOKEN: TOKEN,
            CONF_VINS: [vin],
            CONF_VEHICLES: {vin: sim.vehicles[vin].display_name},
        },
        options={CONF_API_KEY: key},
    )


@pytest.mark.parametrize("vehicle_configs", [[plugged(), plugged()]])
async def test_a_key_opens_only_its_own_entry(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    first, second = (entry_for(sim, vin, f"key-{vin}") for vin in sim.vehicles)
    for entry in (first, second):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    numbers = {
        vin: the_car(entry).number for vin, entry in zip(sim.vehicles, (first, second), strict=True)
    }
    for vin, number in numbers.items():
        for other_vin in sim.vehicles:
            status, _ = await get(client, f"/tlwb/{number}/goe/key-{other_vin}/api/status")
            assert status == (200 if other_vin == vin else 404)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_wrong_keys_count_toward_ip_ban(
    ip_bans_file: Path,
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    assert await async_setup_component(hass, "http", {"http": {"login_attempts_threshold": 2}})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    for path in ("/tlwb/1/goe/guess/api/status", "/tlwb/1/goe/guess/api/set?frc=2"):
        assert (await client.get(path)).status == 401
    # Banned now: even the right key is turned away.
    assert (await client.get(f"{GOE_API}/status")).status == 403
    await hass.async_block_till_done()
    assert "127.0.0.1" in await hass.async_add_executor_job(ip_bans_file.read_text)
    assert commands(sim) == []
