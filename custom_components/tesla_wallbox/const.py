"""Constants for the Tesla Wallbox integration."""

from __future__ import annotations

from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "tesla_wallbox"
LOGGER = logging.getLogger(__package__)


class Backend(StrEnum):
    """Where the integration reaches the car."""

    TESLEMETRY = "teslemetry"
    TESSIE = "tessie"
    FLEET = "fleet"
    CUSTOM = "custom"


# Config entry data
CONF_BACKEND: Final = "backend"
CONF_URL: Final = "url"
CONF_VINS: Final = "vins"
CONF_VEHICLES: Final = "vehicles"  # {vin: display name} as listed at setup
CONF_PROXY_URL: Final = "proxy_url"
CONF_PRIVATE_KEY: Final = "private_key"
# The domain of the Tesla developer app whose key the car must know (the pairing link's domain).
CONF_KEY_DOMAIN: Final = "key_domain"
CONF_REGION: Final = "region"

# Options
CONF_PV_ZONE: Final = "pv_zone"
CONF_CHARGING_INTERVAL: Final = "charging_interval"
CONF_PV_CHARGING_INTERVAL: Final = "pv_charging_interval"
CONF_SLEEP_CHECK_INTERVAL: Final = "sleep_check_interval"
CONF_IDLE_QUIET: Final = "idle_quiet"
CONF_CONFIRM_DELAY: Final = "confirm_delay"
CONF_STALE_AFTER: Final = "stale_after"
CONF_WAKE_TIMEOUT: Final = "wake_timeout"
CONF_ALLOW_LOW_TARGET: Final = "allow_low_target"
CONF_API_KEY: Final = "api_key"
# The cars paired over Bluetooth: {vin: BLE address}.
CONF_BLUETOOTH: Final = "bluetooth"

DEFAULT_PV_ZONE: Final = "zone.home"
DEFAULT_CHARGING_INTERVAL: Final = 600
# While the PV controller sets the current it knows the car's power; the battery level can wait.
DEFAULT_PV_CHARGING_INTERVAL: Final = 3600
DEFAULT_SLEEP_CHECK_INTERVAL: Final = 300
DEFAULT_IDLE_QUIET: Final = 900
DEFAULT_CONFIRM_DELAY: Final = 30
DEFAULT_STALE_AFTER: Final = 1800
DEFAULT_WAKE_TIMEOUT: Final = 90
# The longest Retry-After we honour. Tesla's limits are per minute; a server asking for a year (or
# sending a malformed 1e12) must not lock the car out: an hour is already generous.
MAX_RETRY_AFTER: Final = 3600.0

# Tesla's list prices per billable request (USD), Fleet API pay-per-use.
PRICE_DATA: Final = 0.002
PRICE_COMMAND: Final = 0.001
PRICE_WAKE: Final = 0.02

# The car's own range for set_charge_limit; below it we keep a soft target.
CAR_LIMIT_MIN: Final = 50
CAR_LIMIT_MAX: Final = 100
LOW_TARGET_MIN: Final = 1
# Below this many amps the car needs set_charging_amps twice.
AMPS_DOUBLE_SEND_BELOW: Final = 5

TESLEMETRY_SERVER: Final = "https://api.teslemetry.com"
TESSIE_SERVER: Final = "https://api.tessie.com"
# Teslemetry and Tessie sign commands with their own key: the car must know theirs.
KEY_DOMAINS: Final = {Backend.TESLEMETRY: "teslemetry.com", Backend.TESSIE: "tessie.com"}
PAIRING_URL: Final = "https://tesla.com/_ak/{domain}"
FLEET_AUTHORIZE_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/authorize"
FLEET_TOKEN_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"  # noqa: S105
FLEET_SCOPES: Final = (
    "openid",
    "offline_access",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_charging_cmds",
)

HTTP_BASE: Final = "/tlwb"

# PV surplus charging (options, step "pv")
CONF_GRID_SENSOR: Final = "grid_power_sensor"
CONF_INVERT_GRID: Final = "invert_grid"
CONF_BATTERY_POWER_SENSOR: Final = "battery_power_sensor"
CONF_INVERT_BATTERY: Final = "invert_battery"
CONF_BATTERY_SOC_SENSOR: Final = "battery_soc_sensor"
CONF_BATTERY_PRIORITY_SOC: Final = "battery_priority_soc"
CONF_SURPLUS_BUFFER: Final = "surplus_buffer"
CONF_MIN_AMPS: Final = "min_amps"
CONF_MAX_AMPS: Final = "max_amps"
CONF_ENABLE_DELAY: Final = "enable_delay"
CONF_DISABLE_DELAY: Final = "disable_delay"
CONF_MIN_COMMAND_INTERVAL: Final = "min_command_interval"
CONF_MIN_AMPS_STEP: Final = "min_amps_step"
CONF_ASSUMED_PHASES: Final = "assumed_phases"
CONF_ASSUMED_VOLTAGE: Final = "assumed_voltage"

# Departure plan (options, step "plan")
CONF_PRICE_SENSOR: Final = "price_sensor"
CONF_SOLAR_FORECAST: Final = "solar_forecast"  # the config entry id of a solar forecast
CONF_BATTERY_CAPACITY: Final = "battery_capacity"  # kWh; empty: the model's
CONF_CHARGE_EFFICIENCY: Final = "charge_efficiency"  # %
DEFAULT_CHARGE_EFFICIENCY: Final = 90
