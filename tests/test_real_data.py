"""The wallbox view of real, recorded vehicle_data replies (tests/fixtures/vehicle_data).

Each fixture names its source (`_source`), what it exhibits (`_shows`) and the shape it was
recorded in (`_shape`). Every reply goes the coordinator's way: `_with_data` applies it, the
energy counter counts it. A PV zone is drawn around the recorded position where a test says the
car is at home, and far away from it where the car is away.
"""

from __future__ import annotations

from dataclasses import replace
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox.api.goe_keys import (
    CAR_CHARGING,
    CAR_IDLE,
    car_state,
    energy_array,
)
from custom_components.tesla_wallbox.client import AccountClient, Connect
from custom_components.tesla_wallbox.const import CONF_PV_ZONE, DOMAIN, Backend
from custom_components.tesla_wallbox.coordinator import WallboxCoordinator
from custom_components.tesla_wallbox.energy import EnergyCounter
from custom_components.tesla_wallbox.policy import PollKind
from custom_components.tesla_wallbox.storage import CarStore
from custom_components.tesla_wallbox.vehicle_data import ChargeData, Connection
from custom_components.tesla_wallbox.wallbox import WallboxState, WallboxStatus

FIXTURES = Path(__file__).parent / "fixtures" / "vehicle_data"
VIN = "5YJ3REALDATA00001"
PV_ZONE = "zone.pv_test"
NOW = 1_750_000_000.0
ALL = sorted(path.name for path in FIXTURES.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    """A fixture file as it is stored."""
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def reply(name: str) -> dict[str, Any]:
    """What VehicleClient.data() hands the coordinator: the vehicle_data object (the content of
    Tesla's `response` envelope). Replies recorded as one section are that section alone."""
    document = load(name)
    body = {key: value for key, value in document.items() if not key.startswith("_")}
    shape = document["_shape"]
    if shape == "vehicle_data_reply":
        return dict(body["response"])
    if shape == "vehicle_data":
        return body
    if shape == "charge_state_reply":
        return {"charge_state": body["response"]}
    if shape == "charge_state":
        return {"charge_state": body}
    raise AssertionError(f"{name}: no vehicle_data in shape {shape}")


def position(name: str) -> tuple[float, float]:
    """Where the fixture's car was recorded."""
    drive = reply(name)["drive_state"]
    return float(drive["latitude"]), float(drive["longitude"])


def set_zone(hass: HomeAssistant, latitude: float, longitude: float) -> None:
    """The PV zone: 100 m around a point (a zone state is all in_zone reads)."""
    hass.states.async_set(
        PV_ZONE, "0", {"latitude": latitude, "longitude": longitude, "radius": 100.0}
    )


def coordinator_for(hass: HomeAssistant, *, zone: bool = True) -> WallboxCoordinator:
    """A coordinator whose client is never called: replies are handed to it directly."""
    # No PV zone is an empty option (left out, the option defaults to zone.home).
    entry = MockConfigEntry(domain=DOMAIN, data={}, options={CONF_PV_ZONE: PV_ZONE if zone else ""})
    entry.add_to_hass(hass)
    account = AccountClient(
        async_get_clientsession(hass), Connect(Backend.CUSTOM, "t", url="http://127.0.0.1:9")
    )
    return WallboxCoordinator(
        hass, entry, account.vehicle(VIN), CarStore(hass, entry.entry_id), "real data"
    )


def apply(coordinator: WallboxCoordinator, data: dict[str, Any], now: float = NOW) -> WallboxState:
    """One vehicle_data reply through the coordinator, published like a poll publishes it."""
    state = coordinator._with_data(coordinator.data, data, now)
    coordinator.data = state
    return state


# ----- the fixtures themselves -------------------------------------------------------------------


def test_every_fixture_names_its_source_and_what_it_shows() -> None:
    assert len(ALL) >= 10
    for name in ALL:
        document = load(name)
        assert document["_source"].strip(), name
        assert document["_shows"].strip(), name
        if document["_shape"] != "teslamate_charge":
            assert isinstance(reply(name)["charge_state"]["charging_state"], str), name


# ----- status, phases, power: what the wallbox view says about each reply -----------------------


@pytest.mark.parametrize(
    ("name", "home", "status", "phases", "power"),
    [
        # A US Model 3 on a 240 V split-phase supply: charger_phases 1 is one phase; 245 x 19.
        ("us_ac_1phase_charging.json", None, WallboxStatus.CHARGING, 1, 245 * 19),
        # One phase of an IEC supply, 32 A: charger_phases 1, 224 x 32 = 7.2 kW (the car: 7).
        ("ac_1phase_charging_tessie.json", True, WallboxStatus.CHARGING, 1, 224 * 32),
        # Three phases report charger_phases 2: 3 x 241 x 5 = 3.6 kW (the car: 4; 1 phase: 1.2).
        ("ac_3phase_charging_phases2.json", None, WallboxStatus.CHARGING, 3, 3 * 241 * 5),
        # At a Supercharger (DC, 377 V, no AC current): not at our wallbox, no AC power.
        ("us_supercharger_377v.json", None, WallboxStatus.NOT_READY, 0, 0),
        # At a CCS fast charger, even inside the PV zone: DC is never this wallbox.
        ("eu_supercharger_ccs.json", True, WallboxStatus.NOT_READY, 0, 0),
        # Plugged in, Stopped, not charged yet in this session, at the PV location.
        ("eu_plugged_stopped.json", True, WallboxStatus.READY_FOR_PV, 0, 0),
        # The same reply with the PV zone elsewhere: ready, but not for PV.
        ("eu_plugged_stopped.json", False, WallboxStatus.READY, 0, 0),
        # Complete: the charge of this session ended; charger_phases 2 at 0 A is no charge.
        ("complete_no_coordinates.json", None, WallboxStatus.STOPPED, 0, 0),
        # Stopped with every charger field null (waiting for a DepartBy schedule): still plugged
        # in, as Tesla reports Disconnected for a car without a cable.
        ("stopped_charger_fields_null.json", True, WallboxStatus.READY_FOR_PV, 0, 0),
        # Unplugged: the last session's energy stays in charge_energy_added, nothing is plugged.
        ("disconnected_after_session.json", True, WallboxStatus.NOT_READY, 0, 0),
        # No drive_state at all: plugged and Stopped, the position unknown, so not "for PV".
        ("no_drive_state.json", None, WallboxStatus.READY, 0, 0),
    ],
)
async def test_wallbox_view_of_a_real_reply(
    hass: HomeAssistant,
    name: str,
    home: bool | None,
    status: WallboxStatus,
    phases: int,
    power: int,
) -> None:
    """home: True draws the PV zone around the recorded position, False far from it, None
    (replies without a position) somewhere: it cannot matter."""
    coordinator = coordinator_for(hass)
    if home is True:
        set_zone(hass, *position(name))
    else:
        set_zone(hass, 0.0, 0.0)
    state = apply(coordinator, reply(name))
    assert state.status is status
    assert state.charge is not None
    assert state.charge.phases == phases
    assert state.charge.power == power
    assert state.at_pv_location is home
    assert state.connection is Connection.ONLINE


@pytest.mark.parametrize(
    "name",
    [
        "us_ac_1phase_charging.json",
        "ac_1phase_charging_tessie.json",
        "ac_3phase_charging_phases2.json",
    ],
)
def test_power_agrees_with_the_cars_own_kilowatts(name: str) -> None:
    """phases x volts x amps matches charger_power, which the car rounds to whole kW."""
    charge = ChargeData.from_api(reply(name)["charge_state"])
    assert charge.charger_power is not None
    assert abs(charge.power / 1000 - charge.charger_power) <= 0.5


def test_a_three_phase_charge_is_three_phases_from_its_first_seconds() -> None:
    """TeslaMate's first two samples of a charge in Madrid: charger_phases 2 (three phases).

    The current ramps up and the kW lag behind (3 A with 1 kW, then 6 A with 3 kW), so the old
    power ratio said 2 phases ((1 kW + 0.5 kW) / 231 V / 3 A = 2.2), a count no Tesla charges
    on. The car's own charger_phases is what counts; power then is 3 x V x A, ahead of the kW.
    """
    samples = load("es_3phase_charge_start.json")["data"]["charge"]["charge_details"]
    assert len(samples) == 2
    for sample in samples:
        details = sample["charger_details"]
        charge = ChargeData.from_api({"charging_state": "Charging", **details})
        assert details["charger_phases"] == 2
        assert charge.phases == 3
        amps, volts = details["charger_actual_current"], details["charger_voltage"]
        assert charge.power == 3 * volts * amps
        assert charge.power / 1000 > details["charger_power"]  # the lag, not a rounding


def test_go_e_sees_no_car_at_a_fast_charger() -> None:
    """go-e's carState and nrg: a car at a Supercharger is no car at this charger."""
    fast = ChargeData.from_api(reply("us_supercharger_377v.json")["charge_state"])
    assert fast.charging
    assert car_state(fast) == CAR_IDLE
    assert energy_array(fast)[11] == 0
    home = ChargeData.from_api(reply("ac_3phase_charging_phases2.json")["charge_state"])
    assert car_state(home) == CAR_CHARGING
    assert energy_array(home)[4:7] == [5, 5, 5]  # three phases carry current
    assert energy_array(home)[11] == 3 * 241 * 5


# ----- at the PV location: known, not, unknown ---------------------------------------------------


async def test_a_reply_without_coordinates_leaves_the_position_unknown(
    hass: HomeAssistant,
) -> None:
    """A car seen at home, then a reply whose drive_state has no latitude/longitude (Tesla
    leaves them out without location_data or the vehicle_location scope): where the car is now is
    not known, so "at PV location" is unknown rather than the old position."""
    coordinator = coordinator_for(hass)
    set_zone(hass, *position("eu_plugged_stopped.json"))
    assert apply(coordinator, reply("eu_plugged_stopped.json")).at_pv_location is True
    state = apply(coordinator, reply("complete_no_coordinates.json"), NOW + 600)
    assert state.at_pv_location is None
    assert (state.latitude, state.longitude) == (None, None)
    assert state.status is WallboxStatus.STOPPED
    # The same for a reply without any drive_state.
    apply(coordinator, reply("eu_plugged_stopped.json"), NOW + 1200)
    assert apply(coordinator, reply("no_drive_state.json"), NOW + 1800).at_pv_location is None


async def test_without_a_pv_zone_the_car_is_never_at_it(hass: HomeAssistant) -> None:
    """No PV zone configured: there is no PV location to be at (the sensor reads off)."""
    coordinator = coordinator_for(hass, zone=False)
    for name in ("eu_plugged_stopped.json", "no_drive_state.json"):
        state = apply(coordinator, reply(name))
        assert state.at_pv_location is False
        assert state.status is WallboxStatus.READY


async def test_an_unknown_position_survives_a_restart_as_unknown(hass: HomeAssistant) -> None:
    coordinator = coordinator_for(hass)
    set_zone(hass, *position("eu_plugged_stopped.json"))
    apply(coordinator, reply("complete_no_coordinates.json"))
    restored = WallboxCoordinator(
        hass,
        coordinator.config_entry,
        coordinator.client,
        coordinator._store,
        "real data",
    )
    assert restored.data.at_pv_location is None
    assert restored.data.charge is not None
    assert restored.data.charge.charging_state == "Complete"


# ----- the reply's own state: a cached reply of an offline car -----------------------------------


async def test_a_reply_in_a_state_we_do_not_know_buys_no_loop(hass: HomeAssistant) -> None:
    """A reply whose state is neither online, asleep nor offline (constructed): the car is not
    online for us, and no read follows at once (a state check would say online again)."""
    coordinator = coordinator_for(hass)
    set_zone(hass, *position("eu_plugged_stopped.json"))
    before = apply(coordinator, reply("eu_plugged_stopped.json"))
    state = apply(coordinator, reply("eu_plugged_stopped.json") | {"state": "waking"}, NOW + 60)
    assert state.connection is None
    assert state.charge == before.charge
    assert state.data_time == NOW
    gate = coordinator.facts.data_not_before
    assert gate is not None
    assert gate >= NOW + 60 + coordinator.settings.sleep_check_interval


@pytest.mark.parametrize("cached_state", ["offline", "asleep"])
async def test_a_cached_reply_of_a_car_that_is_not_online(
    hass: HomeAssistant, cached_state: str
) -> None:
    """tesla-fleet-api's vehicle_data docstring (tesla/vehicle/fleet.py): "This may return cached
    data if the vehicle is offline" (Tesla's Fleet API docs say the same). No such reply is
    recorded publicly; Home Assistant's teslemetry tests make one the same way, by setting the
    state of vehicle_data.json to offline (tests/components/teslemetry/const.py). It tells the
    car's state, like the vehicle endpoint; its sections are old, so they change nothing."""
    coordinator = coordinator_for(hass)
    set_zone(hass, *position("eu_plugged_stopped.json"))
    before = apply(coordinator, reply("eu_plugged_stopped.json"))
    cached = reply("ac_1phase_charging_tessie.json") | {"state": cached_state}
    state = apply(coordinator, cached, NOW + 600)
    assert state.connection is Connection(cached_state)
    assert coordinator.facts.connection is Connection(cached_state)
    assert state.charge == before.charge
    assert state.data_time == NOW
    assert state.checked_time == NOW + 600  # an answer from the API: not stale
    assert state.at_pv_location is True
    assert coordinator.facts.data_time == NOW
    # As after a 408: no vehicle_data for a while, whatever a state check says meanwhile.
    assert coordinator.facts.data_not_before is not None
    assert coordinator.facts.data_not_before > NOW + 600
    if cached_state == "offline":
        assert state.confirmed_time == NOW  # nothing says the old data still holds
    coordinator._schedule(NOW + 600)
    assert coordinator.plan is not None
    assert coordinator.plan.kind is PollKind.STATE
    await coordinator.async_shutdown()


# ----- replies without a charge_state ------------------------------------------------------------


@pytest.mark.parametrize("missing", [None, "absent"])
async def test_a_reply_without_charge_state_keeps_the_session(
    hass: HomeAssistant, missing: str | None
) -> None:
    """Charging at home (recorded), the user's stop (charge_requested False), then a live reply
    whose charge_state is null or left out (constructed: the recorded reply without it). The
    cable and the session are as they were: the last charge data and the session facts stay."""
    coordinator = coordinator_for(hass)
    set_zone(hass, *position("ac_1phase_charging_tessie.json"))
    charging = apply(coordinator, reply("ac_1phase_charging_tessie.json"))
    assert charging.session_charged
    coordinator.data = replace(charging, charge_requested=False)
    without = reply("ac_1phase_charging_tessie.json")
    if missing is None:
        without["charge_state"] = None
    else:
        del without["charge_state"]
    state = apply(coordinator, without, NOW + 600)
    assert state.charge == charging.charge
    assert state.session_charged
    assert state.charge_requested is False
    assert state.data_time == NOW  # the charge data is as old as it was
    assert state.checked_time == NOW + 600
    assert coordinator.facts.data_time == NOW + 600  # a read was made: not read again at once
    assert state.at_pv_location is True
    # The next full reply of the same session goes on with it.
    state = apply(coordinator, reply("ac_1phase_charging_tessie.json"), NOW + 1200)
    assert state.charge_requested is False
    assert state.session_charged


# ----- the lifetime energy total -----------------------------------------------------------------


def counter(coordinator: WallboxCoordinator, session_kwh: float) -> EnergyCounter:
    """An energy counter that already counted `session_kwh` of an earlier session."""
    store = coordinator._store
    store.set(VIN, "energy", {"total_wh": 1000.0, "session_kwh": session_kwh, "data_time": 1.0})
    return EnergyCounter(coordinator, store)


@pytest.mark.parametrize(
    ("name", "home", "zone", "added_wh"),
    [
        # AC at the PV location: the wallbox's own energy.
        ("ac_1phase_charging_tessie.json", True, True, 18_470.0),
        # AC known to be outside the PV zone: charged elsewhere, not at home.
        ("ac_1phase_charging_tessie.json", False, True, 0.0),
        # No PV zone: there is no telling where home is, so every AC charge counts.
        ("ac_1phase_charging_tessie.json", None, False, 18_470.0),
        # DC fast charging is never this wallbox, inside the PV zone or not.
        ("eu_supercharger_ccs.json", True, True, 0.0),
        ("us_supercharger_377v.json", None, True, 0.0),
        # Position unknown (no drive_state) in a session never located: counted, as without a
        # PV zone; only a car known to be elsewhere is left out.
        ("no_drive_state.json", None, True, 15_660.0),
    ],
)
async def test_what_the_energy_total_counts(
    hass: HomeAssistant, name: str, home: bool | None, zone: bool, added_wh: float
) -> None:
    coordinator = coordinator_for(hass, zone=zone)
    if home is True:
        set_zone(hass, *position(name))
    else:
        set_zone(hass, 0.0, 0.0)
    energy = counter(coordinator, session_kwh=0.0)
    apply(coordinator, reply(name))
    energy.async_update()
    assert energy.total_wh == pytest.approx(1000.0 + added_wh)


async def test_energy_of_a_fast_charge_is_not_counted_when_back_home(hass: HomeAssistant) -> None:
    """Home (counted), a Supercharger on the way (29.44 kWh, not counted), home again: the
    new session at home starts from zero and counts from there."""
    coordinator = coordinator_for(hass)
    set_zone(hass, *position("ac_1phase_charging_tessie.json"))
    energy = counter(coordinator, session_kwh=0.0)
    apply(coordinator, reply("ac_1phase_charging_tessie.json"))
    energy.async_update()
    assert energy.total_wh == pytest.approx(1000.0 + 18_470.0)
    apply(coordinator, reply("us_supercharger_377v.json"), NOW + 3600)
    energy.async_update()
    assert energy.total_wh == pytest.approx(1000.0 + 18_470.0)
    home_again = reply("ac_1phase_charging_tessie.json")
    home_again["charge_state"] = home_again["charge_state"] | {"charge_energy_added": 2.5}
    apply(coordinator, home_again, NOW + 7200)
    energy.async_update()
    assert energy.total_wh == pytest.approx(1000.0 + 18_470.0 + 2_500.0)


async def test_a_session_known_to_be_away_stays_away_without_coordinates(
    hass: HomeAssistant,
) -> None:
    """Charging on AC outside the PV zone, then a reply of the same session without drive_state
    (constructed from the recorded one): a plugged-in car does not move, so the energy of that
    session is still not counted, and at-PV-location is unknown all the same."""
    coordinator = coordinator_for(hass)
    set_zone(hass, 0.0, 0.0)
    energy = counter(coordinator, session_kwh=0.0)
    apply(coordinator, reply("ac_1phase_charging_tessie.json"))
    energy.async_update()
    later = reply("ac_1phase_charging_tessie.json")
    del later["drive_state"]
    later["charge_state"] = later["charge_state"] | {"charge_energy_added": 20.0}
    state = apply(coordinator, later, NOW + 600)
    energy.async_update()
    assert state.at_pv_location is None
    assert energy.total_wh == pytest.approx(1000.0)


async def test_a_disconnected_reply_adds_nothing(hass: HomeAssistant) -> None:
    """After unplugging, charge_energy_added still shows the last session (7.62 kWh): nothing
    more was charged, and the total does not grow."""
    coordinator = coordinator_for(hass)
    set_zone(hass, *position("disconnected_after_session.json"))
    energy = counter(coordinator, session_kwh=7.62)
    apply(coordinator, reply("disconnected_after_session.json"))
    energy.async_update()
    assert energy.total_wh == pytest.approx(1000.0)
