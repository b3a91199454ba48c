"""The forms of the config and options flows, and the checks of what is typed into them.

Also what a new entry is made of besides the answers: its account's id, its title, an API key.
Every form is built here, so that this is the only flow module that imports the schema library.
"""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
import re
import secrets
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL
from homeassistant.helpers import selector
from yarl import URL

from .client import VehicleInfo
from .const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_ASSUMED_PHASES,
    CONF_ASSUMED_VOLTAGE,
    CONF_BACKEND,
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_POWER_SENSOR,
    CONF_BATTERY_PRIORITY_SOC,
    CONF_BATTERY_SOC_SENSOR,
    CONF_CHARGE_EFFICIENCY,
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
    CONF_PRICE_SENSOR,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_PV_CHARGING_INTERVAL,
    CONF_PV_ZONE,
    CONF_SLEEP_CHECK_INTERVAL,
    CONF_SOLAR_FORECAST,
    CONF_STALE_AFTER,
    CONF_SURPLUS_BUFFER,
    CONF_URL,
    CONF_VINS,
    CONF_WAKE_TIMEOUT,
    DEFAULT_CHARGE_EFFICIENCY,
    DEFAULT_CHARGING_INTERVAL,
    DEFAULT_CONFIRM_DELAY,
    DEFAULT_IDLE_QUIET,
    DEFAULT_PV_CHARGING_INTERVAL,
    DEFAULT_SLEEP_CHECK_INTERVAL,
    DEFAULT_STALE_AFTER,
    DEFAULT_WAKE_TIMEOUT,
    Backend,
)
from .surplus import SurplusSettings

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
CONF_VIN = "vin"
CONF_TURN_OFF = "turn_off"
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


# ----- the config flow's forms -----------------------------------------------------------------


def user_schema() -> vol.Schema:
    """Where the car is reached: one of the backends."""
    return vol.Schema(
        {
            vol.Required(CONF_BACKEND, default=Backend.TESLEMETRY.value): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[backend.value for backend in Backend],
                    translation_key=CONF_BACKEND,
                    mode=selector.SelectSelectorMode.LIST,
                )
            )
        }
    )


def credentials_schema(backend: Backend) -> vol.Schema:
    """A token backend's sign-in: the token, and a custom server's URL and certificate check."""
    schema: dict[Any, Any] = {}
    if backend is Backend.CUSTOM:
        schema[vol.Required(CONF_URL)] = URL_SELECTOR
    schema[vol.Required(CONF_TOKEN)] = TOKEN_SELECTOR
    if backend is Backend.CUSTOM:
        schema[vol.Required(CONF_VERIFY_SSL, default=True)] = selector.BooleanSelector()
    return vol.Schema(schema)


def reconfigure_schema(backend: Backend, data: Mapping[str, Any]) -> vol.Schema:
    """A token backend's new token; a custom server's URL and certificate check as they are."""
    schema: dict[Any, Any] = {}
    if backend is Backend.CUSTOM:
        schema[vol.Required(CONF_URL, default=data.get(CONF_URL))] = URL_SELECTOR
    schema[vol.Required(CONF_TOKEN)] = TOKEN_SELECTOR
    if backend is Backend.CUSTOM:
        schema[vol.Required(CONF_VERIFY_SSL, default=data.get(CONF_VERIFY_SSL, True))] = (
            selector.BooleanSelector()
        )
    return vol.Schema(schema)


def reauth_schema() -> vol.Schema:
    """A new token for the same account."""
    return vol.Schema({vol.Required(CONF_TOKEN): TOKEN_SELECTOR})


def fleet_schema() -> vol.Schema:
    """Tesla Fleet: a tesla-http-proxy or a private key that signs commands; the key's domain."""
    return vol.Schema(
        {
            vol.Optional(CONF_PROXY_URL): URL_SELECTOR,
            vol.Required(CONF_VERIFY_SSL, default=True): selector.BooleanSelector(),
            vol.Optional(CONF_PRIVATE_KEY): selector.TextSelector(),
            vol.Optional(CONF_KEY_DOMAIN): selector.TextSelector(),
        }
    )


def vehicles_schema(choices: list[VehicleInfo]) -> vol.Schema:
    """The cars on offer, all of them ticked."""
    return vol.Schema(
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
    )


# ----- the options flow's forms ----------------------------------------------------------------


def general_options_schema() -> vol.Schema:
    """The PV zone, polling intervals, low targets, and whether to make a new API key."""
    seconds = _box(30, 86400, 1, "s")
    return vol.Schema(
        {
            vol.Optional(CONF_PV_ZONE): selector.EntitySelector(
                selector.EntitySelectorConfig(domain="zone")
            ),
            vol.Required(CONF_ALLOW_LOW_TARGET, default=False): selector.BooleanSelector(),
            vol.Required(CONF_CHARGING_INTERVAL, default=DEFAULT_CHARGING_INTERVAL): seconds,
            vol.Required(CONF_PV_CHARGING_INTERVAL, default=DEFAULT_PV_CHARGING_INTERVAL): seconds,
            vol.Required(CONF_SLEEP_CHECK_INTERVAL, default=DEFAULT_SLEEP_CHECK_INTERVAL): seconds,
            vol.Required(CONF_IDLE_QUIET, default=DEFAULT_IDLE_QUIET): seconds,
            vol.Required(CONF_CONFIRM_DELAY, default=DEFAULT_CONFIRM_DELAY): _box(5, 600, 1, "s"),
            vol.Required(CONF_STALE_AFTER, default=DEFAULT_STALE_AFTER): seconds,
            vol.Required(CONF_WAKE_TIMEOUT, default=DEFAULT_WAKE_TIMEOUT): seconds,
            vol.Required(CONF_REGENERATE_API_KEY, default=False): selector.BooleanSelector(),
        }
    )


def pv_options_schema() -> vol.Schema:
    """The grid sensor, the home battery, and how the surplus is followed."""
    watts, amps, seconds = _box(0, 5000, 10, "W"), _box(1, 48, 1, "A"), _box(0, 3600, 1, "s")
    power_sensor = selector.EntitySelector(
        selector.EntitySelectorConfig(domain="sensor", device_class="power")
    )
    defaults = SurplusSettings()
    return vol.Schema(
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
            vol.Required(CONF_MIN_COMMAND_INTERVAL, default=defaults.min_command_interval): seconds,
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


def plan_options_schema(solar_entries: Mapping[str, str]) -> vol.Schema:
    """The price sensor, the PV forecast (a config entry id -> its title), the car's battery."""
    schema: dict[Any, Any] = {
        vol.Optional(CONF_PRICE_SENSOR): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="sensor")
        ),
    }
    if solar_entries:
        schema[vol.Optional(CONF_SOLAR_FORECAST)] = selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[
                    selector.SelectOptionDict(value=entry_id, label=title)
                    for entry_id, title in solar_entries.items()
                ],
                mode=selector.SelectSelectorMode.DROPDOWN,
            )
        )
    schema[vol.Optional(CONF_BATTERY_CAPACITY)] = _box(10, 250, 0.5, "kWh")
    schema[vol.Required(CONF_CHARGE_EFFICIENCY, default=DEFAULT_CHARGE_EFFICIENCY)] = _box(
        50, 100, 1, "%"
    )
    return vol.Schema(schema)


# ----- what is typed in ------------------------------------------------------------------------


def valid_token(value: str) -> str | None:
    """The token if it is one: visible ASCII without spaces, as Tesla's and Teslemetry's are.
    Anything else could not travel in an Authorization header, nor be stored."""
    token = value.strip()
    if token and token.isascii() and token.isprintable() and " " not in token:
        return token
    return None


_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def valid_domain(value: str) -> str | None:
    """A domain name (as in the pairing link tesla.com/_ak/<domain>), also from a pasted URL."""
    text = value.strip().lower()
    if "//" in text:
        url = valid_url(text)
        text = URL(url).host or "" if url else ""
    text = text.rstrip("/.")
    return text if _DOMAIN.fullmatch(text) else None


def valid_url(value: str) -> str | None:
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


def fleet_signing(user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The Fleet form's answers as entry data (proxy, key, its domain), and the form's errors."""
    proxy = (user_input.get(CONF_PROXY_URL) or "").strip()
    key = (user_input.get(CONF_PRIVATE_KEY) or "").strip()
    errors: dict[str, str] = {}
    extra: dict[str, Any] = {
        CONF_PROXY_URL: None,
        CONF_PRIVATE_KEY: None,
        CONF_VERIFY_SSL: bool(user_input.get(CONF_VERIFY_SSL, True)),
    }
    if proxy:
        extra[CONF_PROXY_URL] = valid_url(proxy)
        if extra[CONF_PROXY_URL] is None:
            errors[CONF_PROXY_URL] = "invalid_url"
    if key and not key.isprintable():
        errors[CONF_PRIVATE_KEY] = "private_key_not_found"
    elif key:
        extra[CONF_PRIVATE_KEY] = key
    domain_text = (user_input.get(CONF_KEY_DOMAIN) or "").strip()
    extra[CONF_KEY_DOMAIN] = valid_domain(domain_text) if domain_text else None
    if domain_text and extra[CONF_KEY_DOMAIN] is None:
        errors[CONF_KEY_DOMAIN] = "invalid_domain"
    return extra, errors


# ----- what an entry is made of besides the answers --------------------------------------------


def account_id(vehicles: list[VehicleInfo]) -> str:
    """An account's identity: its cars (the same cars through any backend are the same account)."""
    vins = ",".join(sorted(vehicle.vin for vehicle in vehicles))
    return hashlib.sha256(vins.encode()).hexdigest()[:24]


def entry_title(vins: list[str], vehicles: Mapping[str, str]) -> str:
    """An entry's title: its cars' names."""
    return ", ".join(vehicles.get(vin, vin) for vin in vins)


def new_api_key() -> str:
    """A fresh API key for clients that cannot send HA's bearer token."""
    return secrets.token_urlsafe(24)


def bluetooth_schema(names: Mapping[str, str], vin: str) -> vol.Schema:
    """The Bluetooth step: which car (by name), and whether to turn Bluetooth off for it."""
    cars = [selector.SelectOptionDict(value=key, label=name) for key, name in names.items()]
    return vol.Schema(
        {
            vol.Required(CONF_VIN, default=vin): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=cars, mode=selector.SelectSelectorMode.DROPDOWN
                )
            ),
            vol.Optional(CONF_TURN_OFF, default=False): selector.BooleanSelector(),
        }
    )
