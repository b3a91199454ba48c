"""The base entity: a device per car, unique ids from the VIN, availability from freshness."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeassistant.helpers import entity_platform, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import WallboxCoordinator
from .models import Car, WallboxConfigEntry

_MODELS = {"S": "Model S", "3": "Model 3", "X": "Model X", "Y": "Model Y", "C": "Cybertruck"}


def _always(_owner: object) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class WallboxEntityDescription(EntityDescription):
    """What every entity of a car is described by, beside Home Assistant's own fields."""

    # False: the entity describes the integration itself, not the car's data, and stays available.
    needs_car_data: bool = True
    # True: an entity of PV surplus charging, which also updates after every surplus step.
    follows_pv: bool = False
    # Whether the entry's options give the entity a meaning (no PV figures without a grid sensor).
    has_fn: Callable[[WallboxConfigEntry], bool] = _always
    # Whether the car gives it a meaning (no Bluetooth entity for a car not paired over BLE).
    car_fn: Callable[[Car], bool] = _always


class WallboxEntity(CoordinatorEntity[WallboxCoordinator]):
    """An entity of one car."""

    _attr_has_entity_name = True
    entity_description: WallboxEntityDescription

    def __init__(self, car: Car, description: WallboxEntityDescription) -> None:
        super().__init__(car.coordinator)
        self.car = car
        self.entity_description = description
        self._attr_unique_id = f"{car.vin}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, car.vin)},
            name=car.name,
            manufacturer="Tesla",
            model=_MODELS.get(car.vin[3:4], "Tesla"),
            serial_number=car.vin,
        )

    async def async_added_to_hass(self) -> None:
        """Listen to the coordinator, and to the PV runner where the entity shows its state."""
        await super().async_added_to_hass()
        if self.entity_description.follows_pv:
            self.async_on_remove(
                self.car.surplus.async_add_listener(self._handle_coordinator_update)
            )

    @property
    def available(self) -> bool:
        """Unavailable once the data is older than stale_after (and before the first read)."""
        if not self.entity_description.needs_car_data:
            return True
        coordinator = self.coordinator
        return super().available and coordinator.data.charge is not None and not coordinator.stale


def add_car_entities[DescriptionT: WallboxEntityDescription](
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[[Car, DescriptionT], WallboxEntity],
    descriptions: Iterable[DescriptionT],
) -> None:
    """Add one entity per car and description the options give a meaning (what every platform's
    set-up does). An entity the options no longer have leaves the entity registry: it would only
    stay there as "no longer provided" until the options changed back."""
    described = tuple(descriptions)
    wanted: list[WallboxEntity] = []
    dropped: list[tuple[Car, str]] = []
    for car in entry.runtime_data.cars.values():
        for description in described:
            if description.has_fn(entry) and description.car_fn(car):
                wanted.append(entity_class(car, description))
            else:
                dropped.append((car, description.key))
    if dropped:
        _remove_entities(dropped)
    async_add_entities(wanted)


def _remove_entities(dropped: Iterable[tuple[Car, str]]) -> None:
    """Remove this platform's registry entries of the given cars and description keys."""
    platform = entity_platform.async_get_current_platform()
    registry = er.async_get(platform.hass)
    for car, key in dropped:
        entity_id = registry.async_get_entity_id(platform.domain, DOMAIN, f"{car.vin}_{key}")
        if entity_id is not None:
            registry.async_remove(entity_id)
