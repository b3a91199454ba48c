"""Buttons the user presses on purpose: each one costs a request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import WallboxEntity, WallboxEntityDescription, add_car_entities
from .models import Car, WallboxConfigEntry

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class WallboxButtonDescription(ButtonEntityDescription, WallboxEntityDescription):
    """A button and what it does (pressed on purpose, so never unavailable for old data)."""

    needs_car_data: bool = False

    press_fn: Callable[[Car], Awaitable[None]]


BUTTONS: tuple[WallboxButtonDescription, ...] = (
    WallboxButtonDescription(
        key="wake_up",
        translation_key="wake_up",
        press_fn=lambda car: car.controller.async_wake_up(),
    ),
    WallboxButtonDescription(
        key="refresh",
        translation_key="refresh",
        press_fn=lambda car: car.coordinator.async_user_refresh(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of every car."""
    add_car_entities(entry, async_add_entities, WallboxButton, BUTTONS)


class WallboxButton(WallboxEntity, ButtonEntity):
    """A button of one car."""

    entity_description: WallboxButtonDescription

    async def async_press(self) -> None:
        """Do what the button says."""
        await self.entity_description.press_fn(self.car)
