"""The base entity: a device per car, unique ids from the VIN, availability from freshness."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import WallboxCoordinator
from .models import Car, WallboxConfigEntry

_MODELS = {"S": "Model S", "3": "Model 3", "X": "Model X", "Y": "Model Y", "C": "Cybertruck"}


class WallboxEntity(CoordinatorEntity[WallboxCoordinator]):
    """An entity of one car."""

    _attr_has_entity_name = True
    # Entities that describe the integration itself, not the car's data, stay available.
    needs_car_data = True
    # Entities of PV surplus charging also update after every surplus step.
    follows_pv = False

    def __init__(self, car: Car, description: EntityDescription) -> None:
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
        if self.follows_pv:
            self.async_on_remove(
                self.car.surplus.async_add_listener(self._handle_coordinator_update)
            )

    @property
    def available(self) -> bool:
        """Unavailable once the data is older than stale_after (and before the first read)."""
        if not self.needs_car_data:
            return True
        coordinator = self.coordinator
        return super().available and coordinator.data.charge is not None and not coordinator.stale


def add_car_entities[DescriptionT: EntityDescription](
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[[Car, DescriptionT], WallboxEntity],
    descriptions: Iterable[DescriptionT],
) -> None:
    """Add one entity per car and description (what every platform's set-up does)."""
    wanted = tuple(descriptions)
    async_add_entities(
        entity_class(car, description)
        for car in entry.runtime_data.cars.values()
        for description in wanted
    )
