"""Privacy of debug logs: the library's request URLs and "Response JSON" lines show no VIN and
no position of a car, whichever handler prints them (custom_components/.../log_filter.py)."""

from __future__ import annotations

import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from tesla_fleet_api.exceptions import TeslaFleetError

from custom_components.tesla_wallbox import log_filter
from custom_components.tesla_wallbox.const import (
    CONF_BACKEND,
    CONF_URL,
    CONF_VEHICLES,
    DOMAIN,
)
from custom_components.tesla_wallbox.log_filter import redact
from fleet_sim import Simulator, VehicleConfig

from .conftest import advance
from .const import HOME, TOKEN

# ISO 3779 shaped (no I, O, Q), unlike the simulator's default "5YJ3SIMVIN0000001": only the
# VIN-shape rule can catch such a VIN where no entry names it. The entries here name VALID_VIN;
# no entry of the run names FLOW_VIN or EXAMPLE_VIN (the masked VINs are kept for the process).
VALID_VIN = "7SAYGDEE5PF123457"
FLOW_VIN = "5YJYGDEE1MF000123"
EXAMPLE_VIN = "1HGCM82633A004352"
SYDNEY = (-33.86785, 151.20732)  # negative latitude, longitude above 100


@pytest.fixture
def vehicle_configs() -> list[VehicleConfig]:
    """The simulator's default VIN at home, and an ISO 3779 VIN south of the equator."""
    return [
        VehicleConfig(latitude=HOME[0], longitude=HOME[1], plugged_in=True),
        VehicleConfig(vin=VALID_VIN, latitude=SYDNEY[0], longitude=SYDNEY[1]),
    ]


def _positions() -> list[str]:
    # As repr() prints them in the library's "Response JSON" line; without sign, to catch any.
    return [repr(abs(value)) for value in (*HOME, *SYDNEY)]


def _library_json(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "tesla_fleet_api" and record.getMessage().startswith("Response JSON")
    ]


async def test_debug_log_of_polls_and_commands_shows_no_vin_or_position(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`logger: default: debug`: the cars poll on their own, read their position and take a
    command; the real library logs every URL and answer, and none shows a VIN or a position."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tesla_fleet_api")
    for car in init_integration.runtime_data.cars.values():
        await car.coordinator.async_user_refresh()  # reads drive_state with location_data
    await advance(hass, freezer, sim, 900)  # the scheduled polls
    client = await hass_client()
    assert (await client.get("/tlwb/1/set_amps?8&wait=10")).status == 200
    vins = list(sim.vehicles)
    answers = _library_json(caplog)
    # Not vacuous: the answers were logged, and they carried VINs and positions, masked.
    assert len(answers) >= 4
    drive = [text for text in answers if "'drive_state'" in text]
    assert len(drive) >= 2
    for text in drive:
        assert "'latitude': ***" in text
        assert "'longitude': ***" in text
        assert "'native_latitude': ***" in text
        assert "'native_longitude': ***" in text
        assert "'heading': 90" in text  # not a position: it stays
    assert any(f"'vin': '***{vins[0][-4:]}'" in text for text in answers)
    assert any(f"'vin': '***{VALID_VIN[-4:]}'" in text for text in answers)
    assert f"/api/1/vehicles/***{vins[0][-4:]}/" in caplog.text  # the request URLs
    assert f"/api/1/vehicles/***{VALID_VIN[-4:]}/" in caplog.text
    for vin in vins:
        assert vin not in caplog.text
    for position in _positions():
        assert position not in caplog.text, position


@pytest.mark.parametrize("vehicle_configs", [[VehicleConfig(vin=FLOW_VIN)]])
async def test_a_car_no_entry_names_is_masked_by_its_shape(
    hass: HomeAssistant, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The config flow lists the account's cars before any entry (or async_setup) exists."""
    assert redact(FLOW_VIN) == FLOW_VIN  # not known as one of ours: only its shape masks it
    caplog.set_level(logging.DEBUG, logger="tesla_fleet_api")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: "custom"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url, CONF_TOKEN: TOKEN}
    )
    assert result["step_id"] == "vehicles"
    assert not hass.config_entries.async_entries(DOMAIN)
    answers = _library_json(caplog)
    assert any(f"'vin': '***{FLOW_VIN[-4:]}'" in text for text in answers)
    assert FLOW_VIN not in caplog.text


def test_coordinates_are_masked_in_every_form() -> None:
    assert (
        redact("{'latitude': 52.52, 'longitude': -13.405, 'heading': 90}")
        == "{'latitude': ***, 'longitude': ***, 'heading': 90}"
    )
    assert (
        redact('{"native_latitude":-33.86785,"native_longitude": 151}')
        == '{"native_latitude":***,"native_longitude": ***}'
    )
    assert (
        redact("{'corrected_latitude': 1.5e-05, 'active_route_longitude': -0.5}")
        == "{'corrected_latitude': ***, 'active_route_longitude': ***}"
    )
    # A State's repr on the event bus, a query, a camelCase key, a quoted number, protobuf text.
    assert (
        redact("<state zone.home=0; latitude=32.87336, longitude=-117.22743, radius=100>")
        == "<state zone.home=0; latitude=***, longitude=***, radius=100>"
    )
    assert (
        redact("?latitude=52.5&longitude=13.4&radius=2") == "?latitude=***&longitude=***&radius=2"
    )
    assert redact('{"activeRouteLatitude": "52.5"}') == '{"activeRouteLatitude": "***"}'
    assert redact("location {\n  latitude: -1.25\n}") == "location {\n  latitude: ***\n}"


def test_numbers_that_are_no_coordinates_stay() -> None:
    unrelated = (
        "{'battery_level': 52.52, 'heading': -117, 'latitude_error': 5, 'speed': 32.87336}",
        "{'latitude': None, 'longitude': null, 'native_location_supported': 1}",
        "the latitude of 52.52 is not a key-value pair",
        "",
    )
    for text in unrelated:
        assert redact(text, any_vin=True) == text


def test_vin_shaped_tokens() -> None:
    # In the library's and our records (any_vin) an ISO 3779 VIN keeps its last four only.
    assert redact(f"/api/1/vehicles/{EXAMPLE_VIN}/vehicle_data", any_vin=True) == (
        "/api/1/vehicles/***4352/vehicle_data"
    )
    assert redact(f"'vin': '{EXAMPLE_VIN}'", any_vin=True) == "'vin': '***4352'"
    assert redact(f"{EXAMPLE_VIN}_charging", any_vin=True) == "***4352_charging"  # a unique id
    # In any other logger a 17-character token may be any id: only our entries' VINs go there.
    assert redact(f"id {EXAMPLE_VIN}") == f"id {EXAMPLE_VIN}"
    # I, O and Q are no VIN characters; 16 or 18 characters, only digits or lower case: no VIN.
    for token in (
        "1HGCM82633A00435I",
        "1HGCM82633AO04352",
        "QHGCM82633A004352",
        "1HGCM82633A00435",
        "1HGCM82633A0043520",
        "12345678901234567",
        EXAMPLE_VIN.lower(),
        f"X{EXAMPLE_VIN}",
    ):
        assert redact(f"vin {token} end", any_vin=True) == f"vin {token} end", token


async def test_our_entries_vins_are_masked_in_every_logger(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The simulator's VINs have an I: not VIN-shaped, masked because our entry names them."""
    vin = sim.vehicle(1).vin
    assert "I" in vin
    assert redact(f"GET /api/1/vehicles/{vin} 200") == f"GET /api/1/vehicles/***{vin[-4:]} 200"


async def test_a_car_added_later_is_masked_at_once(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A car that joins the entry (the config flow's "vehicles_added") is masked from then on."""
    added = "5YJ3SIMVIN0000042"  # not VIN-shaped: only the entry's data can make it known
    assert redact(f"vin {added}") == f"vin {added}"
    vehicles = {**init_integration.data[CONF_VEHICLES], added: "Added later"}
    hass.config_entries.async_update_entry(
        init_integration, data={**init_integration.data, CONF_VEHICLES: vehicles}
    )
    await hass.async_block_till_done()
    assert redact(f"vin {added}") == "vin ***0042"


async def test_library_records_tracebacks_and_later_handlers(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A handler added after set-up sees masked text: a message, and the traceback of a library
    error (TeslaFleetError is a BaseException) that names a VIN and a position."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(logging.Formatter().format(record))

    class NotThere(TeslaFleetError):
        message = f"vehicle {EXAMPLE_VIN} is not at {{'latitude': -33.86785}}"

    logger = logging.getLogger("tesla_fleet_api")
    handler = Collect(logging.DEBUG)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("Response JSON: %s", {"vin": EXAMPLE_VIN, "latitude": SYDNEY[0]})
        try:
            raise NotThere  # its __init__ logs its message through this logger, too
        except TeslaFleetError:
            logger.debug("request failed", exc_info=True)
        # A record that cannot be formatted is left for its handler to report, as it was.
        broken = logger.makeRecord(logger.name, logging.DEBUG, "x.py", 1, "%d", ("x",), None)
    finally:
        logger.setLevel(level)
        logger.removeHandler(handler)
    assert seen[0] == "Response JSON: {'vin': '***4352', 'latitude': ***}"
    assert seen[1] == "vehicle ***4352 is not at {'latitude': ***}"
    assert "NotThere: vehicle ***4352 is not at {'latitude': ***}" in seen[2]
    assert not [text for text in seen if EXAMPLE_VIN in text or "33.86785" in text]
    assert (broken.msg, broken.args) == ("%d", ("x",))


def test_a_plain_record_skips_the_regexes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most records carry nothing to mask: the cheap substring tests keep the regex away."""

    class Forbidden:
        def sub(self, *args: object) -> str:
            raise AssertionError("the regex ran on a record with nothing to mask")

    monkeypatch.setattr(log_filter, "_COORDINATE", Forbidden())
    monkeypatch.setattr(log_filter, "_VIN", Forbidden())
    text = "Finished fetching tesla_wallbox Car data in 0.003 seconds (success: True)"
    assert redact(text) == text
    record = logging.getLogger("homeassistant.core").makeRecord(
        "homeassistant.core", logging.DEBUG, "x.py", 1, "%s", (text,), None
    )
    assert record.getMessage() == text
