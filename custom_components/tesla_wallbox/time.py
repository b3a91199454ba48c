"""Times: the departures of the plan, the next one (once) and one per weekday."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .entity import WallboxEntity, WallboxEntityDescription, add_car_entities
from .models import Car, WallboxConfigEntry
from .plan import WEEKDAYS

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class WallboxTimeDescription(TimeEntityDescription, WallboxEntityDescription):
    """A time, how to read it, and how to set it."""

    value_fn: Callable[[Car], time | None]
    set_fn: Callable[[Car, time], Awaitable[None]]


def _next(car: Car) -> time | None:
    at = car.plan.settings.next_at
    return None if at is None else dt_util.as_local(at).time().replace(tzinfo=None)


def _weekday(index: int, key: str) -> WallboxTimeDescription:
    assert key == f"departure_{WEEKDAYS[index]}"
    return WallboxTimeDescription(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.CONFIG,
        needs_car_data=False,
        follows_pv=True,
        value_fn=lambda car: car.plan.settings.weekdays[index],
        set_fn=lambda car, value: car.plan.async_set_weekday(index, value),
    )


# The plan's own settings: available without fresh car data.
TIMES: tuple[WallboxTimeDescription, ...] = (
    WallboxTimeDescription(
        key="departure_next",
        translation_key="departure_next",
        needs_car_data=False,
        follows_pv=True,
        value_fn=_next,
        set_fn=lambda car, value: car.plan.async_set_next(value),
    ),
    _weekday(0, "departure_monday"),
    _weekday(1, "departure_tuesday"),
    _weekday(2, "departure_wednesday"),
    _weekday(3, "departure_thursday"),
    _weekday(4, "departure_friday"),
    _weekday(5, "departure_saturday"),
    _weekday(6, "departure_sunday"),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the departure times of every car."""
    add_car_entities(entry, async_add_entities, WallboxTime, TIMES)


class WallboxTime(WallboxEntity, TimeEntity):
    """A departure time of one car."""

    entity_description: WallboxTimeDescription

    @property
    def native_value(self) -> time | None:
        """The time set (unknown: the next departure is the weekday's)."""
        return self.entity_description.value_fn(self.car)

    async def async_set_value(self, value: time) -> None:
        """Set it; the plan is made again."""
        await self.entity_description.set_fn(self.car, value)
