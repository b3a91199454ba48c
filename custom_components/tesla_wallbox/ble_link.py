"""Home Assistant's side of Bluetooth: where a car is (HA's bluetooth integration, so that local
adapters and ESPHome Bluetooth proxies both work), the key we sign with, and the Bluetooth path
of each paired car.

The options keep, per car, the BLE address found when it was paired (`bluetooth`: {vin: address}).
The key is the Fleet backend's own key when the entry has one (the car knows it already as a
virtual key), else a key of this entry's own, made at the first pairing and kept in HA's private
storage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from . import ble_client
from .const import CONF_BLUETOOTH, DOMAIN, LOGGER

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice

    from .client import AccountClient
    from .coordinator import WallboxCoordinator

BLUETOOTH_DOMAIN = "bluetooth"
KEY_STORE_VERSION = 1


def bluetooth_loaded(hass: HomeAssistant) -> bool:
    """Whether Home Assistant's bluetooth integration is set up (it finds the cars)."""
    return BLUETOOTH_DOMAIN in hass.config.components


def paired_cars(options: Mapping[str, Any]) -> dict[str, str]:
    """The cars paired over Bluetooth: {vin: BLE address}."""
    value = options.get(CONF_BLUETOOTH)
    if not isinstance(value, dict):
        return {}
    return {str(vin): str(address) for vin, address in value.items() if isinstance(address, str)}


@callback
def find_car(hass: HomeAssistant, vin: str) -> str | None:
    """The BLE address of the car with this VIN if Home Assistant sees it advertise now."""
    from homeassistant.components import bluetooth  # noqa: PLC0415

    name = ble_client.ble_name(vin)
    for info in bluetooth.async_discovered_service_info(hass, connectable=True):
        if info.name == name:
            return str(info.address)
    return None


def device_finder(hass: HomeAssistant, address: str) -> Callable[[], BLEDevice | None]:
    """The car's BLEDevice as HA sees it now (the best adapter or proxy), None out of range."""

    def device() -> BLEDevice | None:
        if not bluetooth_loaded(hass):
            return None
        from homeassistant.components import bluetooth  # noqa: PLC0415

        return bluetooth.async_ble_device_from_address(hass, address, connectable=True)

    return device


def key_store_key(entry_id: str) -> str:
    """Where in HA's private storage an entry keeps its own Bluetooth key."""
    return f"{DOMAIN}.{entry_id}.bluetooth_key"


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    """The key as the store keeps it: unencrypted PKCS#8 PEM (the store itself is private)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _key_store(hass: HomeAssistant, entry: ConfigEntry) -> Store[dict[str, str]]:
    return Store(hass, KEY_STORE_VERSION, key_store_key(entry.entry_id), private=True)


async def async_signing_key(
    hass: HomeAssistant, entry: ConfigEntry, account: AccountClient
) -> ec.EllipticCurvePrivateKey:
    """The key commands over BLE are signed with: the Fleet key, else this entry's own."""
    key = account.signing_key
    if key is not None:
        return key
    store = _key_store(hass, entry)
    stored = await store.async_load()
    if stored and isinstance(stored.get("pem"), str):
        loaded = serialization.load_pem_private_key(stored["pem"].encode(), password=None)
        if isinstance(loaded, ec.EllipticCurvePrivateKey):
            return loaded
        LOGGER.warning("The stored Bluetooth key is not a P-256 key: a new one is made")
    made = ec.generate_private_key(ec.SECP256R1())
    await store.async_save({"pem": key_pem(made)})
    return made


async def async_remove_key(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Forget this entry's own key (when the entry is removed)."""
    await _key_store(hass, entry).async_remove()


async def async_bluetooth_car(
    hass: HomeAssistant, entry: ConfigEntry, account: AccountClient, vin: str, address: str
) -> ble_client.BluetoothCar:
    """The Bluetooth path to one car."""
    key = await async_signing_key(hass, entry, account)
    return ble_client.BluetoothCar(vin, key, device_finder(hass, address))


@callback
def async_follow_range(
    hass: HomeAssistant, address: str, coordinator: WallboxCoordinator
) -> Callable[[], None]:
    """Tell the car's entities when it comes into Bluetooth range or leaves it."""
    from homeassistant.components import bluetooth  # noqa: PLC0415

    seen = {"in_range": bluetooth.async_address_present(hass, address, connectable=True)}

    def follow(in_range: bool) -> None:
        # Advertisements come every few seconds: only a change is published.
        if seen["in_range"] != in_range:
            seen["in_range"] = in_range
            coordinator.async_update_listeners()

    @callback
    def advertised(*_args: Any) -> None:
        follow(True)

    @callback
    def gone(*_args: Any) -> None:
        follow(False)

    unsubscribers = [
        bluetooth.async_register_callback(
            hass,
            advertised,
            bluetooth.BluetoothCallbackMatcher(address=address, connectable=True),
            bluetooth.BluetoothScanningMode.ACTIVE,
        ),
        bluetooth.async_track_unavailable(hass, gone, address, connectable=True),
    ]

    def unsubscribe() -> None:
        for unsubscriber in unsubscribers:
            unsubscriber()

    return unsubscribe
