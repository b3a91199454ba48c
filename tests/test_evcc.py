"""evcc's free `homeassistant` charger drives the car through our entities, as it does.

evcc (charger/homeassistant.go, util/homeassistant/connection.go) reads plain entities over Home
Assistant's REST API and calls services: GET /api/states/<entity>, POST
/api/services/switch/turn_on|turn_off, POST /api/services/number/set_value. The client below does
exactly that with evcc's own tables; the car is the simulated one, the Home Assistant a real one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_wallbox.charge_point import (
    CHARGE_POINT_OPTIONS,
    ChargePointState,
    charge_point_state,
    charging_enabled,
)
from custom_components.tesla_wallbox.vehicle_data import (
    CHARGING,
    COMPLETE,
    DISCONNECTED,
    NO_POWER,
    STARTING,
    STOPPED,
    ChargeData,
)
from custom_components.tesla_wallbox.wallbox import STATUS_OPTIONS, WallboxState, WallboxStatus
from fleet_sim import Simulator, VehicleConfig

from .conftest import advance, entity_id
from .const import AWAY, HOME

# ----- facts: evcc's tables -------------------------------------------------------------------

# evcc-io/evcc util/homeassistant/connection.go, chargeStatusMap: the state (lower case, trimmed)
# of the status entity and the IEC 61851 status evcc reads from it. Any other state is an error
# ("unknown charge status"); "unknown" and "unavailable" mean "not available" before this table.
EVCC_STATUS = {
    **dict.fromkeys(["c", "charging", "on", "true", "active", "1"], "C"),
    **dict.fromkeys(
        [
            "b",
            "connected",
            "ready",
            "plugged",
            "charging_completed",
            "initialising",
            "preparing",
            "2",
            "no_power",
            "complete",
            "stopped",
            "starting",
        ],
        "B",
    ),
    **dict.fromkeys(
        [
            "a",
            "disconnected",
            "off",
            "none",
            "unavailable",
            "unknown",
            "notreadyforcharging",
            "not_plugged",
            "0",
        ],
        "A",
    ),
}
# The same file, GetBoolState: the enabled entity's state.
EVCC_TRUE = {"on", "true", "1", "active", "yes"}
EVCC_FALSE = {"off", "false", "0", "inactive", "no"}


class EvccError(Exception):
    """What evcc logs as an error of the charger."""


class NotAvailable(EvccError):
    """api.ErrNotAvailable: evcc waits and asks again."""


class EvccCharger:
    """evcc's homeassistant charger with the entities of the evcc recipe (docs/recipes/evcc.md)."""

    def __init__(self, client: TestClient, entities: dict[str, str]) -> None:
        self._client = client
        self.entities = entities

    async def _state(self, entity: str) -> str:
        response = await self._client.get(f"/api/states/{entity}")
        if response.status != 200:
            raise EvccError(f"{entity}: HTTP {response.status}")
        state = str((await response.json())["state"])
        if state in ("unknown", "unavailable"):
            raise NotAvailable(entity)
        return state

    async def _service(self, domain: str, service: str, data: dict[str, Any]) -> None:
        response = await self._client.post(f"/api/services/{domain}/{service}", json=data)
        if response.status != 200:
            raise EvccError(f"{domain}.{service}: HTTP {response.status} {await response.text()}")

    async def status(self) -> str:
        state = await self._state(self.entities["status"])
        try:
            return EVCC_STATUS[state.strip().lower()]
        except KeyError:
            raise EvccError(f"unknown charge status: {state}") from None

    async def enabled(self) -> bool:
        state = (await self._state(self.entities["enabled"])).lower()
        if state in EVCC_TRUE:
            return True
        if state in EVCC_FALSE:
            return False
        raise EvccError(f"invalid boolean state '{state}'")

    async def enable(self, enable: bool) -> None:
        entity = self.entities["enable"]
        domain = entity.split(".")[0]
        await self._service(domain, "turn_on" if enable else "turn_off", {"entity_id": entity})

    async def max_current(self, current: int) -> None:
        entity = self.entities["maxcurrent"]
        await self._service("number", "set_value", {"entity_id": entity, "value": float(current)})

    async def power(self) -> float:
        return float(await self._state(self.entities["power"]))

    async def energy(self) -> float:
        return float(await self._state(self.entities["energy"]))


def recipe(hass: HomeAssistant, vin: str) -> dict[str, str]:
    """The entities of the evcc recipe (docs/recipes/evcc.md)."""
    return {
        "status": entity_id(hass, "sensor", vin, "charge_point_state"),
        "enabled": entity_id(hass, "binary_sensor", vin, "charging_enabled"),
        "enable": entity_id(hass, "switch", vin, "charging"),
        "maxcurrent": entity_id(hass, "number", vin, "charge_current"),
        "power": entity_id(hass, "sensor", vin, "charging_power"),
        "energy": entity_id(hass, "sensor", vin, "energy_total"),
    }


@pytest.fixture
async def evcc(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, init_integration: MockConfigEntry
) -> EvccCharger:
    assert await async_setup_component(hass, "api", {})
    vin = next(iter(init_integration.runtime_data.cars))
    return EvccCharger(await hass_client(), recipe(hass, vin))


# ----- the table, and why the wallbox status is not in it ---------------------------------------


def test_the_charge_point_state_is_in_evccs_table_the_wallbox_status_is_not() -> None:
    assert {state: EVCC_STATUS.get(state) for state in CHARGE_POINT_OPTIONS} == {
        "disconnected": "A",
        "connected": "B",
        "charging": "C",
    }
    # Why the entity exists: evcc fails on three of the six wallbox states.
    assert [state for state in STATUS_OPTIONS if state not in EVCC_STATUS] == [
        "not_ready",
        "ready_for_pv",
        "interrupted",
    ]


PLUGGED = ChargeData(charging_state=STOPPED, charge_energy_added=1.0)  # charged in this session
FRESH = replace(PLUGGED, charge_energy_added=0.0)  # just plugged in
UNPLUGGED = ChargeData(charging_state=DISCONNECTED)
S = WallboxStatus
A, B, C = "disconnected", "connected", "charging"


@pytest.mark.parametrize(
    ("charge", "requested", "at_home", "status", "expected", "enabled"),
    [
        (None, None, True, S.NOT_READY, A, False),
        (UNPLUGGED, None, True, S.NOT_READY, A, False),
        (FRESH, None, False, S.READY, B, False),
        (FRESH, None, True, S.READY_FOR_PV, B, False),
        (ChargeData(charging_state=CHARGING), None, True, S.CHARGING, C, True),
        (ChargeData(charging_state=STARTING), True, True, S.CHARGING, C, True),
        (ChargeData(charging_state=COMPLETE), True, True, S.STOPPED, B, True),
        (PLUGGED, False, True, S.STOPPED, B, False),
        (PLUGGED, True, True, S.INTERRUPTED, B, True),
        (ChargeData(charging_state=NO_POWER), None, True, S.INTERRUPTED, B, False),
    ],
)
def test_every_wallbox_status_has_a_charge_point_state(
    charge: ChargeData | None,
    requested: bool | None,
    at_home: bool,
    status: WallboxStatus,
    expected: str,
    enabled: bool,
) -> None:
    state = WallboxState(
        vin="V",
        charge=charge,
        at_pv_location=at_home,
        session_charged=charge is PLUGGED,
        charge_requested=requested,
    )
    assert state.status is status
    # Without a PV zone, nothing tells where the charge point is: every cable counts.
    assert charge_point_state(state, zone_configured=False).value == expected
    assert charging_enabled(state) is enabled


def test_a_car_away_from_the_pv_zone_is_not_at_this_charge_point() -> None:
    away = WallboxState(vin="V", charge=ChargeData(charging_state=CHARGING), at_pv_location=False)
    assert away.status is WallboxStatus.CHARGING  # the wallbox status tells what the car does
    assert charge_point_state(away, zone_configured=True) is ChargePointState.DISCONNECTED
    home = replace(away, at_pv_location=True)
    assert charge_point_state(home, zone_configured=True) is ChargePointState.CHARGING


# ----- evcc against a real Home Assistant and the simulated car ----------------------------------


async def refresh(init_integration: MockConfigEntry) -> None:
    """A read, as the poll would make it (the Refresh button's path)."""
    for car in init_integration.runtime_data.cars.values():
        await car.coordinator.async_user_refresh()


@pytest.mark.parametrize(
    "vehicle_configs",
    [
        [
            VehicleConfig(
                latitude=HOME[0], longitude=HOME[1], battery_level=70.0, auto_start_on_plug=False
            )
        ]
    ],
)
async def test_evcc_charges_the_car_through_a_plug_session(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evcc: EvccCharger,
) -> None:
    car = sim.vehicle(1)
    assert (await evcc.status(), await evcc.enabled()) == ("A", False)

    car.plug_in()  # the car waits: it does not start by itself
    await refresh(init_integration)
    assert (await evcc.status(), await evcc.enabled()) == ("B", False)
    assert await evcc.power() == 0

    await evcc.enable(True)
    assert await evcc.enabled() is True
    await advance(hass, freezer, sim, 60, step=30)
    await refresh(init_integration)
    assert car.charging_state == "Charging"
    assert await evcc.status() == "C"
    assert await evcc.power() == 16 * 230 * 3

    await evcc.max_current(8)
    assert car.charge_current_request == 8
    await advance(hass, freezer, sim, 60, step=30)
    await refresh(init_integration)
    assert await evcc.power() == 8 * 230 * 3

    # Full: the car stops by itself. Still enabled, as a wallbox's switch would be, so evcc does
    # not see its charger out of step and send another start.
    commands = len(car.commands)
    car.set_battery_level(79.9)
    await advance(hass, freezer, sim, 600, step=60)
    await refresh(init_integration)
    assert car.charging_state == "Complete"
    assert (await evcc.status(), await evcc.enabled()) == ("B", True)
    assert len(car.commands) == commands

    await evcc.enable(False)
    assert (await evcc.status(), await evcc.enabled()) == ("B", False)
    assert await evcc.energy() > 0  # charged at home: in the lifetime total

    # Asleep, still plugged in: its last data holds.
    car.fall_asleep()
    await refresh(init_integration)
    assert (await evcc.status(), await evcc.enabled()) == ("B", False)

    car.go_online()
    car.unplug()
    await refresh(init_integration)
    assert (await evcc.status(), await evcc.enabled()) == ("A", False)


@pytest.mark.parametrize(
    "vehicle_configs", [[VehicleConfig(latitude=AWAY[0], longitude=AWAY[1], plugged_in=True)]]
)
async def test_evcc_sees_a_car_charging_away_as_no_car(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, evcc: EvccCharger
) -> None:
    """Charging somewhere else is not this loadpoint's car: A, never an error."""
    sim.advance(10)
    await refresh(init_integration)
    assert sim.vehicle(1).charging_state == "Charging"
    status = entity_id(hass, "sensor", sim.vehicle(1).vin, "status")
    assert hass.states.get(status).state == "charging"  # what the car does, wherever it is
    assert await evcc.status() == "A"


@pytest.mark.parametrize(
    "vehicle_configs",
    [
        [
            VehicleConfig(
                latitude=HOME[0], longitude=HOME[1], plugged_in=True, auto_start_on_plug=False
            )
        ]
    ],
)
async def test_evcc_sees_an_interrupted_charge_as_connected(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evcc: EvccCharger,
) -> None:
    """The wallbox status "interrupted" (no power at the wall, or a start the car did not
    follow) is a car connected and enabled: B, and evcc's own logic decides what to do."""
    await evcc.enable(True)
    sim.vehicle(1).set_power_available(False)
    await advance(hass, freezer, sim, 60, step=30)
    await refresh(init_integration)
    status = entity_id(hass, "sensor", sim.vehicle(1).vin, "status")
    assert hass.states.get(status).state == "interrupted"
    assert (await evcc.status(), await evcc.enabled()) == ("B", True)
