"""What the entry stores stays writable: no text is kept that Home Assistant's JSON store cannot
write, and a refused value is logged and stops nothing else from being saved."""

from __future__ import annotations

import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox.api.goe import STORE_KEY as GOE_KEY
from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_PV_ZONE,
    DOMAIN,
)
from custom_components.tesla_wallbox.storage import SAVE_DELAY, SOFT_TARGET_KEY
from fleet_sim import Simulator

from .conftest import advance
from .const import API_KEY, GOE_API

# JSON strings that are valid JSON, but whose text no UTF-8 file can hold, or is not printable.
UNWRITABLE_NAMES = ['"\\ud800"', '"Garage\\udfff"', '"a\\u0000b"', '"\\u007f"', '"\\u2029"']


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Soft targets (below 50 %) allowed: one of the values the store keeps."""
    return {CONF_PV_ZONE: "zone.home", CONF_API_KEY: API_KEY, CONF_ALLOW_LOW_TARGET: True}


def stored(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    data: dict[str, Any] = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    return data


@pytest.mark.parametrize("name", UNWRITABLE_NAMES)
async def test_a_goe_name_no_store_can_write_is_refused_and_saving_goes_on(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    client = await hass_client_no_auth()
    vin = sim.vehicle(1).vin
    response = await client.get(f"{GOE_API}/set", params={"fna": name})
    assert response.status == 400
    answer = await response.json()
    assert isinstance(answer["fna"], str)  # the refusal's reason, not true
    status = await (await client.get(f"{GOE_API}/status", params={"filter": "fna"})).json()
    assert status == {"fna": sim.vehicle(1).display_name}  # unchanged
    # A good name and a soft target are still saved, to the file.
    response = await client.get(f"{GOE_API}/set", params={"fna": '"Garage"'})
    assert response.status == 200
    await advance(hass, freezer, sim, SAVE_DELAY + 1, step=SAVE_DELAY + 1)
    assert stored(hass_storage, init_integration)[vin][GOE_KEY]["fna"] == "Garage"
    car = init_integration.runtime_data.cars[vin]
    await car.controller.async_set_target(40)
    assert stored(hass_storage, init_integration)[vin][SOFT_TARGET_KEY] == 40
    assert "Error writing config" not in caplog.text


async def test_a_value_no_json_file_can_hold_is_logged_and_not_kept(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store's last line of defence, for any text that got past the checks at the door."""
    store = init_integration.runtime_data.store
    vin = sim.vehicle(1).vin
    for key, value in (("goe", {"fna": "\udc80"}), ("ratio", float("nan")), ("when", object())):
        with caplog.at_level(logging.ERROR):
            store.set(vin, key, value)
            await store.async_set_now(vin, key, value)
        assert store.get(vin, key) is None
        records = [r for r in caplog.records if r.getMessage().startswith("Not stored")]
        assert len(records) == 2
        # The record itself can be written anywhere: ASCII only.
        assert all(record.getMessage().isascii() for record in records)
        caplog.clear()
    store.set(vin, "note", "still saved")
    await advance(hass, freezer, sim, SAVE_DELAY + 1, step=SAVE_DELAY + 1)
    assert stored(hass_storage, init_integration)[vin]["note"] == "still saved"
    assert "goe" not in stored(hass_storage, init_integration)[vin]
