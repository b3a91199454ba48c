"""Diagnostics: what the integration knows and plans; VINs, tokens, keys and places redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant

from .const import (
    CONF_API_KEY,
    CONF_BLUETOOTH,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
)
from .models import WallboxConfigEntry
from .runtime import verify_ssl
from .storage import CarStore

TO_REDACT = {
    CONF_TOKEN,
    CONF_BLUETOOTH,  # {vin: BLE address}
    "address",
    CONF_API_KEY,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_URL,
    CONF_VINS,
    CONF_VEHICLES,
    "access_token",
    "refresh_token",
    "id_token",
    "vin",
    "latitude",
    "longitude",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: WallboxConfigEntry
) -> dict[str, Any]:
    """The entry's settings and each car's state, redacted. An entry that is not loaded (a
    refused token, a retry, a failed set-up) has no runtime: its state, the reason Home Assistant
    gives, and what it stored tell why."""
    settings = {
        "entry_state": entry.state.value,
        "entry_reason": entry.reason,
        "data": dict(entry.data),
        "options": dict(entry.options),
        # Whether certificates are checked in effect (only a custom server or proxy may skip).
        "verify_ssl": verify_ssl(entry.data),
    }
    if entry.state is not ConfigEntryState.LOADED:
        store = CarStore(hass, entry.entry_id)
        await store.async_load()
        # Listed in the entry's order, by position: the store is keyed by VIN.
        stored = [
            {"car": index, **store.values(vin)}
            for index, vin in enumerate(entry.data.get(CONF_VINS, []), start=1)
        ]
        return async_redact_data({**settings, "stored": stored}, TO_REDACT)
    cars = []
    stream = entry.runtime_data.stream
    for car in entry.runtime_data.cars.values():
        coordinator = car.coordinator
        state = coordinator.data
        streamed = stream.car_status(car.vin) if stream and coordinator.streaming else None
        cars.append(
            {
                "number": car.number,
                "status": state.status.key,
                "connection": state.connection,
                "at_pv_location": state.at_pv_location,
                "charge": state.charge.as_dict() if state.charge else None,
                "latitude": state.latitude,
                "longitude": state.longitude,
                "data_time": state.data_time,
                "checked_time": state.checked_time,
                "age": coordinator.age,
                "stale": coordinator.stale,
                "last_error": state.last_error,
                "poll_facts": asdict(coordinator.facts),
                "next_poll": asdict(coordinator.plan) if coordinator.plan else None,
                "soft_target": car.controller.soft_target,
                "last_command": car.controller.last_command.as_dict()
                if car.controller.last_command
                else None,
                "billable_today": dict(coordinator.client.calls.counts),
                "streams": coordinator.streaming,
                "stream": streamed,
                "data_path": coordinator.client.data_path,
                "command_path": coordinator.client.command_path,
                # The BLE address is redacted; whether HA sees the car is not.
                "bluetooth_link": {"address": car.bluetooth, "in_range": car.bluetooth_in_range}
                if car.bluetooth
                else None,
            }
        )
    return async_redact_data({**settings, "cars": cars}, TO_REDACT)
