"""The runtime builder: the account's client and, per car, its coordinator, controller, energy
counter and PV runner, wired together and polled once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from http import HTTPStatus
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from . import ble_client, ble_link
from .client import AccountClient, Connect, VehicleClient
from .commands import CANCELLED_BY_STOP
from .const import (
    CONF_BACKEND,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
    LOGGER,
    Backend,
)
from .control import ChargeController
from .coordinator import WallboxCoordinator
from .energy import EnergyCounter
from .errors import AuthError, PaymentRequiredError, TeslaWallboxError, TransientError
from .models import Car, WallboxConfigEntry, WallboxRuntime, car_numbers
from .plan.runner import PlanRunner
from .repairs import async_raise_subscription_issue
from .storage import CALLS_KEY, CarStore
from .stream import CarStreams
from .stream_data import TeslemetryAccount, account_of
from .surplus.runner import SurplusRunner


def verify_ssl(data: Mapping[str, Any]) -> bool:
    """Whether to check the server's certificate (off only for a self-signed tesla-http-proxy)."""
    backend = Backend(data[CONF_BACKEND])
    if backend is Backend.CUSTOM or (backend is Backend.FLEET and data.get(CONF_PROXY_URL)):
        return bool(data.get(CONF_VERIFY_SSL, True))
    return True


def client_session(hass: HomeAssistant, data: Mapping[str, Any]) -> aiohttp.ClientSession:
    """HA's shared session, without certificate checks where the entry turned them off."""
    return async_get_clientsession(hass, verify_ssl=verify_ssl(data))


def account_client(hass: HomeAssistant, data: Mapping[str, Any], connect: Connect) -> AccountClient:
    """The account's client. Tesla's own servers are always verified: only the custom server,
    or the Fleet backend's command proxy, may go without certificate checks."""
    if Backend(data[CONF_BACKEND]) is Backend.CUSTOM:
        return AccountClient(client_session(hass, data), connect, today=_today)
    return AccountClient(
        async_get_clientsession(hass),
        connect,
        today=_today,
        proxy_session=client_session(hass, data),
    )


def _keep_calls(client: VehicleClient, store: CarStore) -> None:
    """Today's billable requests survive a reload or restart, for the cost sensor."""
    client.restore_calls(store.get(client.vin, CALLS_KEY))
    client.calls.on_change = lambda: store.set(client.vin, CALLS_KEY, client.calls.as_dict())


def _shutdown_listener(controller: ChargeController) -> Callable[[Event], None]:
    @callback
    def shut_down(_event: Event) -> None:
        controller.async_shutdown(CANCELLED_BY_STOP)

    return shut_down


def _today() -> date:
    return dt_util.now().date()


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
            # 429 is Tesla's rate limit, not a refusal: no reason to sign in again.
            if 400 <= err.status < 500 and err.status != HTTPStatus.TOO_MANY_REQUESTS:
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


async def _teslemetry_account(
    hass: HomeAssistant, entry: ConfigEntry, account: AccountClient
) -> TeslemetryAccount | None:
    """Teslemetry's metadata, read once at set-up: the stream's server and which cars stream
    (None for the other backends, which have no stream)."""
    if Backend(entry.data[CONF_BACKEND]) is not Backend.TESLEMETRY:
        return None
    try:
        return account_of(await account.metadata())
    except AuthError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except TeslaWallboxError as err:
        key = "cannot_connect"
        if isinstance(err, PaymentRequiredError):
            async_raise_subscription_issue(hass, entry)
            key = err.key
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key=key) from err


async def _async_bluetooth(
    hass: HomeAssistant, entry: WallboxConfigEntry, account: AccountClient, cars: dict[str, Car]
) -> None:
    """The Bluetooth path of each car paired over BLE (while HA's bluetooth integration runs)."""
    paired = {
        vin: address for vin, address in ble_link.paired_cars(entry.options).items() if vin in cars
    }
    if not paired:
        return
    if not ble_client.supported() or not ble_link.bluetooth_loaded(hass):
        LOGGER.warning(
            "Bluetooth is set up for %s, but %s: the cloud serves them",
            ", ".join(cars[vin].name for vin in paired),
            "this tesla-fleet-api has no Bluetooth support"
            if not ble_client.supported()
            else "Home Assistant's Bluetooth integration is not loaded",
        )
        return
    key = await ble_link.async_signing_key(hass, entry, account)  # one key for all the cars
    for vin, address in paired.items():
        car = cars[vin]
        local = ble_client.BluetoothCar(vin, key, ble_link.device_finder(hass, address))
        car.coordinator.client.local = local
        car.bluetooth = address
        entry.async_on_unload(ble_link.async_follow_range(hass, address, car.coordinator))
        entry.async_on_unload(local.disconnect)


async def async_build_runtime(hass: HomeAssistant, entry: WallboxConfigEntry) -> WallboxRuntime:
    """Build the clients, coordinators and controllers, and poll each car once; start the
    stream of the cars that stream."""
    connect = await async_connect(hass, entry)
    account = account_client(hass, entry.data, connect)
    try:
        await account.load_private_key()
    except TeslaWallboxError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="private_key",
            translation_placeholders={"detail": err.detail},
        ) from err
    teslemetry = await _teslemetry_account(hass, entry, account)
    store = CarStore(hass, entry.entry_id)
    await store.async_load()
    entry.async_on_unload(store.async_flush)
    names: dict[str, str] = entry.data.get(CONF_VEHICLES, {})
    cars: dict[str, Car] = {}
    for vin in entry.data[CONF_VINS]:
        client = account.vehicle(vin)
        _keep_calls(client, store)
        name = names.get(vin, vin)
        streams = teslemetry is not None and teslemetry.streams(vin)
        coordinator = WallboxCoordinator(hass, entry, client, store, name, streaming=streams)
        controller = ChargeController(hass, entry, coordinator, client, store)
        number = await car_numbers(hass).async_number(vin)
        energy = EnergyCounter(coordinator, store)
        surplus = SurplusRunner(hass, entry, coordinator, controller, store)
        plan = PlanRunner(hass, entry, coordinator, surplus, store)
        cars[vin] = Car(vin, name, number, coordinator, controller, energy, surplus, plan)
    await _async_bluetooth(hass, entry, account, cars)
    for car in cars.values():
        await car.coordinator.async_config_entry_first_refresh()
        car.energy.async_update()
        # A soft target passed while HA was down: stop now, not one charging interval later.
        car.controller.async_check_soft_target()
        for listener in (car.controller.async_check_soft_target, car.energy.async_update):
            entry.async_on_unload(car.coordinator.async_add_listener(listener))
        entry.async_on_unload(car.surplus.async_start())
        entry.async_on_unload(car.plan.async_start())
        entry.async_on_unload(car.controller.async_shutdown)
        # Home Assistant does not unload entries when it stops: a command or a wake-up still
        # waiting would hold up its shutdown until the car answered. (async_listen, not
        # async_listen_once: its remover stays valid after the event, for a later unload.)
        entry.async_on_unload(
            hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _shutdown_listener(car.controller))
        )
    streaming = {vin: car.coordinator for vin, car in cars.items() if car.coordinator.streaming}
    stream = None
    if teslemetry is not None and streaming:
        stream = CarStreams(
            hass, entry, account, connect.token, server=teslemetry.server, coordinators=streaming
        )
        stream.async_start()
    return WallboxRuntime(account, store, cars, stream)
