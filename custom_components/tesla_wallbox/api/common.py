"""What the /tlwb views and the go-e views share: who is asking, which car, and errors as JSON.

A wrong key or token is answered with a 401 that Home Assistant's IP ban counts like a failed login;
the right key of an entry that is not loaded is a 503 `not_loaded`, never a failed login.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import hmac
from http import HTTPStatus

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_AUTHENTICATED, HomeAssistantView

from ..const import CONF_API_KEY, CONF_VINS, DOMAIN, LOGGER
from ..models import Car, WallboxConfigEntry, car_numbers

API_KEY_HEADER = "X-API-Key"
KEY_PARAM = "key"
# Every answer comes within 2 s: a command still waiting for a wake goes on in the background.
DEFAULT_WAIT = 1.5
# While an entry is not loaded (reloading, set-up waiting to retry, re-authentication pending), a
# client with its key is told to come back after this many seconds.
NOT_LOADED_RETRY_AFTER = 5


class ApiError(Exception):
    """A request we answer with an error JSON: nothing was sent to the car."""

    def __init__(
        self, status: int, error: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """The error as JSON."""
        body = {"error": self.error, "message": self.message}
        return web.json_response(body, status=self.status, headers=self.headers)


def not_loaded() -> ApiError:
    """503 for a right key (or a user) whose entry is not loaded: never a failed login, so it
    does not count toward Home Assistant's IP ban (a polling client would get its host banned)."""
    message = (
        "The Tesla Wallbox integration is not loaded: it is reloading, is disabled, or its"
        " set-up waits to retry or for re-authentication in Home Assistant; try again later."
    )
    headers = {"Retry-After": str(NOT_LOADED_RETRY_AFTER)}
    return ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "not_loaded", message, headers)


class ApiView(HomeAssistantView):
    """A view of this integration: it checks HA's token or our API key in each request."""

    requires_auth = False
    # cors_allowed stays False: True opens a view to every origin. So HA's http:
    # cors_allowed_origins decide which browser pages may read the answers (wallbox clients such
    # as evcc or curl are not browsers and need no CORS).
    cors_allowed = False


# ----- cars and access --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    """Who is asking: a Home Assistant user (admin or not), or a holder of an entry's API key."""

    admin: bool
    api_key: str | None = None  # the key presented, when that is how the client got in

    def may_see(self, entry: ConfigEntry) -> bool:
        """Users see every car; an API key opens the cars of its own entry."""
        return self.api_key is None or key_matches(entry, self.api_key)


def key_matches(entry: ConfigEntry, presented: str) -> bool:
    """Whether a presented key is the entry's API key."""
    expected = str(entry.options.get(CONF_API_KEY) or "")
    # Constant-time: the comparison must not tell how much of a guess was right. aiohttp hands
    # over bytes that are not UTF-8 as surrogates ("\udcff"): surrogatepass encodes any str.
    return bool(expected) and hmac.compare_digest(
        expected.encode(), presented.encode("utf-8", "surrogatepass")
    )


def loaded_entries(hass: HomeAssistant) -> list[WallboxConfigEntry]:
    """The entries with cars to serve."""
    return list(hass.config_entries.async_loaded_entries(DOMAIN))


def not_loaded_entries(hass: HomeAssistant) -> list[ConfigEntry]:
    """The entries that are not loaded now (reloading, set-up failed or retrying, disabled)."""
    loaded = {entry.entry_id for entry in loaded_entries(hass)}
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        if entry.entry_id not in loaded
    ]


def may_be_its_car(hass: HomeAssistant, entry: ConfigEntry, wanted: str) -> bool:
    """Whether a car id (upper case) names one of an entry's cars, by VIN or by number; when the
    numbers have not been read yet (no entry got that far since the start), it may."""
    vins = [str(vin) for vin in entry.data.get(CONF_VINS, [])]
    numbers = car_numbers(hass).known()
    if numbers is None:
        return True
    return any(wanted in (vin.upper(), str(numbers.get(vin))) for vin in vins)


def find_car(hass: HomeAssistant, car_id: str) -> tuple[WallboxConfigEntry, Car] | None:
    """A car by its short number or its VIN."""
    wanted = car_id.strip().upper()
    for entry in loaded_entries(hass):
        for car in entry.runtime_data.cars.values():
            if wanted in (str(car.number), car.vin.upper()):
                return entry, car
    return None


def unauthorized(message: str) -> web.HTTPUnauthorized:
    """401 as JSON; raised, so that HA's ban middleware counts it like a failed login."""
    return web.HTTPUnauthorized(
        text=f'{{"error": "unauthorized", "message": "{message}"}}',
        content_type="application/json",
    )


def authenticate(request: web.Request, presented_key: str | None) -> Access:
    """HA's bearer token (any user) or an API key; anything else raises 401.

    The right key of an entry that is not loaded raises ApiError 503 `not_loaded` instead.
    """
    if request.get(KEY_AUTHENTICATED):
        user = request.get(KEY_HASS_USER)
        return Access(admin=bool(user is not None and user.is_admin))
    if presented_key:
        hass: HomeAssistant = request.app["hass"]
        if any(key_matches(entry, presented_key) for entry in loaded_entries(hass)):
            return Access(admin=True, api_key=presented_key)
        if any(key_matches(entry, presented_key) for entry in not_loaded_entries(hass)):
            raise not_loaded()
    raise unauthorized("Send a Home Assistant token (Authorization: Bearer) or the API key.")


def presented_key(request: web.Request) -> str | None:
    """The API key from the X-API-Key header or the key query parameter."""
    header = request.headers.get(API_KEY_HEADER)
    if header:
        return header
    values = request.query.getall(KEY_PARAM, [])
    return values[0] if len(values) == 1 else None


# ----- commands that outlast the answer ---------------------------------------------------------


def describe_failure(error: BaseException) -> str:
    """A failed command in a few words: its error key, and the car's reason when it gave one."""
    key = getattr(error, "translation_key", None) or "api_error"
    reason = (getattr(error, "translation_placeholders", None) or {}).get("reason")
    return f"{key}: {reason}" if reason else str(key)


def note_late_outcome(api: str) -> Callable[[asyncio.Task[None]], None]:
    """A done callback for a command still running when `api` answered: its outcome shows in
    the status later, and a failure is logged rather than left unread in the task."""

    def note(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            LOGGER.debug("%s command failed after the answer: %s", api, describe_failure(error))

    return note
