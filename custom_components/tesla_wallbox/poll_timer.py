"""The timer of one car's next poll, set for the moment the polling policy plans."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
import random
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .policy import PollFacts, PollPlan, PollSettings, plan_next


class PollTimer:
    """Plans the next poll and runs `refresh` at its moment, as a background task of the entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        name: str,
        refresh: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self.hass = hass
        self._entry = entry
        self.name = name
        self._refresh = refresh
        self._unsub: CALLBACK_TYPE | None = None
        self._closed = False

    @callback
    def async_schedule(
        self, now: float, facts: PollFacts, settings: PollSettings
    ) -> PollPlan | None:
        """Plan the next poll and set the timer for it; None once closed, or when nothing is
        polled on a timer (a car that streams)."""
        if self._closed:
            return None
        plan = plan_next(now, facts, settings, jitter=random.random())
        if self._unsub:
            self._unsub()
            self._unsub = None
        if plan is None:
            LOGGER.debug("%s: no timed poll, the stream tells", self.name)
            return None
        self._unsub = async_track_point_in_utc_time(
            self.hass, self._on_due, dt_util.utc_from_timestamp(plan.at)
        )
        LOGGER.debug(
            "%s: next poll %s in %.0f s (%s)", self.name, plan.kind, plan.at - now, plan.reason
        )
        return plan

    @callback
    def _on_due(self, _when: datetime) -> None:
        self._unsub = None
        self._entry.async_create_background_task(self.hass, self._refresh(), f"{self.name} poll")

    @callback
    def async_close(self) -> None:
        """Cancel the timer; nothing is planned any more."""
        self._closed = True
        if self._unsub:
            self._unsub()
            self._unsub = None
