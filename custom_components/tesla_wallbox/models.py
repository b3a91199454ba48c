"""What an entry holds while it is loaded: its cars, their parts, and the entry's type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .storage import CarNumbers

if TYPE_CHECKING:
    from .client import AccountClient
    from .control import ChargeController
    from .coordinator import WallboxCoordinator
    from .energy import EnergyCounter
    from .plan.runner import PlanRunner
    from .storage import CarStore
    from .stream import CarStreams
    from .surplus.runner import SurplusRunner

# The instance-wide car numbers, shared by every entry.
DATA_CAR_NUMBERS: HassKey[CarNumbers] = HassKey(f"{DOMAIN}_car_numbers")


@dataclass
class Car:
    """One car of an entry: what its entities and the HTTP API work with."""

    vin: str
    name: str
    number: int
    coordinator: WallboxCoordinator
    controller: ChargeController
    energy: EnergyCounter
    surplus: SurplusRunner
    plan: PlanRunner  # the departure plan (plan mode)
    bluetooth: str | None = None  # the BLE address, when the car is paired over Bluetooth

    @property
    def bluetooth_in_range(self) -> bool:
        """Whether Home Assistant sees the car over Bluetooth now (False without Bluetooth)."""
        return self.coordinator.client.bluetooth_in_range


@dataclass
class WallboxRuntime:
    """What a config entry holds while it is loaded."""

    account: AccountClient
    store: CarStore
    cars: dict[str, Car]
    stream: CarStreams | None = None  # Teslemetry's stream, when a car of the entry streams


type WallboxConfigEntry = ConfigEntry[WallboxRuntime]


def car_numbers(hass: HomeAssistant) -> CarNumbers:
    """The instance-wide car numbers."""
    numbers = hass.data.get(DATA_CAR_NUMBERS)
    if numbers is None:
        numbers = hass.data[DATA_CAR_NUMBERS] = CarNumbers(hass)
    return numbers
