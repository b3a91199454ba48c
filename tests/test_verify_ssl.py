"""A custom server with a self-signed certificate: refused while verified, used once turned off.

The simulator is served over real HTTPS with a fresh self-signed certificate (tests/tls_server.py),
so the certificate check that fails here is aiohttp's own, through HA's shared sessions.
"""

from __future__ import annotations

from pathlib import Path

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox.client import Connect
from custom_components.tesla_wallbox.const import (
    CONF_BACKEND,
    CONF_PROXY_URL,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
    Backend,
)
from custom_components.tesla_wallbox.runtime import account_client, verify_ssl
from fleet_sim import Simulator

from .const import TOKEN
from .tls_server import serve_tls


async def test_custom_server_with_self_signed_certificate(
    hass: HomeAssistant, sim: Simulator, tmp_path: Path
) -> None:
    async with serve_tls(sim, tmp_path) as https_url:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_BACKEND: "custom"}
        )
        # Verification is on by default, and the self-signed certificate is refused.
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: https_url, CONF_TOKEN: TOKEN}
        )
        assert result["errors"] == {"base": "cannot_connect"}
        assert sim.ledger.entries == []  # the request never got through the TLS handshake
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: https_url, CONF_TOKEN: TOKEN, CONF_VERIFY_SSL: False}
        )
        assert result["step_id"] == "vehicles"
        vin = sim.vehicle(1).vin
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_VINS: [vin]}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_VERIFY_SSL] is False
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.LOADED
        # The entry's client uses HA's shared session without certificate checks, and read the car.
        session = entry.runtime_data.account.api.session
        assert session is async_get_clientsession(hass, verify_ssl=False)
        assert session is not async_get_clientsession(hass)
        assert entry.runtime_data.cars[vin].coordinator.data.charge is not None
        assert sim.ledger.count("data") == 1


async def test_reconfigure_turns_verification_off(
    hass: HomeAssistant, sim: Simulator, tmp_path: Path
) -> None:
    vin = sim.vehicle(1).vin
    async with serve_tls(sim, tmp_path) as https_url:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="tls-account",
            data={
                CONF_BACKEND: "custom",
                CONF_URL: https_url,
                CONF_TOKEN: TOKEN,
                CONF_VINS: [vin],
                CONF_VEHICLES: {vin: "Car"},
            },
            options={"pv_zone": "zone.home", "api_key": "k"},
        )
        entry.add_to_hass(hass)
        # An entry from before the option existed verifies: the self-signed server is unreachable.
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_RETRY

        result = await entry.start_reconfigure_flow(hass)
        schema = result["data_schema"].schema
        assert next(key for key in schema if key == CONF_VERIFY_SSL).default() is True
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: https_url, CONF_TOKEN: TOKEN, CONF_VERIFY_SSL: False}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_VERIFY_SSL] is False
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.account.api.session is async_get_clientsession(
            hass, verify_ssl=False
        )
        # Reconfigure shows the stored choice as its default.
        result = await entry.start_reconfigure_flow(hass)
        schema = result["data_schema"].schema
        assert next(key for key in schema if key == CONF_VERIFY_SSL).default() is False
        hass.config_entries.flow.async_abort(result["flow_id"])
        await hass.config_entries.async_unload(entry.entry_id)


async def test_entry_without_the_option_verifies(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A custom entry set up before the option existed keeps the verifying session."""
    assert CONF_VERIFY_SSL not in init_integration.data
    assert init_integration.runtime_data.account.api.session is async_get_clientsession(hass)


def test_only_a_custom_server_or_a_fleet_proxy_can_skip_verification() -> None:
    off = {CONF_VERIFY_SSL: False}
    assert verify_ssl({CONF_BACKEND: "custom", **off}) is False
    assert verify_ssl({CONF_BACKEND: "fleet", CONF_PROXY_URL: "https://proxy:4443", **off}) is False
    # Tesla's, Teslemetry's and Tessie's own servers are always verified.
    assert verify_ssl({CONF_BACKEND: "fleet", CONF_PROXY_URL: None, **off}) is True
    assert verify_ssl({CONF_BACKEND: "teslemetry", **off}) is True
    assert verify_ssl({CONF_BACKEND: "tessie", **off}) is True
    assert verify_ssl({CONF_BACKEND: "custom"}) is True


async def test_fleet_proxy_without_checks_leaves_teslas_servers_verified(
    hass: HomeAssistant,
) -> None:
    """Only the command proxy goes without certificate checks; data still comes from Tesla's
    servers over the verifying session."""
    data = {
        CONF_BACKEND: "fleet",
        CONF_PROXY_URL: "https://proxy.local:4443",
        CONF_VERIFY_SSL: False,
    }
    account = account_client(
        hass,
        data,
        Connect(
            Backend.FLEET,
            TOKEN,
            url="https://fleet-api.prd.eu.vn.cloud.tesla.com",
            proxy_url="https://proxy.local:4443",
        ),
    )
    unverified = async_get_clientsession(hass, verify_ssl=False)
    assert account.api.session is async_get_clientsession(hass)
    assert account.api.session is not unverified
    assert account._command_api.session is unverified
