"""The staleness watch of one car: its entities go unavailable once the last contact is older
than stale_after, with one log line when that happens and one when contact is back.

While the car's stream is up (live), contact is continuous: an asleep car sends nothing, and the
stream would tell if it woke. When the stream goes down, the coordinator takes that moment as the
last contact, so stale_after counts from when the stream was last known good.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .policy import is_stale
from .wallbox import WallboxState


class StalenessWatch:
    """Logs the moment a coordinator's data goes stale and when it recovers, and wakes the
    entities at that moment."""

    def __init__(
        self, coordinator: DataUpdateCoordinator[WallboxState], stale_after: float
    ) -> None:
        self._coordinator = coordinator
        self.stale_after = stale_after
        self._was_stale = False
        self._unsub: CALLBACK_TYPE | None = None
        self.live = False  # the car's stream is up

    def stale(self, now: float) -> bool:
        """Whether the published state's last contact is older than stale_after."""
        return not self.live and is_stale(
            now, self._coordinator.data.checked_time, self.stale_after
        )

    @callback
    def async_check(self, checked_time: float | None, now: float) -> None:
        """After a poll (of a state not published yet): log a change, and time the next one."""
        stale = not self.live and is_stale(now, checked_time, self.stale_after)
        name = self._coordinator.name
        if stale and not self._was_stale and checked_time is not None:
            LOGGER.warning(
                "No contact with %s for over %.0f s: its entities are unavailable until it answers",
                name,
                self.stale_after,
            )
        elif self._was_stale and not stale:
            LOGGER.info("Contact with %s is back", name)
        self._was_stale = stale
        self.async_cancel()
        if not stale and not self.live and checked_time is not None:
            self._unsub = async_track_point_in_utc_time(
                self._coordinator.hass,
                self._on_stale_due,
                dt_util.utc_from_timestamp(checked_time + self.stale_after + 0.001),
            )

    @callback
    def _on_stale_due(self, _when: datetime) -> None:
        self._unsub = None
        self.async_check(self._coordinator.data.checked_time, dt_util.utcnow().timestamp())
        self._coordinator.async_update_listeners()

    @callback
    def async_cancel(self) -> None:
        """Cancel the timer."""
        if self._unsub:
            self._unsub()
            self._unsub = None
