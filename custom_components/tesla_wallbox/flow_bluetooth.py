"""The options flow's Bluetooth steps: find a car over BLE by its name, pair our key with it (the
user taps a key card on the console when the car asks), or turn Bluetooth off for a car.

The car is found through Home Assistant's bluetooth integration (local adapters and ESPHome
proxies). A car that knows our key already (the Fleet backend's key, paired as a virtual key) is
taken without a tap.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow

from . import ble_client, ble_link
from .const import CONF_BLUETOOTH, CONF_VEHICLES, CONF_VINS, LOGGER
from .errors import KeyNotPairedError, TeslaWallboxError
from .flow_schemas import CONF_TURN_OFF, CONF_VIN, bluetooth_schema

if TYPE_CHECKING:
    from .models import WallboxRuntime

# How long the car waits for the key card (the library's own default is 5 minutes).
PAIR_TIMEOUT = 120.0


class BluetoothOptionsMixin(OptionsFlow):
    """Steps `bluetooth`, `bluetooth_pair`, `bluetooth_paired` and `bluetooth_failed`."""

    _ble_vin: str | None = None
    _ble_address: str | None = None
    _ble_error: str | None = None
    _pair_task: asyncio.Task[None] | None = None

    def _car_names(self) -> dict[str, str]:
        names: dict[str, str] = self.config_entry.data.get(CONF_VEHICLES, {})
        return {vin: names.get(vin, vin) for vin in self.config_entry.data[CONF_VINS]}

    def _bluetooth_form(self, errors: dict[str, str] | None = None) -> ConfigFlowResult:
        names = self._car_names()
        paired = ble_link.paired_cars(self.config_entry.options)
        schema = bluetooth_schema(names, self._ble_vin or next(iter(names)))
        listed = ", ".join(f"{names.get(vin, vin)} ({address})" for vin, address in paired.items())
        return self.async_show_form(
            step_id="bluetooth",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "paired": listed or "-",
                "name": ble_client.ble_name(self._ble_vin) if self._ble_vin else "",
            },
        )

    async def async_step_bluetooth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a car to pair over Bluetooth, or turn Bluetooth off for it."""
        if not ble_client.supported():
            return self.async_abort(reason="bluetooth_unsupported")
        if not ble_link.bluetooth_loaded(self.hass):
            return self.async_abort(reason="bluetooth_unavailable")
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        if user_input is None:
            return self._bluetooth_form()
        vin = str(user_input[CONF_VIN])  # one of the entry's: the selector refuses others
        self._ble_vin = vin
        options = dict(self.config_entry.options)
        paired = ble_link.paired_cars(options)
        if user_input.get(CONF_TURN_OFF):
            paired.pop(vin, None)
            return self.async_create_entry(data={**options, CONF_BLUETOOTH: paired})
        address = ble_link.find_car(self.hass, vin)
        if address is None:
            return self._bluetooth_form({"base": "car_not_found"})
        self._ble_address = address
        return await self.async_step_bluetooth_pair()

    async def async_step_bluetooth_pair(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pair our key with the car: the car asks for a key card tap."""
        if self._pair_task is None:
            self._pair_task = self.hass.async_create_task(self._async_pair(), eager_start=False)
        if not self._pair_task.done():
            return self.async_show_progress(
                step_id="bluetooth_pair",
                progress_action="pair",
                progress_task=self._pair_task,
                description_placeholders={"name": self._car_names()[self._ble_vin or ""]},
            )
        self._pair_task = None
        if self._ble_error is not None:
            return self.async_show_progress_done(next_step_id="bluetooth_failed")
        return self.async_show_progress_done(next_step_id="bluetooth_paired")

    async def _async_pair(self) -> None:
        vin, address = self._ble_vin, self._ble_address
        assert vin is not None
        assert address is not None
        runtime: WallboxRuntime = self.config_entry.runtime_data
        self._ble_error = None
        car = await ble_link.async_bluetooth_car(
            self.hass, self.config_entry, runtime.account, vin, address
        )
        try:
            if not await car.knows_key() and not await car.pair(PAIR_TIMEOUT):
                self._ble_error = "pairing_timeout"
        except KeyNotPairedError as err:
            LOGGER.warning("The car refused the Bluetooth pairing: %s", err.detail)
            self._ble_error = "pairing_refused"
        except TeslaWallboxError as err:
            LOGGER.warning("Bluetooth pairing did not finish: %s", err.detail)
            self._ble_error = "pairing_failed"
        finally:
            await car.disconnect()

    async def async_step_bluetooth_paired(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The car knows our key: keep its address (the entry reloads with the Bluetooth path)."""
        assert self._ble_vin is not None
        assert self._ble_address is not None
        options = dict(self.config_entry.options)
        paired = {**ble_link.paired_cars(options), self._ble_vin: self._ble_address}
        return self.async_create_entry(data={**options, CONF_BLUETOOTH: paired})

    async def async_step_bluetooth_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pairing failed: the car form again, saying why."""
        error = self._ble_error or "pairing_failed"
        self._ble_error = None
        return self._bluetooth_form({"base": error})
