"""Signed commands end to end: the integration with a private key (the library's createSigned,
unpatched) or behind a tesla-http-proxy that signs on its behalf, against a simulated car that
takes signed commands only (the Vehicle Command Protocol's car side, fleet_sim/vcp.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox.const import (
    AMPS_DOUBLE_SEND_BELOW,
    CONF_API_KEY,
    CONF_KEY_DOMAIN,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    DOMAIN,
)
from fleet_sim import Simulator, VehicleConfig
from fleet_sim.http_proxy import HttpProxy

from .conftest import entity_id
from .const import API_KEY, HOME
from .test_fleet_backend import credentials, fleet_entry, tesla_at_sim  # noqa: F401

# A car that takes signed commands only, and knows no key yet. Its protocol clock is the wall
# clock (the library signs with time.time(); these tests move the simulator's clock by hours).
SIGNED_ONLY = VehicleConfig(
    latitude=HOME[0],
    longitude=HOME[1],
    plugged_in=True,
    auto_start_on_plug=False,
    battery_level=50.0,
    requires_signed_commands=True,
    protocol_clock="wall",
)
MODES = ["private_key", "proxy"]


@pytest.fixture
def vehicle_configs() -> list[VehicleConfig]:
    return [SIGNED_ONLY]


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def signer(
    request: pytest.FixtureRequest,
    sim: Simulator,
    signing_key: ec.EllipticCurvePrivateKey,
    tmp_path: Path,
) -> AsyncIterator[dict[str, Any]]:
    """The entry's signing settings: a key file of ours, or a proxy holding the key."""
    if request.param == "private_key":
        path = tmp_path / "private_key.pem"
        path.write_bytes(
            signing_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        yield {CONF_PRIVATE_KEY: str(path)}
        return
    async with HttpProxy(sim.url, signing_key) as proxy:
        yield {CONF_PROXY_URL: proxy.url, "proxy": proxy}


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    sim: Simulator,
    signer: dict[str, Any],
    tesla_at_sim: None,  # noqa: F811 (the fixture imported above)
) -> MockConfigEntry:
    """A Tesla Fleet entry that signs its commands, set up."""
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    settings = {key: value for key, value in signer.items() if key != "proxy"}
    config = fleet_entry(sim, **settings, **{CONF_KEY_DOMAIN: "keys.example.com"})
    config.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config, options={**config.options, CONF_API_KEY: API_KEY}
    )
    assert await hass.config_entries.async_setup(config.entry_id)
    await hass.async_block_till_done()
    assert config.state is ConfigEntryState.LOADED
    return config


def pair(sim: Simulator, key: ec.EllipticCurvePrivateKey) -> None:
    sim.vehicle(1).pair_key(key.public_key())


def commands(sim: Simulator) -> list[tuple[str, dict[str, Any], bool]]:
    return [(record.name, record.body, record.signed) for record in sim.vehicle(1).commands]


async def switch(hass: HomeAssistant, entity: str, on: bool) -> None:
    await hass.services.async_call(
        "switch", "turn_on" if on else "turn_off", {ATTR_ENTITY_ID: entity}, blocking=True
    )


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("signer", MODES, indirect=True)
async def test_signed_commands_drive_the_car(
    hass: HomeAssistant,
    sim: Simulator,
    signer: dict[str, Any],
    signing_key: ec.EllipticCurvePrivateKey,
    entry: MockConfigEntry,
) -> None:
    """Start, stop, a current below 5 A (sent twice, as the car needs), the limit, a wake-up:
    every command reaches the car signed, and the car does what it was told."""
    pair(sim, signing_key)
    vin = sim.vehicle(1).vin
    car = entry.runtime_data.cars[vin]
    charging = entity_id(hass, "switch", vin, "charging")

    await switch(hass, charging, True)
    sim.advance(30)  # Starting, then Charging
    assert sim.vehicle(1).charging_state == "Charging"
    await car.controller.async_set_amps(AMPS_DOUBLE_SEND_BELOW - 2)
    assert sim.vehicle(1).charge_current_request == 3
    await car.controller.async_set_target(70)
    assert sim.vehicle(1).charge_limit_soc == 70
    await switch(hass, charging, False)
    assert sim.vehicle(1).charging_state == "Stopped"

    amps = {"charging_amps": 3}
    assert commands(sim) == [
        ("charge_start", {}, True),
        ("set_charging_amps", amps, True),
        ("set_charging_amps", amps, True),  # below 5 A, a Tesla takes the second one
        ("set_charge_limit", {"percent": 70}, True),
        ("charge_stop", {}, True),
    ]
    if "proxy" in signer:
        assert signer["proxy"].signed == [name for name, _, _ in commands(sim)]

    # Asleep: the Wake up button wakes it (Tesla's wake_up is a plain REST call) and reads it.
    # The simulated car wakes after 20 s of its time: its clock runs 400 times faster here (no
    # frozen clock in this test, so that it can).
    sim.vehicle(1).fall_asleep()
    await car.coordinator.async_user_refresh()
    sim.clock.speed = 400
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", vin, "wake_up")},
        blocking=True,
    )
    assert sim.vehicle(1).state == "online"
    assert sim.ledger.count("wake") == 1
    # Nothing was ever sent unsigned (the car would have answered 403).
    assert all(signed for _, _, signed in commands(sim))
    assert not ir.async_get(hass).issues


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("signer", MODES, indirect=True)
async def test_a_car_that_does_not_know_the_key(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    signer: dict[str, Any],
    signing_key: ec.EllipticCurvePrivateKey,
    entry: MockConfigEntry,
) -> None:
    """Not paired: every way in answers a clear error and a repair issue says where to pair;
    once paired, the next command works, with no restart, and the issue goes."""
    vin = sim.vehicle(1).vin
    charging = entity_id(hass, "switch", vin, "charging")
    url = "https://tesla.com/_ak/keys.example.com"

    with pytest.raises(HomeAssistantError) as raised:
        await switch(hass, charging, True)
    assert raised.value.translation_key == "key_not_paired"
    assert url in str(raised.value)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"key_not_paired_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"title": entry.title, "url": url}

    client = await hass_client_no_auth()
    key = {"X-API-Key": API_KEY}
    response = await client.get("/tlwb/1/control?1&wait=10", headers=key)
    body = await response.json()
    assert (response.status, body["error"]) == (502, "key_not_paired")
    assert url in body["message"]
    response = await client.get(f"/tlwb/1/goe/{API_KEY}/api/set", params={"frc": "2"})
    assert (response.status, await response.json()) == (502, {"frc": "key_not_paired"})
    assert sim.vehicle(1).charging_state == "Stopped"
    assert commands(sim) == []

    sim.vehicle(1).pair_key(signing_key.public_key())  # the user paired it on the phone
    await switch(hass, charging, True)
    assert commands(sim) == [("charge_start", {}, True)]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"key_not_paired_{entry.entry_id}") is None
