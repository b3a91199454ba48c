"""A small client for the parts of Home Assistant's REST and WebSocket APIs the demo uses.

Onboarding, sign-in, long-lived tokens, config and options flows, registries and dashboards:
everything a person would click through on a fresh Home Assistant, done over its public APIs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
import itertools
import time
from typing import Any

import aiohttp

# How long one REST or WebSocket call may take before the demo gives up on it.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)


class HomeAssistantError(RuntimeError):
    """Home Assistant answered something the demo cannot go on with."""


@dataclass(frozen=True, slots=True)
class DemoUser:
    """The demo's login."""

    name: str
    username: str
    password: str


class HomeAssistantApi:
    """REST calls against one Home Assistant, with or without a token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None = None) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.token = token

    @property
    def client_id(self) -> str:
        """The OAuth client id Home Assistant's own frontend uses: the base URL."""
        return f"{self.url}/"

    def _headers(self, token: str | None) -> dict[str, str]:
        """The Authorization header: ``token``, else the client's own; "" sends none."""
        token = self.token if token is None else token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: dict[str, str] | None = None,
        token: str | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> Any:
        """Call ``path`` and return the decoded JSON (or None for an empty answer)."""
        async with self.session.request(
            method,
            f"{self.url}{path}",
            json=json,
            data=data,
            headers=self._headers(token),
            timeout=REQUEST_TIMEOUT,
        ) as response:
            text = await response.text()
            if response.status not in expect:
                raise HomeAssistantError(
                    f"{method} {path} answered {response.status}: {text[:300]}"
                )
            if not text:
                return None
            try:
                return await response.json(content_type=None)
            except ValueError:
                return text

    async def wait_until_up(
        self, within: float, *, alive: Callable[[], bool] | None = None
    ) -> None:
        """Wait until the HTTP server answers; ``alive()`` False aborts (Home Assistant died)."""
        deadline = time.monotonic() + within
        while True:
            if alive is not None and not alive():
                raise HomeAssistantError("Home Assistant stopped while starting")
            try:
                # Needs no token (a 401 would count as a failed login, and notify about it);
                # answers 400 "onboarding required" before onboarding.
                await self.request("GET", "/auth/providers", token="", expect=(200, 400))
            except (aiohttp.ClientError, HomeAssistantError):
                if time.monotonic() > deadline:
                    raise HomeAssistantError(
                        f"Home Assistant did not answer at {self.url} within {within:.0f} s"
                    ) from None
                await asyncio.sleep(0.25)
            else:
                return

    # ----- onboarding and sign-in ---------------------------------------------------------------

    async def onboarding_done(self) -> dict[str, bool]:
        """Each onboarding step and whether it is done."""
        # Once onboarding is complete, Home Assistant no longer serves its views.
        steps = await self.request("GET", "/api/onboarding", expect=(200, 404))
        if not isinstance(steps, list):
            return {"user": True, "core_config": True, "analytics": True, "integration": True}
        return {step["step"]: bool(step["done"]) for step in steps}

    async def onboard(self, user: DemoUser, language: str = "en") -> str:
        """Run the onboarding steps that are not done yet; return an access token of ``user``.

        The user step answers an authorization code, exchanged for tokens like the frontend does.
        """
        done = await self.onboarding_done()
        if done.get("user"):
            access = await self.login(user)
        else:
            answer = await self.request(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": self.client_id,
                    "name": user.name,
                    "username": user.username,
                    "password": user.password,
                    "language": language,
                },
            )
            access = await self._exchange_code(answer["auth_code"])
        if not done.get("core_config"):
            await self.request("POST", "/api/onboarding/core_config", json={}, token=access)
        if not done.get("analytics"):
            await self.request("POST", "/api/onboarding/analytics", json={}, token=access)
        if not done.get("integration"):
            await self.request(
                "POST",
                "/api/onboarding/integration",
                json={"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
                token=access,
            )
        return access

    async def login(self, user: DemoUser) -> str:
        """Sign in with username and password through the login flow; return an access token."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        answer = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json={
                "client_id": self.client_id,
                "username": user.username,
                "password": user.password,
            },
        )
        if answer.get("type") != "create_entry":
            raise HomeAssistantError(
                f"Home Assistant refused the demo login {user.username!r}: {answer.get('errors')}"
                " (delete the demo's folder or run scripts/develop --clean)"
            )
        return await self._exchange_code(answer["result"])

    async def _exchange_code(self, code: str) -> str:
        tokens = await self.request(
            "POST",
            "/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        )
        return str(tokens["access_token"])

    async def token_works(self, token: str) -> bool:
        """Whether ``token`` is accepted."""
        try:
            await self.request("GET", "/api/", token=token)
        except HomeAssistantError:
            return False
        return True

    # ----- WebSocket ----------------------------------------------------------------------------

    @asynccontextmanager
    async def websocket(self, token: str | None = None) -> AsyncIterator[WebSocket]:
        """An authenticated WebSocket connection."""
        url = self.url.replace("http", "ws", 1) + "/api/websocket"
        async with self.session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
            hello = await ws.receive_json(timeout=30)
            if hello.get("type") != "auth_required":
                raise HomeAssistantError(f"unexpected WebSocket greeting {hello}")
            await ws.send_json({"type": "auth", "access_token": token or self.token})
            answer = await ws.receive_json(timeout=30)
            if answer.get("type") != "auth_ok":
                raise HomeAssistantError(f"WebSocket authentication failed: {answer}")
            yield WebSocket(ws)

    # ----- flows --------------------------------------------------------------------------------

    async def config_flow(self, handler: str, *steps: dict[str, Any]) -> dict[str, Any]:
        """Start a config flow and post ``steps`` in order; return the last answer."""
        answer: dict[str, Any] = await self.request(
            "POST", "/api/config/config_entries/flow", json={"handler": handler}
        )
        for step in steps:
            if answer.get("type") not in ("form", "menu"):
                break
            answer = await self.request(
                "POST", f"/api/config/config_entries/flow/{answer['flow_id']}", json=step
            )
        return answer

    async def config_entries(self, domain: str) -> list[dict[str, Any]]:
        """The config entries of ``domain``."""
        entries: list[dict[str, Any]] = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={domain}"
        )
        return entries

    async def start_options_flow(self, entry_id: str) -> dict[str, Any]:
        """Open the options flow of an entry."""
        answer: dict[str, Any] = await self.request(
            "POST", "/api/config/config_entries/options/flow", json={"handler": entry_id}
        )
        return answer

    async def options_step(self, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Post one step of an options flow."""
        answer: dict[str, Any] = await self.request(
            "POST", f"/api/config/config_entries/options/flow/{flow_id}", json=data
        )
        return answer

    async def abort_options_flow(self, flow_id: str) -> None:
        """Close an options flow without saving."""
        await self.request("DELETE", f"/api/config/config_entries/options/flow/{flow_id}")

    async def states(self) -> list[dict[str, Any]]:
        """Every entity's state."""
        states: list[dict[str, Any]] = await self.request("GET", "/api/states")
        return states

    async def call_service(self, domain: str, service: str, data: dict[str, Any]) -> None:
        """Call a service (action)."""
        await self.request("POST", f"/api/services/{domain}/{service}", json=data)


class WebSocket:
    """Commands over one authenticated WebSocket; answers are matched by id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def command(self, kind: str, **fields: Any) -> Any:
        """Send a command and return its result; raise HomeAssistantError when it failed."""
        return await self._result(next(self._ids), kind, fields)

    async def _result(self, message_id: int, kind: str, fields: dict[str, Any]) -> Any:
        await self._ws.send_json({"id": message_id, "type": kind, **fields})
        while True:
            answer = await self._ws.receive_json(timeout=60)
            if answer.get("id") != message_id or answer.get("type") != "result":
                continue  # an event of a subscription
            if not answer.get("success"):
                raise HomeAssistantError(f"{kind} failed: {answer.get('error')}")
            return answer.get("result")

    async def subscribe(self, kind: str, **fields: Any) -> int:
        """Start a subscription; its events come from next_event() with the id returned."""
        subscription = next(self._ids)
        await self._result(subscription, kind, fields)
        return subscription

    async def next_event(self, subscription: int, within: float) -> Any:
        """The next event of ``subscription``; TimeoutError after ``within`` seconds."""
        while True:
            message = await self._ws.receive_json(timeout=within)
            if message.get("id") == subscription and message.get("type") == "event":
                return message["event"]


def form_defaults(form: dict[str, Any]) -> dict[str, Any]:
    """The values a form would be submitted with unchanged: suggested values, then defaults."""
    values: dict[str, Any] = {}
    for field in form.get("data_schema", []):
        suggested = (field.get("description") or {}).get("suggested_value")
        if suggested is not None:
            values[field["name"]] = suggested
        elif "default" in field:
            values[field["name"]] = field["default"]
    return values
