"""The config flow's steps per backend, on a base that checks an account and finishes a change.

Tesla Fleet signs in with OAuth, then finds the account's region and asks how commands are signed
(`FleetSteps`). Teslemetry, Tessie and a custom server take a token, a custom server also its URL
(`TokenSteps`). Every path checks its credentials with the same real call, and a reauthentication
or reconfiguration ends the same way, whichever backend it went through (`AccountFlow`).
"""

from __future__ import annotations

from abc import abstractmethod
import logging
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
)
from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .client import Connect, VehicleInfo, find_fleet_server
from .const import (
    CONF_BACKEND,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_REGION,
    CONF_URL,
    CONF_VINS,
    DOMAIN,
    FLEET_SCOPES,
    LOGGER,
    Backend,
)
from .errors import AuthError, TeslaWallboxError
from .flow_schemas import (
    credentials_schema,
    fleet_schema,
    fleet_signing,
    reauth_schema,
    reconfigure_schema,
    valid_token,
    valid_url,
)
from .runtime import account_client


class AccountFlow(config_entry_oauth2_flow.AbstractOAuth2FlowHandler):
    """What every backend's steps share: the entry data so far, the account's cars, the check."""

    DOMAIN = DOMAIN

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, Any] = {}
        self._vehicles: list[VehicleInfo] = []

    @abstractmethod
    async def async_step_vehicles(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the cars (where every set-up goes once the credentials work)."""

    async def _async_try_connect(self, data: dict[str, Any]) -> dict[str, str]:
        """Check the credentials with a real call; remember the account's cars."""
        backend = Backend(data[CONF_BACKEND])
        token: str = (
            data[CONF_TOKEN]["access_token"] if backend is Backend.FLEET else data[CONF_TOKEN]
        )
        connect = Connect(
            backend,
            token,
            url=data.get(CONF_URL),
            proxy_url=data.get(CONF_PROXY_URL),
            private_key_path=data.get(CONF_PRIVATE_KEY),
        )
        client = account_client(self.hass, data, connect)
        try:
            await client.load_private_key()
        except TeslaWallboxError:
            return {CONF_PRIVATE_KEY: "private_key_not_found"}
        try:
            self._vehicles = await client.list_vehicles()
        except AuthError:
            return {"base": "invalid_auth"}
        except TeslaWallboxError as err:
            LOGGER.debug("Connection check failed: %s", err)
            return {"base": "cannot_connect"}
        if not self._vehicles:
            return {"base": "no_vehicles"}
        return {}

    def _same_account(self, entry: ConfigEntry) -> bool:
        """Whether the account just reached still has every car of the entry."""
        listed = {vehicle.vin for vehicle in self._vehicles}
        return set(entry.data.get(CONF_VINS, [])) <= listed

    async def _async_finish_reauth(self, data: dict[str, Any]) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        if Backend(data[CONF_BACKEND]) is Backend.FLEET:
            # The OAuth path has not listed the cars yet.
            errors = await self._async_try_connect({**entry.data, **data})
            if errors:
                return self.async_abort(reason=errors.get("base", "cannot_connect"))
        if not self._same_account(entry):
            return self.async_abort(reason="wrong_account")
        return self.async_update_reload_and_abort(entry, data={**entry.data, **data})

    async def _async_finish_reconfigure(self, data: dict[str, Any]) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        if not self._same_account(entry):
            return self.async_abort(reason="wrong_account")
        return self.async_update_reload_and_abort(entry, data=data)


class FleetSteps(AccountFlow):
    """Tesla Fleet: Tesla's sign-in (OAuth), the account's region, how commands are signed."""

    @property
    def logger(self) -> logging.Logger:
        """The flow's logger (OAuth)."""
        return LOGGER

    @property
    def extra_authorize_data(self) -> dict[str, Any]:
        """Ask Tesla for the scopes a wallbox needs, no more."""
        return {"scope": " ".join(FLEET_SCOPES)}

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Tesla sign-in done: find the account's region, then the Fleet options."""
        token = data[CONF_TOKEN]["access_token"]
        try:
            region, server = await find_fleet_server(async_get_clientsession(self.hass), token)
        except AuthError:
            return self.async_abort(reason="invalid_auth")
        except TeslaWallboxError:
            return self.async_abort(reason="cannot_connect")
        self._data = {
            **data,
            CONF_BACKEND: Backend.FLEET.value,
            CONF_REGION: region,
            CONF_URL: server,
        }
        if self.source == SOURCE_REAUTH:
            return await self._async_finish_reauth(self._data)
        return await self.async_step_fleet()

    async def async_step_fleet(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Tesla Fleet: how commands are signed (a tesla-http-proxy or a private key), if."""
        errors: dict[str, str] = {}
        if user_input is not None:
            extra, errors = fleet_signing(user_input)
            if not errors:
                data = {**self._data, **extra}
                errors = await self._async_try_connect(data)
            if not errors:
                self._data = data
                if self.source == SOURCE_RECONFIGURE:
                    return await self._async_finish_reconfigure(data)
                return await self.async_step_vehicles()
        return self.async_show_form(
            step_id="fleet",
            data_schema=self.add_suggested_values_to_schema(
                fleet_schema(), user_input or self._data
            ),
            errors=errors,
        )


class TokenSteps(AccountFlow):
    """Teslemetry, Tessie and a custom Fleet-API-compatible server: a token (and a server URL)."""

    async def async_step_teslemetry(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Teslemetry: an access token."""
        return await self._token_step(Backend.TESLEMETRY, user_input)

    async def async_step_tessie(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Tessie: an access token."""
        return await self._token_step(Backend.TESSIE, user_input)

    async def async_step_custom(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Any Fleet-API-compatible server: its URL and a token."""
        return await self._token_step(Backend.CUSTOM, user_input)

    async def _token_step(
        self, backend: Backend, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_BACKEND: backend.value}
            errors = await self._async_check_credentials(backend, data, user_input)
            if not errors:
                self._data = data
                return await self.async_step_vehicles()
        return self.async_show_form(
            step_id=backend.value,
            data_schema=self.add_suggested_values_to_schema(
                credentials_schema(backend), user_input
            ),
            errors=errors,
        )

    async def _async_check_credentials(
        self, backend: Backend, data: dict[str, Any], user_input: dict[str, Any]
    ) -> dict[str, str]:
        """Put the token (and a custom server's URL) into data, then try them; the form errors."""
        data[CONF_TOKEN] = valid_token(user_input[CONF_TOKEN])
        if backend is Backend.CUSTOM:
            data[CONF_URL] = valid_url(user_input[CONF_URL])
            data[CONF_VERIFY_SSL] = bool(user_input.get(CONF_VERIFY_SSL, True))
            if data[CONF_URL] is None:
                return {CONF_URL: "invalid_url"}
        if data[CONF_TOKEN] is None:
            return {CONF_TOKEN: "invalid_token"}
        return await self._async_try_connect(data)

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new token for the same account."""
        errors: dict[str, str] = {}
        if user_input is not None:
            token = valid_token(user_input[CONF_TOKEN])
            data = {**self._data, CONF_TOKEN: token}
            errors = (
                {CONF_TOKEN: "invalid_token"}
                if token is None
                else await self._async_try_connect(data)
            )
            if not errors:
                return await self._async_finish_reauth(data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=reauth_schema(),
            description_placeholders={"backend": self._data[CONF_BACKEND]},
            errors=errors,
        )

    async def _async_reconfigure_token(
        self, entry: ConfigEntry, backend: Backend, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """The reconfigure step of a token backend: a new token (and a custom server's URL)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = dict(entry.data)
            errors = await self._async_check_credentials(backend, data, user_input)
            if not errors:
                return await self._async_finish_reconfigure(data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=reconfigure_schema(backend, entry.data),
            errors=errors,
        )
