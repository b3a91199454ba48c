"""Config flow: pick a backend, sign in (checked with a real call), pick the cars.

Also reauthentication, reconfiguration and the options (options_flow.py). Each backend's own steps
are in flow_backends.py, the forms and the checks of what is typed into them in flow_schemas.py.

The custom-server path is a fixed contract for scripted setups:
step `user` {backend: "custom"} -> step `custom` {url, token[, verify_ssl]} -> step `vehicles`
{vins: [...]}. Run again for an account already set up, the flow adds the chosen cars to its entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlow
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError

from .const import (
    CONF_API_KEY,
    CONF_BACKEND,
    CONF_PV_ZONE,
    CONF_VEHICLES,
    CONF_VINS,
    DEFAULT_PV_ZONE,
    DOMAIN,
    LOGGER,
    Backend,
)
from .errors import TeslaWallboxError
from .flow_backends import FleetSteps, TokenSteps
from .flow_schemas import account_id, entry_title, new_api_key, user_schema, vehicles_schema
from .options_flow import WallboxOptionsFlow
from .runtime import account_client, async_connect


class WallboxConfigFlow(FleetSteps, TokenSteps, domain=DOMAIN):
    """Set up an account and its cars."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """The options flow."""
        return WallboxOptionsFlow()

    # ----- set-up --------------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose where the car is reached."""
        if user_input is not None:
            backend = Backend(user_input[CONF_BACKEND])
            self._data = {CONF_BACKEND: backend.value}
            if backend is Backend.FLEET:
                return await self.async_step_pick_implementation()
            return await self._token_step(backend, None)
        return self.async_show_form(step_id="user", data_schema=user_schema())

    async def async_step_vehicles(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the cars that become wallboxes; for an account already set up, the cars to add."""
        taken = self._configured_vins()
        choices = [vehicle for vehicle in self._vehicles if vehicle.vin not in taken]
        if not choices:
            return self.async_abort(reason="already_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            offered = {vehicle.vin for vehicle in choices}
            wanted = user_input.get(CONF_VINS, [])
            chosen = [vin for vin in wanted if vin in offered]
            if not chosen or len(chosen) != len(wanted):
                errors[CONF_VINS] = "no_vehicle_selected"
            elif (entry := self._account_entry()) is None:
                return await self._async_create_account_entry(chosen)
            else:
                reachable = await self._async_entry_reaches(entry, chosen)
                if reachable is None:
                    errors["base"] = "entry_unreachable"
                elif reachable:
                    return self._async_add_to_entry(entry, chosen)
                else:
                    # The overlap is a car shared with another account: these cars get their own.
                    return await self._async_create_account_entry(chosen)
        return self.async_show_form(
            step_id="vehicles", data_schema=vehicles_schema(choices), errors=errors
        )

    def _configured_vins(self) -> set[str]:
        return {
            vin
            for entry in self._async_current_entries(include_ignore=False)
            for vin in entry.data.get(CONF_VINS, [])
        }

    def _account_entry(self) -> ConfigEntry | None:
        """The entry that already holds the most of this account's cars, if any does."""
        listed = {vehicle.vin for vehicle in self._vehicles}
        best: ConfigEntry | None = None
        most = 0
        for entry in self._async_current_entries(include_ignore=False):
            overlap = len(listed.intersection(entry.data.get(CONF_VINS, [])))
            if overlap > most:
                best, most = entry, overlap
        return best

    async def _async_entry_reaches(self, entry: ConfigEntry, vins: list[str]) -> bool | None:
        """Whether the entry's own connection lists these cars (None: it cannot be reached)."""
        try:
            client = account_client(self.hass, entry.data, await async_connect(self.hass, entry))
            listed = {vehicle.vin for vehicle in await client.list_vehicles()}
        except (HomeAssistantError, TeslaWallboxError) as err:
            LOGGER.debug("The entry %s cannot list its cars: %s", entry.title, err)
            return None
        return listed.issuperset(vins)

    async def _async_create_account_entry(self, chosen: list[str]) -> ConfigFlowResult:
        await self.async_set_unique_id(account_id(self._vehicles))
        self._abort_if_unique_id_configured()
        names = {vehicle.vin: vehicle.name for vehicle in self._vehicles}
        vehicles = {vin: names[vin] for vin in chosen}
        return self.async_create_entry(
            title=entry_title(chosen, vehicles),
            data={**self._data, CONF_VINS: chosen, CONF_VEHICLES: vehicles},
            options={CONF_PV_ZONE: DEFAULT_PV_ZONE, CONF_API_KEY: new_api_key()},
        )

    @callback
    def _async_add_to_entry(self, entry: ConfigEntry, chosen: list[str]) -> ConfigFlowResult:
        """Add cars to their account's entry; its connection and unique id stay as they are."""
        names = {vehicle.vin: vehicle.name for vehicle in self._vehicles}
        old_vins: list[str] = entry.data.get(CONF_VINS, [])
        old_vehicles: dict[str, str] = entry.data.get(CONF_VEHICLES, {})
        vins = [*old_vins, *chosen]
        vehicles = {**old_vehicles, **{vin: names[vin] for vin in chosen}}
        title = entry.title
        if title == entry_title(old_vins, old_vehicles):  # our title, not one the user chose
            title = entry_title(vins, vehicles)
        return self.async_update_reload_and_abort(
            entry,
            title=title,
            data_updates={CONF_VINS: vins, CONF_VEHICLES: vehicles},
            reason="vehicles_added",
        )

    # ----- reauth and reconfigure: each backend's own steps, in flow_backends.py ---------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The token was refused: sign in again."""
        self._data = dict(entry_data)
        if Backend(entry_data[CONF_BACKEND]) is Backend.FLEET:
            return await self.async_step_pick_implementation()
        return await self.async_step_reauth_confirm()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server URL or token (or, for Fleet, how commands are signed)."""
        entry = self._get_reconfigure_entry()
        backend = Backend(entry.data[CONF_BACKEND])
        if backend is Backend.FLEET:
            self._data = dict(entry.data)
            return await self.async_step_fleet()
        return await self._async_reconfigure_token(entry, backend, user_input)
