"""Binary sensors: is a cable plugged in, is the car at the PV location, is charging allowed, is
the car in Bluetooth range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Defined in the package before Home Assistant 2026.10, in its const module since (and imported,
# not re-exported, by the package: hence the ignore that only the newer release needs).
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined, unused-ignore]
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .charge_point import charging_enabled
from .const import CONF_PV_ZONE, DEFAULT_PV_ZONE
from .entity import WallboxEntity, WallboxEntityDescription, add_car_entities
from .models import Car, WallboxConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class WallboxBinarySensorDescription(BinarySensorEntityDescription, WallboxEntityDescription):
    """A binary sensor and how to read it from the car."""

    is_on_fn: Callable[[Car], bool | None]  # None: unknown


BINARY_SENSORS: tuple[WallboxBinarySensorDescription, ...] = (
    WallboxBinarySensorDescription(
        key="plugged_in",
        translation_key="plugged_in",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda car: bool(
            car.coordinator.data.charge and car.coordinator.data.charge.plugged_in
        ),
    ),
    WallboxBinarySensorDescription(
        key="at_pv_location",
        translation_key="at_pv_location",
        device_class=BinarySensorDeviceClass.PRESENCE,
        # The PV location may be left empty: then no car is ever at it.
        has_fn=lambda entry: bool(entry.options.get(CONF_PV_ZONE, DEFAULT_PV_ZONE)),
        is_on_fn=lambda car: car.coordinator.data.at_pv_location,
    ),
    WallboxBinarySensorDescription(
        # In range of Home Assistant's Bluetooth (an adapter or a proxy): free and local.
        key="bluetooth",
        translation_key="bluetooth",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        needs_car_data=False,
        car_fn=lambda car: car.bluetooth is not None,
        is_on_fn=lambda car: car.bluetooth_in_range,
    ),
    WallboxBinarySensorDescription(
        # Charging allowed, as a wallbox's enable switch shows it (evcc's "enabled").
        key="charging_enabled",
        translation_key="charging_enabled",
        is_on_fn=lambda car: charging_enabled(car.coordinator.data),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every car."""
    add_car_entities(entry, async_add_entities, WallboxBinarySensor, BINARY_SENSORS)


class WallboxBinarySensor(WallboxEntity, BinarySensorEntity):
    """A binary sensor of one car."""

    entity_description: WallboxBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """Whether the condition holds; None when that is not known."""
        return self.entity_description.is_on_fn(self.car)
