"""The config flow: every step, every error, reauth, reconfigure and options."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox import ble_client, client as client_module
from custom_components.tesla_wallbox.const import (
    CONF_ALLOW_LOW_TARGET,
    CONF_API_KEY,
    CONF_BACKEND,
    CONF_CHARGING_INTERVAL,
    CONF_PV_ZONE,
    CONF_URL,
    CONF_VEHICLES,
    CONF_VINS,
    DOMAIN,
)
from fleet_sim import Simulator, VehicleConfig

from .conftest import car_device
from .const import TOKEN


async def _start(hass: HomeAssistant, backend: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BACKEND: backend}
    )
    assert result["step_id"] == backend
    return result


async def test_custom_server_contract(hass: HomeAssistant, sim: Simulator) -> None:
    """The scripted path: user {backend} -> custom {url, token} -> vehicles {vins}."""
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"{sim.url}/", CONF_TOKEN: f" {TOKEN} "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "vehicles"
    # Checking the credentials cost nothing billable.
    assert sim.ledger.cost() == 0
    vin = sim.vehicle(1).vin
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_VINS: [vin]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == sim.vehicle(1).display_name
    assert result["data"] == {
        CONF_BACKEND: "custom",
        CONF_URL: sim.url,
        CONF_TOKEN: TOKEN,
        CONF_VINS: [vin],
        CONF_VEHICLES: {vin: sim.vehicle(1).display_name},
        CONF_VERIFY_SSL: True,  # the default when a script leaves it out
    }
    assert result["options"][CONF_PV_ZONE] == "zone.home"
    assert len(result["options"][CONF_API_KEY]) >= 24


async def test_custom_server_errors(hass: HomeAssistant, sim: Simulator) -> None:
    result = await _start(hass, "custom")
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: "ftp://example.com", CONF_TOKEN: TOKEN}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    for bad in ("not a url", "http://[::1"):
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_URL: bad, CONF_TOKEN: TOKEN}
        )
        assert result["errors"] == {CONF_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: sim.url, CONF_TOKEN: "wrong-token"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    sim.faults.add(status=503, count=1)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: sim.url, CONF_TOKEN: TOKEN}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    # Nothing was saved while the errors lasted; it recovers when the input is right.
    assert not hass.config_entries.async_entries(DOMAIN)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: sim.url, CONF_TOKEN: TOKEN}
    )
    assert result["step_id"] == "vehicles"


async def test_cannot_connect_to_closed_port(hass: HomeAssistant, socket_enabled: None) -> None:
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "http://127.0.0.1:9", CONF_TOKEN: TOKEN}
    )
    assert result["errors"] == {"base": "cannot_connect"}


@pytest.mark.parametrize("vehicle_configs", [[]])
async def test_no_vehicles(hass: HomeAssistant, sim: Simulator) -> None:
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url, CONF_TOKEN: TOKEN}
    )
    assert result["errors"] == {"base": "no_vehicles"}


async def _custom_flow_to_vehicles(hass: HomeAssistant, url: str) -> dict[str, Any]:
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url, CONF_TOKEN: TOKEN}
    )
    assert result["step_id"] == "vehicles", result
    return result


def _offered(result: dict[str, Any]) -> list[str]:
    schema = result["data_schema"].schema
    return [option["value"] for option in next(iter(schema.values())).config["options"]]


@pytest.mark.parametrize("vehicle_configs", [[VehicleConfig(), VehicleConfig()]])
async def test_pick_some_cars_then_add_the_rest(hass: HomeAssistant, sim: Simulator) -> None:
    """Cars left out at setup are added to the same entry later; its unique id stays."""
    first, second = list(sim.vehicles)
    names = {vin: sim.vehicles[vin].display_name for vin in (first, second)}
    result = await _custom_flow_to_vehicles(hass, sim.url)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_VINS: []})
    assert result["errors"] == {CONF_VINS: "no_vehicle_selected"}
    with pytest.raises(InvalidData):  # the form only offers the account's cars
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_VINS: [first, "NOT-ON-THE-ACCOUNT"]}
        )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_VINS: [first]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    unique_id = entry.unique_id
    assert list(entry.runtime_data.cars) == [first]

    # The same account again: only the car not set up yet is offered, and it joins the entry.
    result = await _custom_flow_to_vehicles(hass, sim.url)
    assert _offered(result) == [second]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VINS: [second]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "vehicles_added"
    await hass.async_block_till_done()
    assert hass.config_entries.async_entries(DOMAIN) == [entry]
    assert entry.unique_id == unique_id
    assert entry.data[CONF_VINS] == [first, second]
    assert entry.data[CONF_VEHICLES] == names
    assert entry.title == f"{names[first]}, {names[second]}"  # the title we made follows
    assert entry.state is ConfigEntryState.LOADED
    assert list(entry.runtime_data.cars) == [first, second]  # reloaded with both
    device = car_device(hass, entry, second)
    assert device is not None
    assert device.name == names[second]  # the entry's own device: it is the domain's only entry

    # Every car is set up now: a third run stops at once.
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url, CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_new_car_on_the_account_joins_its_entry(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A car bought later: the account's VIN set changes, yet it is still one entry."""
    entry = init_integration
    hass.config_entries.async_update_entry(entry, title="My garage")
    old = sim.vehicle(1).vin
    new = sim.add_vehicle().vin
    result = await _custom_flow_to_vehicles(hass, sim.url)
    assert _offered(result) == [new]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_VINS: [new]})
    assert result["reason"] == "vehicles_added"
    await hass.async_block_till_done()
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert entry.unique_id == "sim-account"
    assert entry.title == "My garage"  # a title the user chose is kept
    assert entry.data[CONF_VINS] == [old, new]
    assert entry.data[CONF_TOKEN] == TOKEN  # the entry keeps its own connection
    assert entry.runtime_data.cars[new].coordinator.data.charge is not None
    # The first car keeps its number; the new one gets the next.
    assert entry.runtime_data.cars[old].number == 1
    assert entry.runtime_data.cars[new].number == 2


@pytest.mark.parametrize("vehicle_configs", [[VehicleConfig(), VehicleConfig()]])
async def test_add_cars_while_the_entry_cannot_reach_its_account(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    """Cars are only added where the entry's own connection lists them; otherwise a clear error."""
    first, second = list(sim.vehicles)
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry,
        data={
            **config_entry.data,
            CONF_TOKEN: "expired-token",
            CONF_VINS: [first],
            CONF_VEHICLES: {first: "Car 1"},
        },
    )
    result = await _custom_flow_to_vehicles(hass, sim.url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VINS: [second]}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "entry_unreachable"}
    assert config_entry.data[CONF_VINS] == [first]  # nothing changed
    # Once that entry is fixed, the same form adds the car.
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_TOKEN: TOKEN}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VINS: [second]}
    )
    assert result["reason"] == "vehicles_added"
    assert config_entry.data[CONF_VINS] == [first, second]


async def test_car_shared_with_another_account_gets_its_own_entry(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A second account sees a car of the first (a shared driver) plus its own car.

    Its own car cannot be reached through the first entry's token, so it becomes a new entry.
    """
    shared = sim.vehicle(1).vin
    async with Simulator(
        vehicles=[VehicleConfig(vin=shared), VehicleConfig(vin="5YJ3OTHERACCOUNT1")],
        token="other-token",
    ) as other:
        result = await _start(hass, "custom")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: other.url, CONF_TOKEN: "other-token"}
        )
        assert _offered(result) == ["5YJ3OTHERACCOUNT1"]
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_VINS: ["5YJ3OTHERACCOUNT1"]}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_URL] == other.url
        assert result["data"][CONF_VINS] == ["5YJ3OTHERACCOUNT1"]
        await hass.async_block_till_done()
        new_entry = result["result"]
        assert new_entry.unique_id != init_integration.unique_id
        assert init_integration.data[CONF_VINS] == [shared]  # the first entry is untouched
        await hass.config_entries.async_unload(new_entry.entry_id)


async def test_same_cars_twice_aborts(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url, CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("sim_tls", [True])
@pytest.mark.parametrize("backend", ["teslemetry", "tessie"])
@pytest.mark.usefixtures("teslemetry_hosts")
async def test_token_backends(hass: HomeAssistant, sim: Simulator, backend: str) -> None:
    """Teslemetry and Tessie serve the Fleet API's paths; here their server is the simulator."""
    server = "TESLEMETRY_SERVER" if backend == "teslemetry" else "TESSIE_SERVER"
    with patch.object(client_module, server, sim.url):
        result = await _start(hass, backend)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_TOKEN: "wrong"}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_TOKEN: TOKEN}
        )
        vin = sim.vehicle(1).vin
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_VINS: [vin]}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_BACKEND] == backend
        assert CONF_URL not in result["data"]
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        await hass.async_block_till_done()
        assert entry.runtime_data.cars[vin].coordinator.data.charge is not None
    assert any(item.path.endswith("/vehicle_data") for item in sim.ledger.entries)


async def test_reauth(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    config_entry.add_to_hass(hass)
    result = await config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOKEN: "bad"})
    assert result["errors"] == {"base": "invalid_auth"}
    sim.token = "new-token"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: "new-token"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.data[CONF_TOKEN] == "new-token"


@pytest.mark.parametrize("vehicle_configs", [[VehicleConfig(), VehicleConfig()]])
async def test_reauth_other_account(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry, socket_enabled: None
) -> None:
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_VINS: ["5YJ3OTHERACCOUNT1"]}
    )
    result = await config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert config_entry.data[CONF_TOKEN] == TOKEN


async def test_reconfigure(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    result = await config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "gopher://x", CONF_TOKEN: TOKEN}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url, CONF_TOKEN: "nope"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    sim.token = "rotated"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url + "/", CONF_TOKEN: "rotated"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data[CONF_TOKEN] == "rotated"
    assert config_entry.data[CONF_URL] == sim.url


async def _options_step(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["general", "pv", "plan", "bluetooth"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["step_id"] == step
    return result


async def test_pv_options(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    result = await _options_step(hass, entry, "pv")
    values = {
        "grid_power_sensor": "sensor.grid",
        "invert_grid": True,
        "surplus_buffer": 200,
        "min_amps": 6,
        "max_amps": 4,
        "enable_delay": 30,
        "disable_delay": 300,
        "min_command_interval": 60,
        "min_amps_step": 2,
        "assumed_phases": "1",
        "assumed_voltage": 240,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], values)
    assert result["errors"] == {"base": "invalid_surplus_settings"}  # max below min
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**values, "max_amps": 16}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["api_key"]  # the general options are kept
    car = next(iter(entry.runtime_data.cars.values()))
    settings = car.surplus.surplus.settings
    assert (settings.buffer_w, settings.min_amps, settings.max_amps) == (200, 6, 16)
    assert (settings.assumed_phases, settings.assumed_voltage) == (1, 240)
    assert settings.invert_grid_sign is True
    assert settings.battery_priority_soc is None
    assert car.surplus.sensors.grid == "sensor.grid"


async def test_plan_options(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    solar = MockConfigEntry(domain="forecast_solar", title="Roof")
    solar.add_to_hass(hass)
    result = await _options_step(hass, entry, "plan")
    assert result["step_id"] == "plan"
    schema = {str(key): value for key, value in result["data_schema"].schema.items()}
    # The PV forecast is chosen among the entries of solar forecast integrations.
    assert [option["value"] for option in schema["solar_forecast"].config["options"]] == [
        solar.entry_id
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "price_sensor": "sensor.nordpool",
            "solar_forecast": solar.entry_id,
            "battery_capacity": 60,
            "charge_efficiency": 85,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["api_key"]  # the other options are kept
    car = next(iter(entry.runtime_data.cars.values()))
    assert car.plan.price_sensor == "sensor.nordpool"
    assert car.plan.solar_entry == solar.entry_id
    assert (car.plan.battery_kwh, car.plan.efficiency) == (60.0, 0.85)
    # Emptied: no price sensor, the model's battery.
    result = await _options_step(hass, entry, "plan")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"charge_efficiency": 90}
    )
    await hass.async_block_till_done()
    car = next(iter(entry.runtime_data.cars.values()))
    assert car.plan.price_sensor is None
    assert car.plan.battery_kwh == 75.0


async def test_options(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    old_key = entry.options[CONF_API_KEY]
    result = await _options_step(hass, entry, "general")
    assert old_key in result["description_placeholders"]["api_key"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_PV_ZONE: "zone.home",
            CONF_ALLOW_LOW_TARGET: True,
            CONF_CHARGING_INTERVAL: 300,
            "pv_charging_interval": 1800,
            "sleep_check_interval": 120,
            "idle_quiet": 900,
            "confirm_delay": 45,
            "stale_after": 3600,
            "wake_timeout": 60,
            "regenerate_api_key": False,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_ALLOW_LOW_TARGET] is True
    assert entry.options[CONF_API_KEY] == old_key
    car = next(iter(entry.runtime_data.cars.values()))
    settings = car.coordinator.settings  # reloaded with the new options
    assert (settings.charging_interval, settings.pv_charging_interval) == (300, 1800)
    assert (settings.sleep_check_interval, settings.confirm_delay) == (120, 45)
    assert car.controller.min_target == 1

    result = await _options_step(hass, entry, "general")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_ALLOW_LOW_TARGET: False,
            CONF_CHARGING_INTERVAL: 600,
            "sleep_check_interval": 300,
            "idle_quiet": 900,
            "stale_after": 1800,
            "wake_timeout": 90,
            "regenerate_api_key": True,
        },
    )
    await hass.async_block_till_done()
    assert entry.options[CONF_API_KEY] != old_key
    assert entry.options[CONF_PV_ZONE] == ""  # cleared: the car's location is never read
    car = next(iter(entry.runtime_data.cars.values()))
    assert car.coordinator.pv_zone is None


async def test_options_saved_back_to_back_both_apply(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Two option saves a moment apart: the second is not lost in the first one's reload."""
    entry = init_integration
    result = await _options_step(hass, entry, "general")
    await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_ALLOW_LOW_TARGET: True,
            CONF_CHARGING_INTERVAL: 60,
            "sleep_check_interval": 300,
            "idle_quiet": 900,
            "stale_after": 1800,
            "wake_timeout": 90,
            "regenerate_api_key": False,
        },
    )
    result = await _options_step(hass, entry, "pv")
    await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "grid_power_sensor": "sensor.grid",
            "invert_grid": False,
            "surplus_buffer": 100,
            "min_amps": 5,
            "enable_delay": 60,
            "disable_delay": 180,
            "min_command_interval": 120,
            "min_amps_step": 1,
            "assumed_phases": "3",
            "assumed_voltage": 230,
        },
    )
    await hass.async_block_till_done()
    car = next(iter(entry.runtime_data.cars.values()))
    assert car.coordinator.settings.charging_interval == 60
    assert car.surplus.sensors.grid == "sensor.grid"


BAD_TEXT = ["two words", "t\u00f6ken", "tok\u0000en", "tok\udcffen", "\u2028"]


@pytest.mark.parametrize("token", BAD_TEXT)
async def test_a_token_no_header_can_carry_is_refused_before_any_request(
    hass: HomeAssistant, sim: Simulator, token: str
) -> None:
    """Not visible ASCII: it could neither travel in an Authorization header nor be stored."""
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: sim.url, CONF_TOKEN: token}
    )
    assert result["errors"] == {CONF_TOKEN: "invalid_token"}
    assert sim.ledger.entries == []


@pytest.mark.parametrize("url", ["http://host/a\u0000b", "http://h\udcffost", "http://host/\u0085"])
async def test_a_url_with_unprintable_text_is_refused(
    hass: HomeAssistant, sim: Simulator, url: str
) -> None:
    result = await _start(hass, "custom")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url, CONF_TOKEN: TOKEN}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    assert sim.ledger.entries == []


async def test_reauth_refuses_a_token_no_header_can_carry(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    result = await config_entry.start_reauth_flow(hass)
    requests = len(sim.ledger)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: "tok\udcffen"}
    )
    assert result["errors"] == {CONF_TOKEN: "invalid_token"}
    assert len(sim.ledger) == requests
    assert config_entry.data[CONF_TOKEN] == TOKEN


# Control characters, a soft hyphen, an escape. (A lone surrogate never gets this far: Home
# Assistant's JSON parser refuses the whole answer, and the form says cannot_connect.)
@pytest.mark.parametrize(
    "vehicle_configs",
    [
        [
            VehicleConfig(display_name="Gar\u0007age\u00ad \u00e4"),
            VehicleConfig(display_name="\u0000\u001b"),
        ]
    ],
)
async def test_car_names_are_kept_printable(hass: HomeAssistant, sim: Simulator) -> None:
    """A name from the account with characters that are not printable: the entry keeps the
    printable part (or the VIN), as the name of the device and in every log line."""
    first, second = list(sim.vehicles)
    result = await _custom_flow_to_vehicles(hass, sim.url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VINS: [first, second]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VEHICLES] == {first: "Garage \u00e4", second: second}
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.skipif(
    ble_client.supported(),
    reason="this tesla-fleet-api drives cars over Bluetooth; scripts/test-compat runs the oldest",
)
async def test_bluetooth_needs_a_newer_tesla_fleet_api(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "bluetooth"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bluetooth_unsupported"
