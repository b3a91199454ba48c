"""Home Assistant's real bluetooth integration in the test's hass, with the simulator's radio.

No adapter is real here: only what would reach the host's Bluetooth stack is patched (the
adapter discovery over D-Bus, the kernel's management socket behind adapter recovery), as Home
Assistant's own tests do with their ``mock_bluetooth_adapters``. Everything above that (the
manager, scanner registration, the wrapped ``bleak.BleakClient``, availability tracking) is
Home Assistant's and habluetooth's own code. The cars are reached through fleet_sim/ha_radio.py,
a simulated proxy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING
from unittest.mock import patch

from bleak_retry_connector.bleak_manager import get_global_bluez_manager_with_timeout
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from fleet_sim import Simulator

if TYPE_CHECKING:
    from fleet_sim.ha_radio import SimRadio


@pytest.fixture
def mock_bluetooth_adapters() -> Iterator[None]:
    """A Linux host with no Bluetooth adapter, no management socket and no D-Bus."""
    with (
        # bleak-retry-connector's own mark for "this host has no D-Bus socket".
        patch.object(get_global_bluez_manager_with_timeout, "_has_dbus_socket", False, create=True),
        patch("bluetooth_adapters.systems.platform.system", return_value="Linux"),
        patch("bluetooth_adapters.systems.linux.LinuxAdapters.refresh"),
        patch("bluetooth_adapters.systems.linux.LinuxAdapters.adapters", {}),
        patch(
            "habluetooth.channels.bluez.MGMTBluetoothCtl.setup",
            side_effect=OSError("no Bluetooth management socket in tests"),
        ),
    ):
        yield


@pytest.fixture
async def enable_sim_bluetooth(hass: HomeAssistant, mock_bluetooth_adapters: None) -> None:
    """Home Assistant's bluetooth integration, set up without adapters."""
    assert await async_setup_component(hass, "bluetooth", {})
    await hass.async_block_till_done()


@pytest.fixture
async def sim_radio(
    hass: HomeAssistant, enable_sim_bluetooth: None, sim: Simulator
) -> AsyncIterator[SimRadio]:
    """A simulated Bluetooth proxy next to the simulator's cars, advertising them."""
    # Imported here: Home Assistant's bluetooth (and its usb dependency) loads only for the
    # tests that use it.
    from fleet_sim.ha_radio import async_start_sim_radio

    radio = await async_start_sim_radio(hass, sim)
    yield radio
    radio.stop()
