"""The HTTP API and the go-e endpoint behind Home Assistant's own IP ban and CORS.

Home Assistant's `http` is set up for real here: ip_ban_enabled with a low login_attempts_threshold,
and cors_allowed_origins. A right API key must never count as a failed login, not even while its
entry is not loaded (a reload, a set-up waiting to retry, a re-authentication); only wrong
credentials do. Only the origins Home Assistant allows get CORS headers.
"""

from __future__ import annotations

import asyncio
from ipaddress import ip_address
from pathlib import Path
import re
from typing import Any

from aiohttp import ClientResponse
from homeassistant.components.http.ban import KEY_BAN_MANAGER, KEY_FAILED_LOGIN_ATTEMPTS
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from fleet_sim import Simulator

from .conftest import assert_no_traceback
from .const import API_KEY, GOE_API, PLUGGED_AT_HOME

LOCALHOST = ip_address("127.0.0.1")
PLUGGED = [PLUGGED_AT_HOME]
# Every kind of request a client with the right key makes: reads and writes, both APIs.
RIGHT_KEY = [
    ("/tlwb/1/status", {"X-API-Key": API_KEY}),
    (f"/tlwb/1/status?key={API_KEY}", {}),
    (f"/tlwb/1?key={API_KEY}", {}),
    ("/tlwb/1/control?1", {"X-API-Key": API_KEY}),
    (f"/tlwb/1?set_amps=10&control=1&key={API_KEY}", {}),
    (f"/tlwb?key={API_KEY}", {}),
    (f"/tlwb/no/such/path?key={API_KEY}", {}),
    (f"{GOE_API}/status", {}),
    (f"{GOE_API}/status?filter=alw,car", {}),
    (f"{GOE_API}/set?amp=10", {}),
    (f"{GOE_API}/set?frc=2", {}),
    (f"/tlwb/1/goe/{API_KEY}/status", {}),  # go-e's API v1, which evcc falls back to
]


async def set_up_http(hass: HomeAssistant, **config: Any) -> None:
    """Home Assistant's http with its IP ban on, as in configuration.yaml, before the entry."""
    http = {"ip_ban_enabled": True, "login_attempts_threshold": 2, **config}
    assert await async_setup_component(hass, "http", {"http": http})


def failed_logins(hass: HomeAssistant) -> int:
    """What Home Assistant's ban middleware counted for 127.0.0.1."""
    return hass.http.app[KEY_FAILED_LOGIN_ATTEMPTS].get(LOCALHOST, 0)


def banned(hass: HomeAssistant) -> bool:
    return LOCALHOST in hass.http.app[KEY_BAN_MANAGER].ip_bans_lookup


async def json_of(response: ClientResponse) -> dict[str, Any]:
    assert response.content_type == "application/json", await response.text()
    body: dict[str, Any] = await response.json()
    return body


def assert_not_loaded(response: ClientResponse, body: dict[str, Any], path: str) -> None:
    assert (response.status, body.get("error")) == (503, "not_loaded"), (path, body)
    assert "not loaded" in body["message"], body
    assert "try again" in body["message"], body
    retry_after = response.headers.get("Retry-After")
    assert retry_after is not None, path
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= 30, retry_after


# ----- a right key while its entry is not loaded ----------------------------------------------------


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize(
    ("refusal", "state"),
    [
        ("token", ConfigEntryState.SETUP_ERROR),
        ("token_at_reload", ConfigEntryState.SETUP_ERROR),
        ("server_down", ConfigEntryState.SETUP_RETRY),
    ],
)
async def test_right_key_of_an_entry_not_loaded_is_503_and_never_banned(
    ip_bans_file: Path,
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    refusal: str,
    state: ConfigEntryState,
) -> None:
    await set_up_http(hass)
    config_entry.add_to_hass(hass)
    if refusal == "token_at_reload":
        # Loaded first; then Tesla refuses the token, and the entry is reloaded (new options, a
        # restart): its set-up fails and waits for re-authentication.
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
        sim.token = "another-token"
        assert not await hass.config_entries.async_reload(config_entry.entry_id)
    else:
        if refusal == "token":
            sim.token = "another-token"  # Tesla refuses the token at set-up
        else:
            sim.faults.add(status=503, count=None)  # Tesla's servers are down: retried later
        assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is state
    flows = [flow["context"]["source"] for flow in hass.config_entries.flow.async_progress()]
    assert flows == (["reauth"] if refusal.startswith("token") else [])

    # What the failed set-up logged is Home Assistant's (2026.10 adds a DEBUG traceback): from
    # here on, only the requests.
    caplog.clear()
    client = await hass_client_no_auth()
    sent = len(sim.ledger)
    for _ in range(10):
        for path, headers in RIGHT_KEY:
            response = await client.get(path, headers=headers)
            assert_not_loaded(response, await json_of(response), path)
    assert len(sim.ledger) == sent  # nothing reached Tesla
    assert failed_logins(hass) == 0
    assert not banned(hass)
    assert not await hass.async_add_executor_job(ip_bans_file.exists)
    assert "Login attempt or request with invalid authentication" not in caplog.text

    # Wrong credentials still count, as before: the second one bans.
    response = await client.get("/tlwb/1/status?key=guess")
    assert (response.status, (await json_of(response))["error"]) == (401, "unauthorized")
    assert failed_logins(hass) == 1
    response = await client.get("/tlwb/1/goe/guess/api/status")
    assert (response.status, (await json_of(response))["error"]) == (401, "unauthorized")
    assert banned(hass)
    assert (await client.get(f"{GOE_API}/status")).status == 403  # banned: the right key too
    await hass.async_block_till_done()
    assert "127.0.0.1" in await hass.async_add_executor_job(ip_bans_file.read_text)
    assert_no_traceback(caplog)


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_user_token_while_the_entry_is_not_loaded_is_503(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    """A Home Assistant user asking for a car of an entry that is not loaded: 503, not 404."""
    await set_up_http(hass)
    sim.token = "another-token"
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client()
    for path in ("/tlwb/1/status", "/tlwb/1/control?1", f"/tlwb/{sim.vehicle(1).vin}"):
        response = await client.get(path)
        assert_not_loaded(response, await json_of(response), path)
    # A car that is none of its cars is still unknown.
    for path in ("/tlwb/99/status", "/tlwb/5YJ3NOTOURS000001"):
        response = await client.get(path)
        assert (response.status, (await json_of(response))["error"]) == (404, "unknown_car")
    response = await client.get("/tlwb")
    assert (response.status, await json_of(response)) == (200, {"cars": []})
    assert failed_logins(hass) == 0


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_a_reload_while_polling_answers_200_or_503_never_401(
    ip_bans_file: Path,
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    await set_up_http(hass)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    polls = [
        ("/tlwb/1/status", {"X-API-Key": API_KEY}),
        (f"/tlwb/1/status?key={API_KEY}", {}),
        (f"{GOE_API}/status?filter=alw,car,amp", {}),
        (f"{GOE_API}/status", {}),
    ]
    answers: dict[int, list[int]] = {poller: [] for poller in range(3 * len(polls))}
    stop = asyncio.Event()
    progress = asyncio.Condition()

    async def poll(poller: int, path: str, headers: dict[str, str]) -> None:
        # As fast as it is answered, until told to stop.
        while not stop.is_set():
            response = await client.get(path, headers=headers)
            body = await json_of(response)
            if response.status == 503:
                assert_not_loaded(response, body, path)
            async with progress:
                answers[poller].append(response.status)
                progress.notify_all()

    async def answered(count: int) -> None:
        """Until every poller has had `count` more answers."""
        wanted = {poller: len(seen) + count for poller, seen in answers.items()}
        async with progress:
            await progress.wait_for(
                lambda: all(len(answers[poller]) >= wanted[poller] for poller in answers)
            )

    async def reload_while_polling() -> None:
        await answered(2)
        assert await hass.config_entries.async_reload(config_entry.entry_id)
        await answered(3)  # the first may have been handled before the reload was done
        stop.set()

    pollers = [poll(index, *polls[index % len(polls)]) for index in answers]
    async with asyncio.timeout(30):
        await asyncio.gather(reload_while_polling(), *pollers)
    assert config_entry.state is ConfigEntryState.LOADED
    for poller, statuses in answers.items():
        assert set(statuses) <= {200, 503}, (polls[poller % len(polls)], statuses)
        # 200 before the reload, 503 while it ran (if this poller came then), 200 after it.
        pattern = "".join("o" if status == 200 else "x" for status in statuses)
        assert re.fullmatch("o{2,}x*o{2,}", pattern), statuses
    all_statuses = [status for statuses in answers.values() for status in statuses]
    assert 503 in all_statuses, answers  # polls did come while the entry was not loaded
    assert failed_logins(hass) == 0
    assert not banned(hass)
    assert not await hass.async_add_executor_job(ip_bans_file.exists)


# ----- CORS -----------------------------------------------------------------------------------------

ALLOWED_ORIGIN = "https://dashboard.example"
EVIL_ORIGIN = "https://evil.example"
CORS_PATHS = [
    f"/tlwb?key={API_KEY}",
    f"/tlwb/1/status?key={API_KEY}",
    f"/tlwb/1?key={API_KEY}",
    f"/tlwb/no/such/path?key={API_KEY}",
    f"{GOE_API}/status",
    f"/tlwb/1/goe/{API_KEY}/status",
]


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
@pytest.mark.parametrize("path", CORS_PATHS)
async def test_cors_follows_home_assistants_allowed_origins(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    config_entry: MockConfigEntry,
    path: str,
) -> None:
    await set_up_http(hass, cors_allowed_origins=[ALLOWED_ORIGIN])
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()

    response = await client.get(path, headers={"Origin": EVIL_ORIGIN})
    assert response.status in (200, 404), path
    assert "Access-Control-Allow-Origin" not in response.headers, path
    preflight = {"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "GET"}
    response = await client.options(path, headers=preflight)
    assert "Access-Control-Allow-Origin" not in response.headers, path
    assert response.status >= 400, path

    # A browser dashboard on an origin Home Assistant allows may read the answers.
    response = await client.get(path, headers={"Origin": ALLOWED_ORIGIN})
    assert response.status in (200, 404), path
    assert response.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN, path
    preflight = {
        "Origin": ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
    }
    response = await client.options(path, headers=preflight)
    assert response.status == 200, path
    assert response.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN, path
    # X-API-Key is not among the request headers Home Assistant's CORS allows: a browser page
    # sends the token (Authorization) or ?key= instead.
    preflight["Access-Control-Request-Headers"] = "X-API-Key"
    response = await client.options(path, headers=preflight)
    assert response.status >= 400, path
    assert "Access-Control-Allow-Origin" not in response.headers, path
    assert failed_logins(hass) == 0


@pytest.mark.parametrize("vehicle_configs", [PLUGGED])
async def test_no_cors_for_any_origin_by_default(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Home Assistant's default http configuration: an unknown origin gets no CORS header."""
    client = await hass_client_no_auth()
    for path in CORS_PATHS:
        response = await client.get(path, headers={"Origin": EVIL_ORIGIN})
        assert response.status in (200, 404), path
        assert "Access-Control-Allow-Origin" not in response.headers, path
        assert "Access-Control-Allow-Credentials" not in response.headers, path
