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

from custom_components.tesla_wallbox import const
from custom_components.tesla_wallbox.api import common
from custom_components.tesla_wallbox.const import CONF_API_KEY, DOMAIN
from custom_components.tesla_wallbox.log_filter import redact_keys
from fleet_sim import Simulator, VehicleConfig

from .const import ACCESS_TOKEN, API_KEY, CLIENT_SECRET, HOME, REFRESH_TOKEN, TOKEN
from .plugins.secret_scan import SECRET_SCAN


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
    body = pem.decode().splitlines()[1]
    SECRET_SCAN.add(body)  # the whole run's scan looks for this key too
    monkeypatch.setattr(const, "FLEET_TOKEN_URL", f"{sim.url}/oauth2/v3/token")
    monkeypatch.setitem(library_fleet.SERVERS, "na", sim.url)
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential("client-id", CLIENT_SECRET), DOMAIN
    )
    sim.oauth.refresh_tokens.add(REFRESH_TOKEN)
    vin = sim.vehicle(1).vin
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "auth_implementation": DOMAIN,
            "backend": "fleet",
            "token": {
                "access_token": ACCESS_TOKEN,
                "refresh_token": REFRESH_TOKEN,
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
    assert new_refresh != REFRESH_TOKEN  # the refresh ran
    assert_secret_free(
        caplog.text,
        [TOKEN, ACCESS_TOKEN, REFRESH_TOKEN, new_refresh, CLIENT_SECRET, body, API_KEY],
    )


async def test_api_key_compared_in_constant_time(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    calls: list[tuple[Any, Any]] = []
    real = common.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    client = await hass_client_no_auth()
    with patch.object(common.hmac, "compare_digest", spy):
        assert (await client.get(f"/tlwb/1/status?key={API_KEY}")).status == 200
    assert calls
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


def test_redaction_patterns() -> None:
    assert (
        redact_keys("GET /tlwb/1/status?key=abc123&wait=5") == "GET /tlwb/1/status?key=***&wait=5"
    )
    assert redact_keys("'/tlwb/1/goe/s3cr3t/api/status'") == "'/tlwb/1/goe/***/api/status'"
    assert redact_keys("/tlwb/1/set_amps?16&KEY=x y") == "/tlwb/1/set_amps?16&KEY=*** y"
    # Percent-encoded names route all the same, so they are masked too.
    assert redact_keys("/tlwb/1/status?%6Bey=abc&x=1") == "/tlwb/1/status?%6Bey=***&x=1"
    assert redact_keys("/tlwb/1/go%65/s3cr3t/api") == "/tlwb/1/go%65/***/api"
    assert redact_keys("nothing here") == "nothing here"


# ----- every logger, not only the request logs ----------------------------------------------------


async def test_security_filter_log_shows_no_key(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant's security filter logs the raw path of a request it refuses, key and all."""
    client = await hass_client_no_auth()
    for path in (
        f"/tlwb/1/goe/{API_KEY}/api/set?fna=%3Cscript%3E",  # in the go-e path
        f"/tlwb/1/status?key={API_KEY}&x=%3Cscript%3E",  # as ?key=
        f"/tlwb/1/status?token={API_KEY}&x=..%2F..%2Fetc",  # under any other name
        f"/tlwb/1/goe/{API_KEY}/api/status?x=%0A",  # an unsafe byte
    ):
        assert (await client.get(path)).status == 400, path  # HA's plain 400, not ours
    filtered = [r for r in caplog.records if r.name.endswith("http.security_filter")]
    assert len(filtered) == 4
    assert all("/tlwb/1/" in record.getMessage() for record in filtered)
    assert "/goe/***/api/set" in caplog.text
    assert "?token=***&" in caplog.text
    assert API_KEY not in caplog.text


async def test_failed_login_log_shows_no_key(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The ban middleware logs the requested URL of a failed login: a near miss is a secret too."""
    client = await hass_client_no_auth()
    near_miss = API_KEY[:-1] + "x"
    assert (await client.get(f"/tlwb/1/goe/{near_miss}/api/status")).status == 401
    assert (await client.get(f"/tlwb/1/status?key={near_miss}")).status == 401
    await hass.async_block_till_done()
    assert "Requested URL: '/tlwb/1/goe/***/api/status'" in caplog.text
    assert "Requested URL: '/tlwb/1/status?key=***'" in caplog.text
    assert near_miss not in caplog.text


async def test_any_logger_and_any_handler(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A logger nobody named, with its own handler, and a key in an exception's text."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(logging.Formatter().format(record))

    logger = logging.getLogger("some.library.we.never.heard.of")
    handler = Collect()
    logger.addHandler(handler)
    try:
        logger.warning("GET /tlwb/1/goe/%s/api/status 200", API_KEY)
        logger.warning("a key as plain text: %s", API_KEY)
        try:
            raise ValueError(f"bad request /tlwb/1/status?key={API_KEY}")
        except ValueError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    assert seen[0] == "GET /tlwb/1/goe/***/api/status 200"
    assert seen[1] == "a key as plain text: ***"
    assert "ValueError: bad request /tlwb/1/status?key=***" in seen[2]
    assert not [text for text in seen if API_KEY in text]
    # Every record is made by the factory, however it is made: a stack text is masked too.
    record = logger.makeRecord(logger.name, logging.INFO, "x.py", 1, "m", (), None, sinfo=API_KEY)
    assert record.stack_info == "***"
    # A record that cannot be formatted is left for its handler to report, as it was.
    broken = logger.makeRecord(logger.name, logging.INFO, "x.py", 1, "%d", ("x",), None)
    assert (broken.msg, broken.args) == ("%d", ("x",))


async def test_a_regenerated_key_is_masked_at_once(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    new_key = "regenerated-key-0123456789abcdef"
    assert redact_keys(f"plain {new_key}") == f"plain {new_key}"  # not one of ours yet
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, CONF_API_KEY: new_key}
    )
    await hass.async_block_till_done()
    assert redact_keys(f"plain {new_key}") == "plain ***"
    assert redact_keys(f"plain {API_KEY}") == "plain ***"  # the old key stays masked


def test_the_run_scan_catches_a_secret() -> None:
    """The scan of the whole run's log (tests/plugins/secret_scan.py) sees any logger at DEBUG."""
    before = len(SECRET_SCAN.found)
    logging.getLogger("tests.probe.deep.down").debug("the token is %s", TOKEN)
    try:
        raise RuntimeError(REFRESH_TOKEN)
    except RuntimeError:
        logging.getLogger("tests.probe").debug("failed", exc_info=True)
    found = SECRET_SCAN.found[before:]
    # Taken back: these two were planted; anything else found still fails the run.
    del SECRET_SCAN.found[before:]
    assert len(found) == 2
    assert "test_the_run_scan_catches_a_secret" in found[0]
    assert "tests.probe.deep.down DEBUG" in found[0]
    assert TOKEN not in found[0]  # the report shows only the first characters
