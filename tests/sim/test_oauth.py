"""The simulator's token endpoint: the code grant, the refresh grant, and refusals."""

from __future__ import annotations

import aiohttp

from fleet_sim import Simulator

from .const import TOKEN


async def _token(
    session: aiohttp.ClientSession, sim: Simulator, **form: str
) -> tuple[int, dict[str, str]]:
    async with session.post(f"{sim.url}/oauth2/v3/token", data=form) as response:
        return response.status, await response.json()


async def test_code_then_refresh(sim: Simulator, session: aiohttp.ClientSession) -> None:
    status, body = await _token(
        session, sim, grant_type="authorization_code", code="abc", client_id="app"
    )
    assert status == 200
    assert body["access_token"] == TOKEN  # the one token this simulator accepts
    assert body["expires_in"] == 28800
    status, again = await _token(
        session,
        sim,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
        client_id="app",
    )
    assert status == 200
    assert again["refresh_token"] != body["refresh_token"]
    assert sim.oauth.exchanges == ["authorization_code", "refresh_token"]
    assert len(sim.ledger) == 0  # sign-in is not billed


async def test_refusals(sim: Simulator, session: aiohttp.ClientSession) -> None:
    assert (await _token(session, sim, grant_type="authorization_code", code="abc"))[0] == 401
    status, body = await _token(
        session, sim, grant_type="authorization_code", code="refused", client_id="app"
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await _token(
        session, sim, grant_type="refresh_token", refresh_token="unknown", client_id="app"
    )
    assert (status, body["error"]) == (401, "login_required")
    status, body = await _token(session, sim, grant_type="password", client_id="app")
    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_any_token_simulator_issues_fresh_tokens(session: aiohttp.ClientSession) -> None:
    async with Simulator() as open_sim:
        _, body = await _token(
            session, open_sim, grant_type="authorization_code", code="x", client_id="app"
        )
    assert body["access_token"].startswith("sim-access-")
