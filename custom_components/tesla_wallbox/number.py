"""Numbers: the charging current, the target SoC, and the departure plan's target SoC."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CAR_LIMIT_MAX
from .entity import WallboxEntity, WallboxEntityDescription, add_car_entities
from .models import Car, WallboxConfigEntry
from .wallbox import effective_target

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class WallboxNumberDescription(NumberEntityDescription, WallboxEntityDescription):
    """A number, how to read it, its range, and how to set it."""

    value_fn: Callable[[Car], int | None]
    min_fn: Callable[[Car], int]
    max_fn: Callable[[Car], int]
    set_fn: Callable[[Car, float], Awaitable[None]]


NUMBERS: tuple[WallboxNumberDescription, ...] = (
    WallboxNumberDescription(
        key="charge_current",
        translation_key="charge_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_step=1,
        mode=NumberMode.SLIDER,
        value_fn=lambda car: (
            car.coordinator.data.charge.charge_current_request
            if car.coordinator.data.charge
            else None
        ),
        min_fn=lambda car: 1,
        max_fn=lambda car: car.controller.max_amps,
        set_fn=lambda car, value: car.controller.async_set_amps(value),
    ),
    WallboxNumberDescription(
        key="charge_limit",
        translation_key="charge_limit",
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_step=1,
        mode=NumberMode.SLIDER,
        value_fn=lambda car: effective_target(
            car.coordinator.data.charge.charge_limit_soc if car.coordinator.data.charge else None,
            car.controller.soft_target,
        ),
        min_fn=lambda car: car.controller.min_target,
        max_fn=lambda car: CAR_LIMIT_MAX,
        set_fn=lambda car, value: car.controller.async_set_target(value),
    ),
    WallboxNumberDescription(
        # The departure plan's target: the plan's own setting, available without car data.
        key="departure_soc",
        translation_key="departure_soc",
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_step=1,
        mode=NumberMode.SLIDER,
        needs_car_data=False,
        follows_pv=True,
        value_fn=lambda car: car.plan.settings.target_soc,
        min_fn=lambda car: 1,
        max_fn=lambda car: CAR_LIMIT_MAX,
        set_fn=lambda car, value: car.plan.async_set_target(value),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the numbers of every car."""
    add_car_entities(entry, async_add_entities, WallboxNumber, NUMBERS)


class WallboxNumber(WallboxEntity, NumberEntity):
    """A number of one car; setting it sends a command through the charge controller."""

    entity_description: WallboxNumberDescription

    @property
    def native_value(self) -> int | None:
        """The current value."""
        return self.entity_description.value_fn(self.car)

    @property
    def native_min_value(self) -> float:
        """The lowest value allowed."""
        return self.entity_description.min_fn(self.car)

    @property
    def native_max_value(self) -> float:
        """The highest value allowed."""
        return self.entity_description.max_fn(self.car)

    async def async_set_native_value(self, value: float) -> None:
        """Send the new value to the car (the controller accepts whole numbers only)."""
        await self.entity_description.set_fn(self.car, value)
