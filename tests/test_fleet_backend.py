"""The Tesla Fleet backend: OAuth sign-in with the user's developer app, region lookup, signing.

The simulator serves Tesla's token endpoint, so the sign-in and the token refresh run over real
HTTP. One thing it cannot reach is redirected here: the library's hard-coded regional server list
(so that find_server() asks the simulator). Signed commands run unpatched against the simulated
car's Vehicle Command Protocol: tests/test_signed_commands.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import time
from typing import Any
from unittest.mock import patch

from homeassistant import exceptions
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import tesla_fleet_api.tesla.fleet as library_fleet

from custom_components.tesla_wallbox import const
from custom_components.tesla_wallbox.const import (
    CONF_BACKEND,
    CONF_KEY_DOMAIN,
    CONF_PRIVATE_KEY,
    CONF_PROXY_URL,
    CONF_REGION,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
)
from fleet_sim import Simulator, VehicleConfig

from .const import HOME, TOKEN
from .tls_server import serve_tls

REDIRECT = "https://example.com/auth/external/callback"


@pytest.fixture
def tesla_at_sim(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tesla's token URL and regional servers, pointed at the simulator."""
    monkeypatch.setattr(const, "FLEET_TOKEN_URL", f"{sim.url}/oauth2/v3/token")
    with patch.dict(library_fleet.SERVERS, {"na": sim.url, "eu": sim.url, "cn": sim.url}):
        yield


@pytest.fixture
async def credentials(hass: HomeAssistant) -> None:
    """The user's Tesla developer app, added as application credentials."""
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential("client-id", "client-secret", name="Tesla app"), DOMAIN
    )


async def _sign_in(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    flow_id: str,
    url: str,
    code: str,
) -> dict[str, Any]:
    assert url.startswith(const.FLEET_AUTHORIZE_URL)
    assert "vehicle_charging_cmds" in url
    assert "vehicle_location" in url
    state = config_entry_oauth2_flow._encode_jwt(
        hass, {"flow_id": flow_id, "redirect_uri": REDIRECT}
    )
    client = await hass_client_no_auth()
    response = await client.get(f"/auth/external/callback?code={code}&state={state}")
    assert response.status == 200
    return await hass.config_entries.flow.async_configure(flow_id)


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
async def test_fleet_sign_in_to_entry(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: "fleet"}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    result = await _sign_in(hass, hass_client_no_auth, result["flow_id"], result["url"], "code-1")
    assert result["step_id"] == "fleet"
    assert sim.oauth.exchanges == ["authorization_code"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PROXY_URL: "not-a-url"}
    )
    assert result["errors"] == {CONF_PROXY_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PRIVATE_KEY: "/nonexistent/key.pem"}
    )
    assert result["errors"] == {CONF_PRIVATE_KEY: "private_key_not_found"}
    # A path with a control character or a lone surrogate could not be stored in the entry.
    for path in ("/keys/a\u0000b.pem", "/keys/\udcff.pem"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PRIVATE_KEY: path}
        )
        assert result["errors"] == {CONF_PRIVATE_KEY: "private_key_not_found"}
    for domain in ("not a domain", "example", "https://"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_KEY_DOMAIN: domain}
        )
        assert result["errors"] == {CONF_KEY_DOMAIN: "invalid_domain"}
    # The app's domain, for the pairing link; pasted as a URL, it is still the domain.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEY_DOMAIN: " https://Keys.Example.com/ "}
    )
    assert result["step_id"] == "vehicles"
    vin = sim.vehicle(1).vin
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_VINS: [vin]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert data[CONF_KEY_DOMAIN] == "keys.example.com"
    assert data[CONF_BACKEND] == "fleet"
    assert data[CONF_REGION] == "eu"
    assert data[CONF_URL] == sim.url
    assert data[CONF_TOKEN]["access_token"] == TOKEN
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.cars[vin].coordinator.data.charge is not None


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
async def test_fleet_sign_in_refused(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: "fleet"}
    )
    result = await _sign_in(hass, hass_client_no_auth, result["flow_id"], result["url"], "refused")
    assert result["type"] is FlowResultType.ABORT
    # The simulator refuses the code with a 400, as Tesla does. Home Assistant's OAuth helper names
    # the abort: "oauth_failed" up to 2026.2; since it maps token errors (OAuth2TokenRequestReauthError,
    # 2026.10), any 4xx is "oauth_unauthorized". Both are translated.
    refused = hasattr(exceptions, "OAuth2TokenRequestReauthError")
    assert result["reason"] == ("oauth_unauthorized" if refused else "oauth_failed")


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
async def test_fleet_region_lookup_refused(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    sim.faults.add(status=401, path="/users/region", count=None)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: "fleet"}
    )
    result = await _sign_in(hass, hass_client_no_auth, result["flow_id"], result["url"], "code-2")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_auth"


async def test_entry_without_credentials_retries(hass: HomeAssistant, sim: Simulator) -> None:
    assert await async_setup_component(hass, "application_credentials", {})
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_fleet_without_credentials(hass: HomeAssistant, sim: Simulator) -> None:
    assert await async_setup_component(hass, "application_credentials", {})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: "fleet"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "missing_credentials"


def fleet_entry(sim: Simulator, **extra: Any) -> MockConfigEntry:
    vin = sim.vehicle(1).vin
    return MockConfigEntry(
        domain=DOMAIN,
        title="Fleet",
        unique_id="fleet-account",
        data={
            "auth_implementation": DOMAIN,
            CONF_BACKEND: "fleet",
            CONF_TOKEN: {
                "access_token": "expired",
                "refresh_token": "sim-refresh-seeded",
                "expires_at": time.time() - 10,
                "expires_in": 0,
                "token_type": "Bearer",
            },
            CONF_REGION: "eu",
            CONF_URL: sim.url,
            CONF_VINS: [vin],
            CONF_VEHICLES: {vin: "Car"},
            **extra,
        },
        options={"pv_zone": "zone.home", "api_key": "k"},
    )


@pytest.mark.usefixtures("credentials", "tesla_at_sim")
async def test_fleet_token_refresh_and_reauth(hass: HomeAssistant, sim: Simulator) -> None:
    """An expired token is refreshed before the first request; a refused refresh asks to sign in."""
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert sim.oauth.exchanges == ["refresh_token"]
    assert entry.data[CONF_TOKEN]["access_token"] == TOKEN

    other = fleet_entry(sim)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_VINS: []})
    other.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        other,
        data={**other.data, CONF_TOKEN: {**other.data[CONF_TOKEN], "refresh_token": "revoked"}},
    )
    await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    assert other.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert any(flow["context"]["source"] == "reauth" for flow in flows)


@pytest.fixture
def vehicle_configs() -> list[VehicleConfig]:
    """A car plugged in at home, not charging."""
    return [
        VehicleConfig(
            latitude=HOME[0], longitude=HOME[1], plugged_in=True, auto_start_on_plug=False
        )
    ]


@pytest.mark.usefixtures("credentials", "tesla_at_sim")
async def test_commands_through_proxy(hass: HomeAssistant, sim: Simulator) -> None:
    """With a tesla-http-proxy, data comes from Tesla and commands go through the proxy."""
    vin = sim.vehicle(1).vin
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    async with Simulator(vehicles=[VehicleConfig(vin=vin)], token=TOKEN) as proxy:
        entry = fleet_entry(sim, **{CONF_PROXY_URL: proxy.url})
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await entry.runtime_data.cars[vin].controller.async_set_amps(12)
        assert [record.name for record in proxy.vehicle(1).commands] == ["set_charging_amps"]
        assert sim.vehicle(1).commands == []
        assert sim.ledger.count("data") == 1
        assert proxy.ledger.count("data") == 0


async def _fleet_flow_to_signing_step(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, code: str
) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: "fleet"}
    )
    result = await _sign_in(hass, hass_client_no_auth, result["flow_id"], result["url"], code)
    assert result["step_id"] == "fleet"
    return result


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
async def test_proxy_with_self_signed_certificate(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    sim: Simulator,
    tmp_path: Path,
) -> None:
    """A tesla-http-proxy over real HTTPS with a self-signed certificate, verification off."""
    vin = sim.vehicle(1).vin
    proxy = Simulator(vehicles=[VehicleConfig(vin=vin)], token=TOKEN)
    async with serve_tls(proxy, tmp_path) as proxy_url:
        result = await _fleet_flow_to_signing_step(hass, hass_client_no_auth, "code-tls")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PROXY_URL: proxy_url, CONF_VERIFY_SSL: False}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_VINS: [vin]}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_PROXY_URL] == proxy_url
        assert result["data"][CONF_VERIFY_SSL] is False
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        await entry.runtime_data.cars[vin].controller.async_set_amps(12)
        assert [record.name for record in proxy.vehicle(1).commands] == ["set_charging_amps"]
        assert sim.vehicle(1).commands == []
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("credentials", "tesla_at_sim")
async def test_proxy_certificate_is_verified_by_default(
    hass: HomeAssistant, sim: Simulator, tmp_path: Path
) -> None:
    """With verification on, a self-signed proxy gets no command; the user sees an error."""
    vin = sim.vehicle(1).vin
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    proxy = Simulator(vehicles=[VehicleConfig(vin=vin)], token=TOKEN)
    async with serve_tls(proxy, tmp_path) as proxy_url:
        entry = fleet_entry(sim, **{CONF_PROXY_URL: proxy_url})
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        with pytest.raises(HomeAssistantError) as caught:
            await entry.runtime_data.cars[vin].controller.async_set_amps(12)
        assert caught.value.translation_key == "cannot_connect"  # the certificate was refused
        assert proxy.vehicle(1).commands == []
        assert sim.vehicle(1).commands == []
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
@pytest.mark.parametrize("vehicle_configs", [[VehicleConfig(), VehicleConfig()]])
async def test_fleet_sign_in_adds_cars_to_the_accounts_entry(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    """Signing in again for an account already set up adds the cars left out to its entry."""
    first, second = list(sim.vehicles)
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    entry = fleet_entry(sim)  # holds the first car; its token has expired and refreshes
    entry.add_to_hass(hass)
    result = await _fleet_flow_to_signing_step(hass, hass_client_no_auth, "code-add")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    schema = result["data_schema"].schema
    assert [option["value"] for option in next(iter(schema.values())).config["options"]] == [second]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VINS: [second]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "vehicles_added"
    await hass.async_block_till_done()
    assert hass.config_entries.async_entries(DOMAIN) == [entry]
    assert entry.unique_id == "fleet-account"
    assert entry.data[CONF_VINS] == [first, second]
    # The entry's own sign-in listed the cars (its token was refreshed for that).
    assert sim.oauth.exchanges == ["authorization_code", "refresh_token"]
    assert entry.state is ConfigEntryState.LOADED
    assert set(entry.runtime_data.cars) == {first, second}


@pytest.mark.usefixtures("credentials", "tesla_at_sim")
async def test_missing_private_key_retries_setup(hass: HomeAssistant, sim: Simulator) -> None:
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    entry = fleet_entry(sim, **{CONF_PRIVATE_KEY: "/nonexistent.pem"})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
async def test_fleet_reauth(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    result = await _sign_in(hass, hass_client_no_auth, result["flow_id"], result["url"], "code-3")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_TOKEN]["access_token"] == TOKEN


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
async def test_fleet_reauth_cannot_list(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    sim.faults.add(status=503, path="/products", count=None)
    result = await entry.start_reauth_flow(hass)
    result = await _sign_in(hass, hass_client_no_auth, result["flow_id"], result["url"], "code-4")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_at_sim")
async def test_fleet_region_lookup_unreachable(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, sim: Simulator
) -> None:
    sim.faults.add(status=503, path="/users/region", count=None)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: "fleet"}
    )
    result = await _sign_in(hass, hass_client_no_auth, result["flow_id"], result["url"], "code-5")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


@pytest.mark.usefixtures("credentials", "tesla_at_sim")
async def test_fleet_reconfigure_signing(hass: HomeAssistant, sim: Simulator) -> None:
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_TOKEN: {**entry.data[CONF_TOKEN], "access_token": TOKEN}}
    )
    async with Simulator(token=TOKEN) as proxy:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "fleet"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PROXY_URL: proxy.url}
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PROXY_URL] == proxy.url


@pytest.mark.usefixtures("credentials", "tesla_at_sim")
async def test_fleet_reconfigure_other_account(hass: HomeAssistant, sim: Simulator) -> None:
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            CONF_VINS: ["5YJ3OTHERACCOUNT1"],
            CONF_TOKEN: {**entry.data[CONF_TOKEN], "access_token": TOKEN},
        },
    )
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


@pytest.mark.usefixtures("credentials", "tesla_at_sim")
async def test_token_refresh_rate_limited_retries_setup_without_reauth(
    hass: HomeAssistant, sim: Simulator
) -> None:
    """A 429 from the token endpoint is Tesla's rate limit: try again later, no new sign-in."""
    sim.oauth.refresh_tokens.add("sim-refresh-seeded")
    sim.oauth.throttled = 1
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert sim.oauth.exchanges == ["refresh_token"]
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.usefixtures("credentials")
async def test_token_refresh_unreachable_retries_setup(
    hass: HomeAssistant, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(const, "FLEET_TOKEN_URL", "http://127.0.0.1:9/oauth2/v3/token")
    entry = fleet_entry(sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_application_credentials_help(hass: HomeAssistant) -> None:
    from custom_components.tesla_wallbox import application_credentials

    placeholders = await application_credentials.async_get_description_placeholders(hass)
    assert placeholders["developer_url"].startswith("https://developer.tesla.com")
    server = await application_credentials.async_get_authorization_server(hass)
    assert server.token_url == const.FLEET_TOKEN_URL
