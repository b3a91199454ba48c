"""Config flow: pick a backend, sign in (checked with a real call), pick the cars.

Also reauthentication, reconfiguration and the options.

The custom-server path is a fixed contract for scripted setups:
step `user` {backend: "custom"} -> step `custom` {url, token[, verify_ssl]} -> step `vehicles`
{vins: [...]}. Run again for an account already set up, the flow adds the chosen cars to its entry.
"""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
import logging
import re
import secrets
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_entry_oauth2_flow, selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from yarl import URL

from .client import Connect, VehicleInfo, find_fleet_server
from .const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_ASSUMED_PHASES,
    CONF_ASSUMED_VOLTAGE,
    CONF_BACKEND,
    CONF_BATTERY_POWER_SENSOR,
    CONF_BATTERY_PRIORITY_SOC,
    CONF_BATTERY_SOC_SENSOR,
    CONF_CHARGING_INTERVAL,
    CONF_CONFIRM_DELAY,
    CONF_DISABLE_DELAY,
    CONF_ENABLE_DELAY,
    CONF_GRID_SENSOR,
    CONF_IDLE_QUIET,
    CONF_INVERT_BATTERY,
    CONF_INVERT_GRID,
    CONF_KEY_DOMAIN,
    CONF_MAX_AMPS,
    CONF_MIN_AMPS,
    CONF_MIN_AMPS_STEP,
    CONF_MIN_COMMAND_INTERVAL,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_PV_CHARGING_INTERVAL,
    CONF_PV_ZONE,
    CONF_REGION,
    CONF_SLEEP_CHECK_INTERVAL,
    CONF_STALE_AFTER,
    CONF_SURPLUS_BUFFER,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    CONF_WAKE_TIMEOUT,
    DEFAULT_CHARGING_INTERVAL,
    DEFAULT_CONFIRM_DELAY,
    DEFAULT_IDLE_QUIET,
    DEFAULT_PV_CHARGING_INTERVAL,
    DEFAULT_PV_ZONE,
    DEFAULT_SLEEP_CHECK_INTERVAL,
    DEFAULT_STALE_AFTER,
    DEFAULT_WAKE_TIMEOUT,
    DOMAIN,
    FLEET_SCOPES,
    LOGGER,
    Backend,
)
from .errors import AuthError, TeslaWallboxError
from .models import account_client, async_connect
from .surplus import SurplusSettings
from .surplus_runner import surplus_settings

# Home Assistant 2026.10 validates with probatio, and there `import voluptuous` gives probatio;
# older releases validate with voluptuous itself. So voluptuous is the right import at run time,
# and only the type checker must be told which one Home Assistant's forms expect: scripts/checks
# runs mypy with --always-true or --always-false MYPY_PROBATIO, whichever the release uses.
MYPY_PROBATIO = False
if TYPE_CHECKING and MYPY_PROBATIO:
    import probatio as vol
else:
    import voluptuous as vol

CONF_REGENERATE_API_KEY = "regenerate_api_key"
TOKEN_SELECTOR = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
URL_SELECTOR = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
)


def _box(low: float, high: float, step: float, unit: str) -> selector.NumberSelector:
    """A number typed into a box, with its unit."""
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=low,
            max=high,
            step=step,
            unit_of_measurement=unit,
            mode=selector.NumberSelectorMode.BOX,
        )
    )


def account_id(vehicles: list[VehicleInfo]) -> str:
    """An account's identity: its cars (the same cars through any backend are the same account)."""
    vins = ",".join(sorted(vehicle.vin for vehicle in vehicles))
    return hashlib.sha256(vins.encode()).hexdigest()[:24]


def _entry_title(vins: list[str], vehicles: Mapping[str, str]) -> str:
    """An entry's title: its cars' names."""
    return ", ".join(vehicles.get(vin, vin) for vin in vins)


def new_api_key() -> str:
    """A fresh API key for clients that cannot send HA's bearer token."""
    return secrets.token_urlsafe(24)


def _valid_token(value: str) -> str | None:
    """The token if it is one: visible ASCII without spaces, as Tesla's and Teslemetry's are.
    Anything else could not travel in an Authorization header, nor be stored."""
    token = value.strip()
    if token and token.isascii() and token.isprintable() and " " not in token:
        return token
    return None


_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _valid_domain(value: str) -> str | None:
    """A domain name (as in the pairing link tesla.com/_ak/<domain>), also from a pasted URL."""
    text = value.strip().lower()
    if "//" in text:
        url = _valid_url(text)
        text = URL(url).host or "" if url else ""
    text = text.rstrip("/.")
    return text if _DOMAIN.fullmatch(text) else None


def _valid_url(value: str) -> str | None:
    """The URL without a trailing slash if it is an http(s) URL with a host, else None."""
    if not value.isprintable():  # control characters, lone surrogates: no URL, no JSON store
        return None
    try:
        url = URL(value.strip())
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host:
        return None
    return str(url).rstrip("/")


class WallboxConfigFlow(config_entry_oauth2_flow.AbstractOAuth2FlowHandler, domain=DOMAIN):
    """Set up an account and its cars."""

    DOMAIN = DOMAIN
    VERSION = 1

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, Any] = {}
        self._vehicles: list[VehicleInfo] = []

    @property
    def logger(self) -> logging.Logger:
        """The flow's logger (OAuth)."""
        return LOGGER

    @property
    def extra_authorize_data(self) -> dict[str, Any]:
        """Ask Tesla for the scopes a wallbox needs, no more."""
        return {"scope": " ".join(FLEET_SCOPES)}

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
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_BACKEND, default=Backend.TESLEMETRY.value
                    ): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=[backend.value for backend in Backend],
                            translation_key=CONF_BACKEND,
                            mode=selector.SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
        )

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
        schema: dict[Any, Any] = {}
        if backend is Backend.CUSTOM:
            schema[vol.Required(CONF_URL)] = URL_SELECTOR
        schema[vol.Required(CONF_TOKEN)] = TOKEN_SELECTOR
        if backend is Backend.CUSTOM:
            schema[vol.Required(CONF_VERIFY_SSL, default=True)] = selector.BooleanSelector()
        return self.async_show_form(
            step_id=backend.value,
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), user_input),
            errors=errors,
        )

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
            extra, errors = self._fleet_extra(user_input)
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
                vol.Schema(
                    {
                        vol.Optional(CONF_PROXY_URL): URL_SELECTOR,
                        vol.Required(CONF_VERIFY_SSL, default=True): selector.BooleanSelector(),
                        vol.Optional(CONF_PRIVATE_KEY): selector.TextSelector(),
                        vol.Optional(CONF_KEY_DOMAIN): selector.TextSelector(),
                    }
                ),
                user_input or self._data,
            ),
            errors=errors,
        )

    def _fleet_extra(self, user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        proxy = (user_input.get(CONF_PROXY_URL) or "").strip()
        key = (user_input.get(CONF_PRIVATE_KEY) or "").strip()
        errors: dict[str, str] = {}
        extra: dict[str, Any] = {
            CONF_PROXY_URL: None,
            CONF_PRIVATE_KEY: None,
            CONF_VERIFY_SSL: bool(user_input.get(CONF_VERIFY_SSL, True)),
        }
        if proxy:
            extra[CONF_PROXY_URL] = _valid_url(proxy)
            if extra[CONF_PROXY_URL] is None:
                errors[CONF_PROXY_URL] = "invalid_url"
        if key and not key.isprintable():
            errors[CONF_PRIVATE_KEY] = "private_key_not_found"
        elif key:
            extra[CONF_PRIVATE_KEY] = key
        domain_text = (user_input.get(CONF_KEY_DOMAIN) or "").strip()
        extra[CONF_KEY_DOMAIN] = _valid_domain(domain_text) if domain_text else None
        if domain_text and extra[CONF_KEY_DOMAIN] is None:
            errors[CONF_KEY_DOMAIN] = "invalid_domain"
        return extra, errors

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
            step_id="vehicles",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_VINS, default=[vehicle.vin for vehicle in choices]
                    ): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=[
                                selector.SelectOptionDict(
                                    value=vehicle.vin, label=f"{vehicle.name} ({vehicle.vin})"
                                )
                                for vehicle in choices
                            ],
                            multiple=True,
                            mode=selector.SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
            errors=errors,
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
            title=_entry_title(chosen, vehicles),
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
        if title == _entry_title(old_vins, old_vehicles):  # our title, not one the user chose
            title = _entry_title(vins, vehicles)
        return self.async_update_reload_and_abort(
            entry,
            title=title,
            data_updates={CONF_VINS: vins, CONF_VEHICLES: vehicles},
            reason="vehicles_added",
        )

    async def _async_check_credentials(
        self, backend: Backend, data: dict[str, Any], user_input: dict[str, Any]
    ) -> dict[str, str]:
        """Put the token (and a custom server's URL) into data, then try them; the form errors."""
        data[CONF_TOKEN] = _valid_token(user_input[CONF_TOKEN])
        if backend is Backend.CUSTOM:
            data[CONF_URL] = _valid_url(user_input[CONF_URL])
            data[CONF_VERIFY_SSL] = bool(user_input.get(CONF_VERIFY_SSL, True))
            if data[CONF_URL] is None:
                return {CONF_URL: "invalid_url"}
        if data[CONF_TOKEN] is None:
            return {CONF_TOKEN: "invalid_token"}
        return await self._async_try_connect(data)

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

    # ----- reauth --------------------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The token was refused: sign in again."""
        self._data = dict(entry_data)
        if Backend(entry_data[CONF_BACKEND]) is Backend.FLEET:
            return await self.async_step_pick_implementation()
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new token for the same account."""
        errors: dict[str, str] = {}
        if user_input is not None:
            token = _valid_token(user_input[CONF_TOKEN])
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
            data_schema=vol.Schema({vol.Required(CONF_TOKEN): TOKEN_SELECTOR}),
            description_placeholders={"backend": self._data[CONF_BACKEND]},
            errors=errors,
        )

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

    def _same_account(self, entry: ConfigEntry) -> bool:
        """Whether the account just reached still has every car of the entry."""
        listed = {vehicle.vin for vehicle in self._vehicles}
        return set(entry.data.get(CONF_VINS, [])) <= listed

    # ----- reconfigure ---------------------------------------------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server URL or token (or, for Fleet, how commands are signed)."""
        entry = self._get_reconfigure_entry()
        backend = Backend(entry.data[CONF_BACKEND])
        if backend is Backend.FLEET:
            self._data = dict(entry.data)
            return await self.async_step_fleet()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = dict(entry.data)
            errors = await self._async_check_credentials(backend, data, user_input)
            if not errors:
                return await self._async_finish_reconfigure(data)
        schema: dict[Any, Any] = {}
        if backend is Backend.CUSTOM:
            schema[vol.Required(CONF_URL, default=entry.data.get(CONF_URL))] = URL_SELECTOR
        schema[vol.Required(CONF_TOKEN)] = TOKEN_SELECTOR
        if backend is Backend.CUSTOM:
            schema[vol.Required(CONF_VERIFY_SSL, default=entry.data.get(CONF_VERIFY_SSL, True))] = (
                selector.BooleanSelector()
            )
        return self.async_show_form(
            step_id="reconfigure", data_schema=vol.Schema(schema), errors=errors
        )

    async def _async_finish_reconfigure(self, data: dict[str, Any]) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        if not self._same_account(entry):
            return self.async_abort(reason="wrong_account")
        return self.async_update_reload_and_abort(entry, data=data)


class WallboxOptionsFlow(OptionsFlowWithReload):
    """General options (PV zone, polling, low targets, API key) and PV surplus charging."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose which options to change."""
        return self.async_show_menu(step_id="init", menu_options=["general", "pv"])

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
        seconds = _box(30, 86400, 1, "s")
        schema = vol.Schema(
            {
                vol.Optional(CONF_PV_ZONE): selector.EntitySelector(
                    selector.EntitySelectorConfig(domain="zone")
                ),
                vol.Required(CONF_ALLOW_LOW_TARGET, default=False): selector.BooleanSelector(),
                vol.Required(CONF_CHARGING_INTERVAL, default=DEFAULT_CHARGING_INTERVAL): seconds,
                vol.Required(
                    CONF_PV_CHARGING_INTERVAL, default=DEFAULT_PV_CHARGING_INTERVAL
                ): seconds,
                vol.Required(
                    CONF_SLEEP_CHECK_INTERVAL, default=DEFAULT_SLEEP_CHECK_INTERVAL
                ): seconds,
                vol.Required(CONF_IDLE_QUIET, default=DEFAULT_IDLE_QUIET): seconds,
                vol.Required(CONF_CONFIRM_DELAY, default=DEFAULT_CONFIRM_DELAY): _box(
                    5, 600, 1, "s"
                ),
                vol.Required(CONF_STALE_AFTER, default=DEFAULT_STALE_AFTER): seconds,
                vol.Required(CONF_WAKE_TIMEOUT, default=DEFAULT_WAKE_TIMEOUT): seconds,
                vol.Required(CONF_REGENERATE_API_KEY, default=False): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="general",
            data_schema=self.add_suggested_values_to_schema(schema, options),
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
        watts, amps, seconds = _box(0, 5000, 10, "W"), _box(1, 48, 1, "A"), _box(0, 3600, 1, "s")
        power_sensor = selector.EntitySelector(
            selector.EntitySelectorConfig(domain="sensor", device_class="power")
        )
        defaults = SurplusSettings()
        schema = vol.Schema(
            {
                vol.Optional(CONF_GRID_SENSOR): power_sensor,
                vol.Required(CONF_INVERT_GRID, default=False): selector.BooleanSelector(),
                vol.Optional(CONF_BATTERY_POWER_SENSOR): power_sensor,
                vol.Required(CONF_INVERT_BATTERY, default=False): selector.BooleanSelector(),
                vol.Optional(CONF_BATTERY_SOC_SENSOR): selector.EntitySelector(
                    selector.EntitySelectorConfig(domain="sensor", device_class="battery")
                ),
                vol.Optional(CONF_BATTERY_PRIORITY_SOC): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=0,
                        max=100,
                        step=1,
                        unit_of_measurement="%",
                        mode=selector.NumberSelectorMode.SLIDER,
                    )
                ),
                vol.Required(CONF_SURPLUS_BUFFER, default=defaults.buffer_w): watts,
                vol.Required(CONF_MIN_AMPS, default=defaults.min_amps): amps,
                vol.Optional(CONF_MAX_AMPS): amps,
                vol.Required(CONF_ENABLE_DELAY, default=defaults.enable_delay): seconds,
                vol.Required(CONF_DISABLE_DELAY, default=defaults.disable_delay): seconds,
                vol.Required(
                    CONF_MIN_COMMAND_INTERVAL, default=defaults.min_command_interval
                ): seconds,
                vol.Required(CONF_MIN_AMPS_STEP, default=defaults.min_amps_step): amps,
                vol.Required(
                    CONF_ASSUMED_PHASES, default=str(defaults.assumed_phases)
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=["1", "2", "3"], mode=selector.SelectSelectorMode.LIST
                    )
                ),
                vol.Required(CONF_ASSUMED_VOLTAGE, default=defaults.assumed_voltage): _box(
                    100, 260, 1, "V"
                ),
            }
        )
        return self.async_show_form(
            step_id="pv",
            data_schema=self.add_suggested_values_to_schema(
                schema, {**options, **(user_input or {})}
            ),
            errors=errors,
        )
