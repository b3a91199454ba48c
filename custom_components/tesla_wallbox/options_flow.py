"""The options flow: general options (PV zone, polling, low targets, API key), PV charging, the
departure plan and Bluetooth."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload

from .const import (
    CONF_API_KEY,
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_POWER_SENSOR,
    CONF_BATTERY_PRIORITY_SOC,
    CONF_BATTERY_SOC_SENSOR,
    CONF_GRID_SENSOR,
    CONF_MAX_AMPS,
    CONF_PRICE_SENSOR,
    CONF_PV_ZONE,
    CONF_SOLAR_FORECAST,
)
from .flow_bluetooth import BluetoothOptionsMixin
from .flow_schemas import (
    CONF_REGENERATE_API_KEY,
    general_options_schema,
    new_api_key,
    plan_options_schema,
    pv_options_schema,
)
from .surplus.runner import surplus_settings

# Integrations with a solar forecast for the energy dashboard (their `energy` platform).
SOLAR_FORECAST_DOMAINS = ("forecast_solar", "solcast_solar", "open_meteo_solar_forecast")


class WallboxOptionsFlow(BluetoothOptionsMixin, OptionsFlowWithReload):
    """General options (PV zone, polling, low targets, API key), PV surplus charging, and
    Bluetooth (flow_bluetooth.py)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose which options to change."""
        return self.async_show_menu(
            step_id="init", menu_options=["general", "pv", "plan", "bluetooth"]
        )

    async def async_step_general(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The PV zone, polling intervals, low targets, and the HTTP API key."""
        options = dict(self.config_entry.options)
        if user_input is not None:
            regenerate = user_input.pop(CONF_REGENERATE_API_KEY, False)
            user_input.setdefault(CONF_PV_ZONE, "")
            api_key = options.get(CONF_API_KEY)
            if regenerate or not api_key:
                api_key = new_api_key()
            return self.async_create_entry(data={**options, **user_input, CONF_API_KEY: api_key})
        return self.async_show_form(
            step_id="general",
            data_schema=self.add_suggested_values_to_schema(general_options_schema(), options),
            description_placeholders={"api_key": str(options.get(CONF_API_KEY, ""))},
        )

    async def async_step_pv(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The grid sensor, the home battery, and how the surplus is followed."""
        options = dict(self.config_entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            for optional in (
                CONF_GRID_SENSOR,
                CONF_BATTERY_POWER_SENSOR,
                CONF_BATTERY_SOC_SENSOR,
                CONF_BATTERY_PRIORITY_SOC,
                CONF_MAX_AMPS,
            ):
                user_input.setdefault(optional, None)
            merged = {**options, **user_input}
            try:
                surplus_settings(merged)
            except ValueError:
                errors["base"] = "invalid_surplus_settings"
            else:
                return self.async_create_entry(data=merged)
        return self.async_show_form(
            step_id="pv",
            data_schema=self.add_suggested_values_to_schema(
                pv_options_schema(), {**options, **(user_input or {})}
            ),
            errors=errors,
        )

    async def async_step_plan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The price sensor, the PV forecast, and the car's battery for the departure plan."""
        options = dict(self.config_entry.options)
        if user_input is not None:
            for optional in (CONF_PRICE_SENSOR, CONF_SOLAR_FORECAST, CONF_BATTERY_CAPACITY):
                user_input.setdefault(optional, None)
            return self.async_create_entry(data={**options, **user_input})
        solar = {
            entry.entry_id: entry.title
            for domain in SOLAR_FORECAST_DOMAINS
            for entry in self.hass.config_entries.async_entries(domain)
        }
        return self.async_show_form(
            step_id="plan",
            data_schema=self.add_suggested_values_to_schema(plan_options_schema(solar), options),
        )
