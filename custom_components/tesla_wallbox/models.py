"""Runtime data of an entry: the account client and, per car, its coordinator and controller."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from .client import AccountClient, AuthError, Connect, TeslaWallboxError, TransientError
from .const import (
    CONF_BACKEND,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
    Backend,
)
from .control import ChargeController
from .coordinator import WallboxCoordinator
from .energy import EnergyCounter
from .storage import CarNumbers, CarStore
from .surplus_runner import SurplusRunner

DATA_CAR_NUMBERS = f"{DOMAIN}_car_numbers"


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


@dataclass
class WallboxRuntime:
    """What a config entry holds while it is loaded."""

    account: AccountClient
    store: CarStore
    cars: dict[str, Car]


type WallboxConfigEntry = ConfigEntry[WallboxRuntime]


def car_numbers(hass: HomeAssistant) -> CarNumbers:
    """The instance-wide car numbers."""
    numbers: CarNumbers | None = hass.data.get(DATA_CAR_NUMBERS)
    if numbers is None:
        numbers = hass.data[DATA_CAR_NUMBERS] = CarNumbers(hass)
    return numbers


async def async_connect(hass: HomeAssistant, entry: ConfigEntry) -> Connect:
    """How to reach the entry's account; for Fleet, with a token that refreshes itself."""
    data = entry.data
    backend = Backend(data[CONF_BACKEND])
    if backend is not Backend.FLEET:
        return Connect(backend, data[CONF_TOKEN], url=data.get(CONF_URL))
    try:
        implementation = await config_entry_oauth2_flow.async_get_config_entry_implementation(
            hass, entry
        )
    except (ValueError, HomeAssistantError) as err:
        # The developer app's credentials were removed, or are not loaded yet.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="oauth_unavailable"
        ) from err
    session = config_entry_oauth2_flow.OAuth2Session(hass, entry, implementation)

    async def access_token() -> str:
        try:
            await session.async_ensure_token_valid()
        except aiohttp.ClientResponseError as err:
            if 400 <= err.status < 500:
                raise AuthError("token refresh refused") from err
            raise TransientError("token refresh failed") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TransientError("token refresh failed") from err
        return str(session.token["access_token"])

    return Connect(
        backend,
        access_token,
        url=data.get(CONF_URL),
        proxy_url=data.get(CONF_PROXY_URL) or None,
        private_key_path=data.get(CONF_PRIVATE_KEY) or None,
    )


async def async_build_runtime(hass: HomeAssistant, entry: WallboxConfigEntry) -> WallboxRuntime:
    """Build the clients, coordinators and controllers, and poll each car once."""
    account = AccountClient(
        async_get_clientsession(hass),
        await async_connect(hass, entry),
        today=lambda: dt_util.now().date(),
    )
    try:
        await account.load_private_key()
    except TeslaWallboxError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="private_key",
            translation_placeholders={"detail": err.detail},
        ) from err
    store = CarStore(hass, entry.entry_id)
    await store.async_load()
    entry.async_on_unload(store.async_flush)
    names: dict[str, str] = entry.data.get(CONF_VEHICLES, {})
    cars: dict[str, Car] = {}
    for vin in entry.data[CONF_VINS]:
        client = account.vehicle(vin)
        name = names.get(vin, vin)
        coordinator = WallboxCoordinator(hass, entry, client, store, name)
        controller = ChargeController(hass, entry, coordinator, client, store)
        number = await car_numbers(hass).async_number(vin)
        energy = EnergyCounter(coordinator, store)
        surplus = SurplusRunner(hass, entry, coordinator, controller, store)
        cars[vin] = Car(vin, name, number, coordinator, controller, energy, surplus)
    for car in cars.values():
        try:
            await car.coordinator.async_config_entry_first_refresh()
        except ConfigEntryAuthFailed:
            raise
        car.energy.async_update()
        for listener in (car.controller.async_check_soft_target, car.energy.async_update):
            entry.async_on_unload(car.coordinator.async_add_listener(listener))
        entry.async_on_unload(car.surplus.async_start())
        entry.async_on_unload(car.controller.async_shutdown)
    return WallboxRuntime(account, store, cars)
