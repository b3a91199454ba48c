"""Tesla Wallbox: a Tesla that behaves like a smart wallbox."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.typing import ConfigType

from . import ble_link, log_filter
from .api import async_register_views
from .const import CONF_VINS, DOMAIN
from .models import WallboxConfigEntry
from .runtime import async_build_runtime
from .storage import CarStore

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the HTTP API once for all entries, and keep its keys out of the log."""
    log_filter.async_install(hass)
    async_register_views(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: WallboxConfigEntry) -> bool:
    """Connect to the account and set up each car."""
    entry.runtime_data = await async_build_runtime(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: WallboxConfigEntry) -> bool:
    """Unload the platforms; the coordinators stop with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: WallboxConfigEntry, device: DeviceEntry
) -> bool:
    """Let the user delete a car that is no longer part of the entry, never one still set up."""
    vins = set(entry.data.get(CONF_VINS, []))
    return not any(domain == DOMAIN and vin in vins for domain, vin in device.identifiers)


async def async_remove_entry(hass: HomeAssistant, entry: WallboxConfigEntry) -> None:
    """Forget what the entry stored, its own Bluetooth key too."""
    await CarStore(hass, entry.entry_id).async_remove()
    await ble_link.async_remove_key(hass, entry)
