"""The charge mode: who decides when and how fast the car charges."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import WallboxEntity, WallboxEntityDescription, add_car_entities
from .models import WallboxConfigEntry
from .surplus import ChargeMode

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class WallboxSelectDescription(SelectEntityDescription, WallboxEntityDescription):
    """A select of one car."""


# The mode is the integration's own setting: it stays available without fresh car data.
CHARGE_MODE = WallboxSelectDescription(
    key="charge_mode",
    translation_key="charge_mode",
    options=[mode.value for mode in ChargeMode],
    needs_car_data=False,
    follows_pv=True,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charge mode of every car."""
    add_car_entities(entry, async_add_entities, ChargeModeSelect, [CHARGE_MODE])


class ChargeModeSelect(WallboxEntity, SelectEntity):
    """manual, off, pv, min_pv or fast; kept across restarts."""

    entity_description: WallboxSelectDescription

    @property
    def current_option(self) -> str:
        """The mode in force."""
        return self.car.surplus.mode.value

    async def async_select_option(self, option: str) -> None:
        """Switch the mode."""
        await self.car.surplus.async_set_mode(ChargeMode(option))
