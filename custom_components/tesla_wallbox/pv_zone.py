"""The PV zone of an entry: whether a car's position is at the PV location (where it charges
from the home's surplus), and a call whenever the zone moves or changes its radius."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.zone import in_zone
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from .const import CONF_PV_ZONE, DEFAULT_PV_ZONE


class PvZone:
    """One zone entity, or none (then there is no PV location)."""

    def __init__(self, hass: HomeAssistant, entity_id: str | None) -> None:
        self.hass = hass
        self.entity_id = entity_id
        self._unsub: CALLBACK_TYPE | None = None

    @classmethod
    def from_options(cls, hass: HomeAssistant, options: Mapping[str, Any]) -> PvZone:
        """The entry's PV zone; an empty option is none."""
        return cls(hass, options.get(CONF_PV_ZONE, DEFAULT_PV_ZONE) or None)

    def contains(self, position: tuple[float, float] | None) -> bool | None:
        """Whether a position lies inside the PV zone: False without a PV zone (there is no PV
        location), None when it cannot be told (no position, or the zone entity is missing)."""
        if self.entity_id is None:
            return False
        zone = self.hass.states.get(self.entity_id)
        if position is None or zone is None:
            return None
        return in_zone(zone, *position)

    @callback
    def async_track(self, changed: Callable[[], None]) -> None:
        """Call `changed` whenever the zone entity changes, until async_untrack."""
        if self.entity_id is None:
            return

        @callback
        def on_change(_event: Event[EventStateChangedData]) -> None:
            changed()

        self._unsub = async_track_state_change_event(self.hass, [self.entity_id], on_change)

    @callback
    def async_untrack(self) -> None:
        """Stop calling."""
        if self._unsub:
            self._unsub()
            self._unsub = None
