"""What survives a restart: per-car intent and last data, and the instance-wide car numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER, MAX_RETRY_AFTER
from .vehicle_data import ChargeData, position_of
from .wallbox import WallboxState

STORAGE_VERSION = 1
SAVE_DELAY = 5.0
CAR_NUMBERS_KEY = f"{DOMAIN}.car_numbers"
# Per-car keys
SOFT_TARGET_KEY = "soft_target"
CALLS_KEY = "calls"  # today's billable requests: {"day": "2026-11-23", "counts": {"data": 3}}
NOT_BEFORE_KEY = "not_before"  # a 429's Retry-After, as epoch seconds
LAST_COMMAND_KEY = "last_command"  # the last command and its outcome (CommandRecord.as_dict)
STATE_KEY = "state"  # the last data read (store_state)


class CarStore:
    """Per-car records of one config entry: {vin: {field: value}} in one file."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, dict[str, Any]]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}"
        )
        self._data: dict[str, dict[str, Any]] = {}

    async def async_load(self) -> None:
        """Read the file once at setup."""
        self._data = await self._store.async_load() or {}

    def get(self, vin: str, key: str, default: Any = None) -> Any:
        """A stored value for a car."""
        return self._data.get(vin, {}).get(key, default)

    def values(self, vin: str) -> dict[str, Any]:
        """Everything stored for a car (a copy)."""
        return dict(self._data.get(vin, {}))

    def set(self, vin: str, key: str, value: Any) -> None:
        """Store a value; written to disk a few seconds later. A value no JSON file can hold is
        refused and logged: kept, it would make every later write of the file fail."""
        if _storable(key, value):
            self._data.setdefault(vin, {})[key] = value
            self._store.async_delay_save(self._snapshot, SAVE_DELAY)

    async def async_set_now(self, vin: str, key: str, value: Any) -> None:
        """Store a value the user just chose, and write it before returning (see set())."""
        if _storable(key, value):
            self._data.setdefault(vin, {})[key] = value
            await self._store.async_save(self._snapshot())

    async def async_flush(self) -> None:
        """Write what is pending now (at unload, so that a reload reads it back)."""
        await self._store.async_save(self._snapshot())

    def _snapshot(self) -> dict[str, dict[str, Any]]:
        return {vin: dict(values) for vin, values in self._data.items()}

    async def async_remove(self) -> None:
        """Delete the file when the entry is removed."""
        await self._store.async_remove()


def _storable(key: str, value: Any) -> bool:
    """Whether Home Assistant's JSON store can write the value: JSON types only, finite numbers,
    and text that is valid UTF-8 (a lone surrogate is not, though Python strings can hold one)."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as err:  # UnicodeEncodeError is a ValueError
        # ascii(): the record must be printable itself, or the log loses it too.
        LOGGER.error("Not stored, since no JSON file can hold it: %s (%s)", key, ascii(str(err)))
        return False
    return True


def restore_not_before(store: CarStore, vin: str, now: float, name: str) -> float | None:
    """A Retry-After from before a restart that has not passed yet: it still holds. One further
    off than we would ever honour (stored by an older version) is dropped."""
    not_before = store.get(vin, NOT_BEFORE_KEY)
    if not isinstance(not_before, (int, float)) or not now < not_before:
        return None
    if not_before > now + MAX_RETRY_AFTER:
        LOGGER.info("%s: a stored Retry-After beyond %d s was dropped", name, MAX_RETRY_AFTER)
        store.set(vin, NOT_BEFORE_KEY, None)
        return None
    return float(not_before)


def store_not_before(store: CarStore, vin: str, not_before: float) -> None:
    """A 429's Retry-After holds across restarts."""
    store.set(vin, NOT_BEFORE_KEY, not_before)


def restore_state(
    store: CarStore,
    vin: str,
    at_pv_location: Callable[[tuple[float, float] | None], bool | None],
) -> WallboxState:
    """The last data from before a restart: a sleeping car's charge state does not change."""
    stored = store.get(vin, STATE_KEY)
    if not isinstance(stored, dict):
        return WallboxState(vin=vin).with_position(None, at_pv_location(None))
    charge = stored.get("charge")
    position = position_of(stored)
    session_place = stored.get("session_at_pv_location")
    # A car asleep at home after a restart is still at home: PV modes may act on it.
    return WallboxState(
        vin=vin,
        charge=ChargeData.from_api(charge) if isinstance(charge, dict) else None,
        data_time=stored.get("data_time"),
        confirmed_time=stored.get("confirmed_time"),
        session_charged=bool(stored.get("session_charged")),
        session_at_pv_location=session_place if isinstance(session_place, bool) else None,
    ).with_position(position, at_pv_location(position))


def store_state(store: CarStore, vin: str, state: WallboxState) -> None:
    """Keep the data of a read for the next start (restore_state)."""
    store.set(
        vin,
        STATE_KEY,
        {
            "charge": state.charge.as_dict() if state.charge else None,
            "latitude": state.latitude,
            "longitude": state.longitude,
            "data_time": state.data_time,
            "confirmed_time": state.confirmed_time,
            "session_charged": state.session_charged,
            "session_at_pv_location": state.session_at_pv_location,
        },
    )


class CarNumbers:
    """Short car numbers (1, 2, ...) for the HTTP API: given once per VIN, never reused."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._store: Store[dict[str, int]] = Store(hass, STORAGE_VERSION, CAR_NUMBERS_KEY)
        self._numbers: dict[str, int] | None = None
        self._lock = asyncio.Lock()

    def known(self) -> dict[str, int] | None:
        """The numbers given so far; None before the first entry asked (not read yet)."""
        return None if self._numbers is None else dict(self._numbers)

    async def async_number(self, vin: str) -> int:
        """The VIN's number, assigning the next free one the first time."""
        async with self._lock:  # two entries setting up at once must not get the same number
            if self._numbers is None:
                self._numbers = await self._store.async_load() or {}
            if vin not in self._numbers:
                self._numbers[vin] = max(self._numbers.values(), default=0) + 1
                await self._store.async_save(dict(self._numbers))
            return self._numbers[vin]
