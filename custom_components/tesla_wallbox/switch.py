"""The charging switch: on starts charging, off stops it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# SwitchDeviceClass: see binary_sensor.py for the ignore.
from homeassistant.components.switch import (  # type: ignore[attr-defined, unused-ignore]
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import WallboxEntity, WallboxEntityDescription, add_car_entities
from .models import WallboxConfigEntry

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class WallboxSwitchDescription(SwitchEntityDescription, WallboxEntityDescription):
    """A switch of one car."""


CHARGING_SWITCH = WallboxSwitchDescription(
    key="charging", translation_key="charging", device_class=SwitchDeviceClass.SWITCH
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging switch of every car."""
    add_car_entities(entry, async_add_entities, WallboxChargingSwitch, [CHARGING_SWITCH])


class WallboxChargingSwitch(WallboxEntity, SwitchEntity):
    """Starts and stops charging."""

    entity_description: WallboxSwitchDescription

    @property
    def is_on(self) -> bool:
        """Whether the car is charging (or starting to)."""
        charge = self.coordinator.data.charge
        return charge is not None and charge.charging

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start charging."""
        await self.car.controller.async_start()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop charging."""
        await self.car.controller.async_stop()
