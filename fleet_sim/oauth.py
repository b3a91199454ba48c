"""Tesla's OAuth token endpoint, so that the Fleet backend's sign-in and refresh run for real.

Only what a Home Assistant OAuth2 flow uses: the authorization-code grant and the refresh grant,
form-encoded, answered like fleet-auth.prd.vn.cloud.tesla.com does. Not billed, no /api prefix.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from .simulator import Simulator

TOKEN_PATH: Final = "/oauth2/v3/token"  # noqa: S105 - a path, not a secret
TOKEN_LIFETIME: Final = 28800
# A code the tests use to see a refused exchange.
REFUSED_CODE: Final = "refused"


class OAuthApi:
    """Issues access tokens the simulator then accepts."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._serial = itertools.count(1)
        self.refresh_tokens: set[str] = set()
        self.exchanges: list[str] = []  # grant types, in order
        self.throttled = 0  # the next this many token requests answer 429, Retry-After: 60

    def register(self, app: web.Application) -> None:
        """Add the token route."""
        app.router.add_post(TOKEN_PATH, self._token)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        self.exchanges.append(grant)
        if self.throttled > 0:
            self.throttled -= 1
            response = _refused(429, "too_many_requests")
            response.headers["Retry-After"] = "60"
            return response
        if not form.get("client_id"):
            return _refused(401, "invalid_client")
        if grant == "authorization_code":
            if not form.get("code") or form.get("code") == REFUSED_CODE:
                return _refused(400, "invalid_grant")
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return _refused(401, "login_required")
        else:
            return _refused(400, "unsupported_grant_type")
        serial = next(self._serial)
        access = self._sim.token if self._sim.token is not None else f"sim-access-{serial}"
        refresh = f"sim-refresh-{serial}"
        self.refresh_tokens.add(refresh)
        return web.json_response(
            {
                "access_token": access,
                "refresh_token": refresh,
                "id_token": f"sim-id-{serial}",
                "expires_in": TOKEN_LIFETIME,
                "token_type": "Bearer",
            }
        )


def _refused(status: int, error: str) -> web.Response:
    return web.json_response({"error": error, "error_description": error}, status=status)
