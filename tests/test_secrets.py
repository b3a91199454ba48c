"""Secrets: tokens, refresh tokens, private keys and API keys never reach the log or diagnostics,
and the API key is compared in constant time."""

from __future__ import annotations

import json
import logging
from pathlib import Path
import time
from typing import Any
from unittest.mock import patch

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import tesla_fleet_api.tesla.fleet as library_fleet

from custom_components.tesla_wallbox import const, http_api
from custom_components.tesla_wallbox.const import DOMAIN
from fleet_sim import Simulator, VehicleConfig

from .conftest import API_KEY, HOME, TOKEN


@pytest.fixture
def vehicle_configs() -> list[VehicleConfig]:
    """A car plugged in at home, not charging."""
    return [
        VehicleConfig(
            latitude=HOME[0], longitude=HOME[1], plugged_in=True, auto_start_on_plug=False
        )
    ]


def assert_secret_free(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret appears: {secret[:6]}..."


async def test_no_secret_in_debug_log_or_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await hass_client()
    anonymous = await hass_client_no_auth()
    assert (await client.get("/tlwb/1/set_amps?8&wait=10")).status == 200
    assert (await anonymous.get("/tlwb/1/status", headers={"X-API-Key": API_KEY})).status == 200
    assert (await anonymous.get(f"/tlwb/1/control?1&key={API_KEY}&wait=10")).status == 200
    assert (await anonymous.get("/tlwb/1/status?key=not-the-key")).status == 401
    car = next(iter(init_integration.runtime_data.cars.values()))
    await car.coordinator.async_user_refresh()
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert "DEBUG" in {record.levelname for record in caplog.records}
    assert any("tesla_fleet_api" in record.name for record in caplog.records)
    assert_secret_free(caplog.text, [TOKEN, API_KEY])
    assert_secret_free(json.dumps(diagnostics), [TOKEN, API_KEY, sim.url])


async def test_fleet_tokens_and_key_stay_out_of_the_log(
    hass: HomeAssistant,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The OAuth refresh, the region lookup and a signed set-up, all with debug logging on."""
    caplog.set_level(logging.DEBUG)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(pem)
    monkeypatch.setattr(const, "FLEET_TOKEN_URL", f"{sim.url}/oauth2/v3/token")
    monkeypatch.setitem(library_fleet.SERVERS, "na", sim.url)
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential("client-id", "client-secret-value"), DOMAIN
    )
    sim.oauth.refresh_tokens.add("refresh-secret-1")
    vin = sim.vehicle(1).vin
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "auth_implementation": DOMAIN,
            "backend": "fleet",
            "token": {
                "access_token": "old-access-secret",
                "refresh_token": "refresh-secret-1",
                "expires_at": time.time() - 1,
                "expires_in": 0,
            },
            "url": sim.url,
            "vins": [vin],
            "vehicles": {vin: "Car"},
            "private_key": str(key_file),
        },
        options={"pv_zone": "zone.home", "api_key": API_KEY},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    new_refresh = entry.data["token"]["refresh_token"]
    body = pem.decode().splitlines()[1]
    assert_secret_free(
        caplog.text,
        [
            TOKEN,
            "old-access-secret",
            "refresh-secret-1",
            new_refresh,
            "client-secret-value",
            body,
            API_KEY,
        ],
    )


async def test_api_key_compared_in_constant_time(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    calls: list[tuple[Any, Any]] = []
    real = http_api.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    client = await hass_client_no_auth()
    with patch.object(http_api.hmac, "compare_digest", spy):
        assert (await client.get(f"/tlwb/1/status?key={API_KEY}")).status == 200
    assert calls
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


def test_redaction_patterns() -> None:
    from custom_components.tesla_wallbox.log_filter import redact_keys

    assert (
        redact_keys("GET /tlwb/1/status?key=abc123&wait=5") == "GET /tlwb/1/status?key=***&wait=5"
    )
    assert redact_keys("'/tlwb/1/goe/s3cr3t/api/status'") == "'/tlwb/1/goe/***/api/status'"
    assert redact_keys("/tlwb/1/set_amps?16&KEY=x y") == "/tlwb/1/set_amps?16&KEY=*** y"
    assert redact_keys("nothing here") == "nothing here"
