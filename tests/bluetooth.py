"""Home Assistant's real bluetooth integration in the test's hass, with the simulator's radio.

Home Assistant's own Bluetooth test helpers (pytest-homeassistant-custom-component's
``enable_bluetooth``: a host adapter that is not real, its scanner not started) set the
integration up; everything above that (the manager, scanner registration, the wrapped
``bleak.BleakClient``, availability tracking) is Home Assistant's and habluetooth's own code. The
cars are reached through fleet_sim/ha_radio.py, a simulated proxy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
import pytest

from fleet_sim import Simulator

if TYPE_CHECKING:
    from fleet_sim.ha_radio import SimRadio


@pytest.fixture
async def sim_radio(
    hass: HomeAssistant, enable_bluetooth: None, sim: Simulator
) -> AsyncIterator[SimRadio]:
    """A simulated Bluetooth proxy next to the simulator's cars, advertising them."""
    # Imported here: Home Assistant's bluetooth (and its usb dependency) loads only for the
    # tests that use it.
    from fleet_sim.ha_radio import async_start_sim_radio

    radio = await async_start_sim_radio(hass, sim)
    yield radio
    radio.stop()
