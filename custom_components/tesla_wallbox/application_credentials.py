"""The Tesla sign-in for the Fleet backend, with the user's own Tesla developer app."""

from __future__ import annotations

from homeassistant.components.application_credentials import AuthorizationServer
from homeassistant.core import HomeAssistant

from . import const


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Tesla's OAuth endpoints."""
    return AuthorizationServer(
        authorize_url=const.FLEET_AUTHORIZE_URL, token_url=const.FLEET_TOKEN_URL
    )


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Where the user creates the developer app."""
    return {
        "developer_url": "https://developer.tesla.com/dashboard",
        "redirect_url": "https://my.home-assistant.io/redirect/oauth",
    }
