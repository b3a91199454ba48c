"""The go-e API v2 mapping (api/goe_keys.py, api/goe_plan.py): pure functions, no Home Assistant."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.tesla_wallbox.api import goe_keys, goe_plan
from custom_components.tesla_wallbox.api.goe_keys import (
    FRC_NEUTRAL,
    FRC_OFF,
    FRC_ON,
    KEYS,
    GoeSource,
    parse_filter,
    select,
    status_values,
)
from custom_components.tesla_wallbox.api.goe_plan import NOT_APPLIED, KeyCommand, plan_set
from custom_components.tesla_wallbox.vehicle_data import (
    CHARGING,
    COMPLETE,
    DISCONNECTED,
    NO_POWER,
    STARTING,
    STOPPED,
    ChargeData,
)


def charge(state: str = STOPPED, **fields: Any) -> ChargeData:
    """A plugged-in car on a 3 x 16 A wall charger, not charging unless told."""
    charging = state == CHARGING
    values: dict[str, Any] = {
        "charging_state": state,
        "battery_level": 40,
        "charge_current_request": 16,
        "charge_current_request_max": 16,
        "charger_pilot_current": 0 if state == DISCONNECTED else 16,
        "charger_actual_current": 16 if charging else 0,
        "charger_voltage": 230 if charging else 2,
        "charger_power": 11.0 if charging else 0.0,
        "charge_energy_added": 4.21,
    }
    values.update(fields)
    return ChargeData(**values)


def source(data: ChargeData | None = None, **fields: Any) -> GoeSource:
    values: dict[str, Any] = {
        "charge": charge() if data is None else data,
        "charge_requested": None,
        "start_blocked": False,
        "max_amps": 16,
        "total_wh": 12345.9,
        "frc": FRC_NEUTRAL,
        "name": "Model 3",
        "serial": "000001",
        "firmware": "0.1.0",
        "online": True,
    }
    values.update(fields)
    return GoeSource(**values)


NO_DATA = replace(source(), charge=None)


# ----- reading -------------------------------------------------------------------------------------


def test_every_key_in_order() -> None:
    assert tuple(status_values(source())) == KEYS
    assert tuple(status_values(NO_DATA)) == KEYS


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (DISCONNECTED, 1),
        (STOPPED, 3),
        (STARTING, 2),
        (CHARGING, 2),
        (COMPLETE, 4),
        (NO_POWER, 5),
    ],
)
def test_car_state(state: str, expected: int) -> None:
    values = status_values(source(charge(state)))
    assert values["car"] == expected
    assert values["err"] == (12 if state == NO_POWER else 0)
    # A transaction without a card while charging; none while plugged in and waiting.
    assert values["trx"] == (0 if state in (STARTING, CHARGING) else None)


def test_no_data_yet() -> None:
    values = status_values(NO_DATA)
    assert (values["car"], values["modelStatus"], values["err"]) == (0, 0, 0)
    assert (values["amp"], values["acu"], values["wh"], values["trx"]) == (None, 0, 0.0, None)
    assert values["nrg"] == [0] * 16
    assert values["alw"] is True
    assert status_values(replace(NO_DATA, frc=FRC_OFF))["alw"] is False


@pytest.mark.parametrize(
    ("state", "frc", "requested", "alw", "model"),
    [
        (CHARGING, FRC_NEUTRAL, None, True, 15),
        (CHARGING, FRC_ON, True, True, 3),
        (CHARGING, FRC_OFF, None, True, 15),  # it charges, so it may: the client sees a mismatch
        (STOPPED, FRC_NEUTRAL, None, True, 15),
        (STOPPED, FRC_ON, None, True, 3),
        (STOPPED, FRC_OFF, None, False, 4),
        (STOPPED, FRC_NEUTRAL, False, False, 4),  # stopped by the switch, the PV runner, ...
        (COMPLETE, FRC_NEUTRAL, True, True, 15),
        (DISCONNECTED, FRC_OFF, None, False, 4),
        (NO_POWER, FRC_NEUTRAL, True, True, 26),
    ],
)
def test_allowed_and_model_status(
    state: str, frc: int, requested: bool | None, alw: bool, model: int
) -> None:
    values = status_values(source(charge(state), frc=frc, charge_requested=requested))
    assert (values["alw"], values["modelStatus"], values["frc"]) == (alw, model, frc)


def test_allowed_current() -> None:
    assert status_values(source(charge(CHARGING, charge_current_request=10)))["acu"] == 10
    # The wall charger's pilot caps what the car asks for.
    capped = charge(STOPPED, charge_current_request=16, charger_pilot_current=13)
    assert status_values(source(capped))["acu"] == 13
    unplugged = charge(DISCONNECTED, charge_current_request=12)
    assert status_values(source(unplugged))["acu"] == 12
    assert status_values(source(charge(), frc=FRC_OFF))["acu"] == 0


def test_energy_three_phases() -> None:
    data = charge(CHARGING)
    values = status_values(source(data))
    assert values["nrg"] == [
        230, 230, 230, 0,
        16, 16, 16,
        3680, 3680, 3680, 0, 11040,
        100, 100, 100, 0,
    ]  # fmt: skip
    assert values["nrg"][11] == data.power == sum(values["nrg"][7:10])
    assert (values["pnp"], values["psm"]) == (3, 2)
    assert values["pha"] == [True, True, True, True, True, True]


def test_energy_one_phase() -> None:
    data = charge(CHARGING, charger_actual_current=32, charger_power=7.0, charge_current_request=32)
    values = status_values(source(data, max_amps=32))
    assert values["nrg"] == [230, 0, 0, 0, 32, 0, 0, 7360, 0, 0, 0, 7360, 100, 0, 0, 0]
    assert (values["pnp"], values["psm"], values["var"], values["ama"]) == (1, 1, 22, 32)
    assert values["pha"] == [True, False, False, True, False, False]


def test_idle_car_reports_no_measurements() -> None:
    values = status_values(source(charge(STOPPED)))  # a plugged idle Tesla reads about 2 V
    assert values["nrg"] == [0] * 16
    assert (values["pha"], values["pnp"], values["psm"]) == (None, 0, 0)


def test_a_car_at_a_dc_fast_charger_is_no_car_here() -> None:
    """Supercharging (fast_charger_present, 377 V, 0 A on the AC fields): go-e shows no car at
    this charger, no current, no session energy, and the lifetime total as it was."""
    fast = charge(
        CHARGING,
        charger_actual_current=0,
        charger_pilot_current=0,
        charger_voltage=377,
        charger_power=78.0,
        charge_energy_added=29.44,
        fast_charger_present=True,
        fast_charger_type="Tesla",
    )
    values = status_values(source(fast))
    assert (values["car"], values["trx"], values["wh"], values["eto"]) == (1, None, 0.0, 12345)
    assert values["nrg"] == [0] * 16
    assert (values["pha"], values["pnp"], values["psm"]) == (None, 0, 0)
    assert values["alw"] is True  # allowed as an idle charger is: nothing of ours forbids it
    assert status_values(source(fast, frc=FRC_OFF))["alw"] is False


@pytest.mark.parametrize("frc", [FRC_OFF, FRC_ON, FRC_NEUTRAL])
def test_force_state_never_reaches_a_dc_charge(frc: int) -> None:
    """A client's off (evcc's "disable" of an idle loadpoint) must not stop a Supercharger."""
    fast = charge(CHARGING, charger_actual_current=0, fast_charger_present=True)
    plan = plan_set([("frc", str(frc))], source(fast, frc=FRC_OFF, charge_requested=False))
    assert plan.results == {"frc": True}
    assert (plan.actions, plan.frc) == ([], frc)
    stopped = replace(fast, charging_state=STOPPED)
    assert plan_set([("frc", str(frc))], source(stopped)).actions == []


def test_energy_counters_and_constants() -> None:
    values = status_values(source(charge(charge_energy_added=4.21), total_wh=12345.9))
    assert values["wh"] == 4210.0
    assert isinstance(values["eto"], int)
    assert values["eto"] == 12345
    assert values["var"] == 11
    assert (values["sse"], values["fna"], values["fwv"]) == ("000001", "Model 3", "0.1.0")
    assert (values["oem"], values["typ"]) == ("Tesla Wallbox", "tesla_wallbox")
    assert (values["cards"], values["tma"], values["cbl"], values["dwo"]) == ([], [], None, None)
    assert (values["acs"], values["ust"]) == (0, 0)


@pytest.mark.parametrize(
    ("filters", "wanted"),
    [
        ([], None),
        ([""], None),
        (["alw"], {"alw"}),
        (["car, alw ,amp,"], {"car", "alw", "amp"}),
        (["car", "nrg"], {"car", "nrg"}),
        (['["rfb","alw",3]'], {"rfb", "alw"}),  # firmware before 051.4
        (["[broken"], None),
        (["[1, 2]"], None),
    ],
)
def test_parse_filter(filters: list[str], wanted: set[str] | None) -> None:
    assert parse_filter(filters) == wanted


def test_select() -> None:
    values = status_values(source())
    assert select(values, None) is values
    assert select(values, {"car", "amp", "nonsense"}) == {"car": 3, "amp": 16}


# ----- writing -------------------------------------------------------------------------------------


def test_set_amp() -> None:
    plan = plan_set([("amp", "10")], source())
    assert plan.results == {"amp": True}
    assert plan.actions == [KeyCommand("amp", "amps", 10)]
    assert plan.accepted
    # Already set: true, and no command for the car.
    plan = plan_set([("amp", "16.0")], source())
    assert (plan.results, plan.actions) == ({"amp": True}, [])


@pytest.mark.parametrize(
    "text", ["0", "17", "-3", "10.5", '"10"', "true", "null", "[10]", "NaN", "1e999", "ten", ""]
)
def test_set_amp_refused(text: str) -> None:
    plan = plan_set([("amp", text)], source())
    assert isinstance(plan.results["amp"], str)
    assert plan.actions == []
    assert not plan.accepted


def test_writes_need_data() -> None:
    for key, text in (("amp", "10"), ("frc", "2")):
        plan = plan_set([(key, text)], NO_DATA)
        assert plan.results == {key: goe_plan.NO_DATA}
        assert plan.frc is None
    assert plan_set([("fna", '"Garage"')], NO_DATA).results == {"fna": True}


@pytest.mark.parametrize(
    ("frc", "state", "previous", "requested", "blocked", "expected"),
    [
        # on: start a plugged-in car that is not charging, nothing otherwise
        (FRC_ON, STOPPED, FRC_NEUTRAL, None, False, "start"),
        (FRC_ON, STOPPED, FRC_ON, True, False, "start"),
        (FRC_ON, CHARGING, FRC_NEUTRAL, None, False, None),
        (FRC_ON, STARTING, FRC_NEUTRAL, None, False, None),
        (FRC_ON, COMPLETE, FRC_NEUTRAL, None, False, None),
        (FRC_ON, DISCONNECTED, FRC_NEUTRAL, None, False, None),
        (FRC_ON, NO_POWER, FRC_NEUTRAL, None, False, None),
        (FRC_ON, STOPPED, FRC_NEUTRAL, None, True, "refused"),
        # off: stop a car that charges (or would resume when power comes back)
        (FRC_OFF, CHARGING, FRC_NEUTRAL, None, False, "stop"),
        (FRC_OFF, STARTING, FRC_NEUTRAL, None, False, "stop"),
        (FRC_OFF, NO_POWER, FRC_NEUTRAL, None, False, "stop"),
        (FRC_OFF, STOPPED, FRC_NEUTRAL, None, False, None),
        (FRC_OFF, DISCONNECTED, FRC_NEUTRAL, None, False, None),
        # neutral (evcc's "enable"): lift an off or a stop, never start a car that chose to wait
        (FRC_NEUTRAL, STOPPED, FRC_OFF, None, False, "start"),
        (FRC_NEUTRAL, STOPPED, FRC_NEUTRAL, False, False, "start"),
        (FRC_NEUTRAL, STOPPED, FRC_NEUTRAL, None, False, None),
        (FRC_NEUTRAL, STOPPED, FRC_NEUTRAL, True, False, None),
        (FRC_NEUTRAL, STOPPED, FRC_OFF, False, True, None),  # the soft target holds it
        (FRC_NEUTRAL, CHARGING, FRC_OFF, None, False, None),
        (FRC_NEUTRAL, DISCONNECTED, FRC_OFF, None, False, None),
    ],
)
def test_set_frc(
    *,
    frc: int,
    state: str,
    previous: int,
    requested: bool | None,
    blocked: bool,
    expected: str | None,
) -> None:
    car = source(charge(state), frc=previous, charge_requested=requested, start_blocked=blocked)
    plan = plan_set([("frc", str(frc))], car)
    if expected == "refused":
        assert plan.results == {"frc": "the soft target SoC is reached: charging cannot start"}
        assert (plan.actions, plan.frc) == ([], None)
        return
    assert plan.results == {"frc": True}
    assert plan.frc == frc  # the value stays as set, whether or not the car needed a command
    assert plan.actions == ([KeyCommand("frc", expected)] if expected else [])


@pytest.mark.parametrize("text", ["3", "-1", "1.5", '"2"', "false", "on"])
def test_set_frc_refused(text: str) -> None:
    plan = plan_set([("frc", text)], source())
    assert isinstance(plan.results["frc"], str)
    assert (plan.actions, plan.frc) == ([], None)


def test_set_fna() -> None:
    plan = plan_set([("fna", '"Garage \\u00e4"')], source())
    assert (plan.results, plan.name, plan.actions) == ({"fna": True}, "Garage ä", [])
    # Empty, too long, a newline, not a string, not JSON; a lone surrogate (valid JSON, but no
    # UTF-8 store can write it), DEL, a C1 control and a line separator: none is a name.
    refused = ('""', '"' + "x" * 65 + '"', '"a\\nb"', "42", "Garage")
    refused += ('"\\ud800"', '"x\\udfffy"', '"a\\u007fb"', '"\\u0085"', '"\\u2028"')
    for text in refused:
        plan = plan_set([("fna", text)], source())
        assert isinstance(plan.results["fna"], str), text
        assert plan.name is None


@pytest.mark.parametrize(
    ("key", "text", "answer"),
    [
        ("psm", "1", "phase switching is not possible"),
        ("psm", "2", "phase switching is not possible"),
        ("alw", "true", "alw is read-only"),
        ("car", "2", "car is read-only"),
        ("nrg", "[]", "nrg is read-only"),
        ("modelStatus", "3", "modelStatus is read-only"),
        ("rbt", "0", "rbt is not a key of this charger"),
        ("AMP", "10", "AMP is not a key of this charger"),
    ],
)
def test_read_only_and_unknown_keys(key: str, text: str, answer: str) -> None:
    plan = plan_set([(key, text)], source())
    result = plan.results[key]
    assert isinstance(result, str)
    assert result.startswith(answer)
    assert plan.actions == []


def test_all_or_nothing() -> None:
    plan = plan_set([("amp", "10"), ("fna", '"Garage"'), ("frc", "2"), ("psm", "1")], source())
    assert plan.results["amp"] == plan.results["fna"] == plan.results["frc"] == NOT_APPLIED
    assert isinstance(plan.results["psm"], str)
    assert plan.results["psm"] != NOT_APPLIED
    assert (plan.actions, plan.frc, plan.name) == ([], None, None)


def test_repeated_key() -> None:
    plan = plan_set([("amp", "10"), ("amp", "10")], source())
    assert plan.results == {"amp": "amp is given more than once"}
    assert plan.actions == []


def test_amps_before_start_whatever_the_order() -> None:
    plan = plan_set([("frc", "2"), ("amp", "8")], source())
    assert plan.actions == [KeyCommand("amp", "amps", 8), KeyCommand("frc", "start")]
    assert plan.results == {"frc": True, "amp": True}


def test_empty_set() -> None:
    plan = plan_set([], source())
    assert (plan.results, plan.actions, plan.accepted) == ({}, [], True)


# ----- su: evcc's wake-up ------------------------------------------------------------------------

ASLEEP = replace(source(), online=False)


@pytest.mark.parametrize("text", ["1", "true", "1.0"])  # evcc sends 1, a go-e takes true
def test_wake_up_a_car_that_is_not_online(text: str) -> None:
    plan = plan_set([("su", text)], ASLEEP)
    assert (plan.results, plan.actions, plan.wake) == ({"su": True}, [], True)


@pytest.mark.parametrize("text", ["0", "false", "0.0"])
def test_su_false_does_nothing(text: str) -> None:
    plan = plan_set([("su", text)], ASLEEP)
    assert (plan.results, plan.actions, plan.wake) == ({"su": True}, [], False)


def test_su_on_an_online_car_does_nothing() -> None:
    plan = plan_set([("su", "1")], source())
    assert (plan.results, plan.actions, plan.wake) == ({"su": True}, [], False)


def test_su_before_any_data_wakes() -> None:
    """A car asleep since set-up: a wake-up is how it gets read at all."""
    plan = plan_set([("su", "1")], replace(NO_DATA, online=False))
    assert (plan.results, plan.wake) == ({"su": True}, True)


@pytest.mark.parametrize("text", ["2", "-1", "0.5", '"1"', "null", "[1]", "yes", ""])
def test_su_refused(text: str) -> None:
    plan = plan_set([("su", text)], ASLEEP)
    assert isinstance(plan.results["su"], str)
    assert not plan.wake


def test_su_with_a_command_needs_no_wake_of_its_own() -> None:
    plan = plan_set([("su", "1"), ("amp", "8")], ASLEEP)
    assert (plan.actions, plan.wake) == ([KeyCommand("amp", "amps", 8)], False)
    # The current is already set: no command, so su wakes the car itself.
    plan = plan_set([("su", "1"), ("amp", "16")], ASLEEP)
    assert (plan.actions, plan.wake) == ([], True)


def test_su_all_or_nothing() -> None:
    plan = plan_set([("su", "1"), ("psm", "1")], ASLEEP)
    assert plan.results["su"] == NOT_APPLIED
    assert not plan.wake


def test_a_failed_wake_up_answers_at_su() -> None:
    plan = plan_set([("su", "1")], ASLEEP)
    plan.fail("wake_timeout", None)
    assert plan.results == {"su": "wake_timeout"}


def test_su_is_not_a_status_key() -> None:
    assert "su" not in status_values(source())


def test_fail_marks_the_failed_action_and_the_rest() -> None:
    plan = plan_set([("amp", "8"), ("frc", "2")], source())
    plan.fail("command_refused: disconnected", "start")
    assert plan.results == {"amp": True, "frc": "command_refused: disconnected"}
    plan = plan_set([("amp", "8"), ("frc", "2")], source())
    plan.fail("wake_timeout", "amps")
    assert plan.results == {"amp": "wake_timeout", "frc": NOT_APPLIED}
    plan = plan_set([("amp", "8"), ("frc", "2")], source())
    plan.fail("soft_target_reached", None)  # refused before anything was sent
    assert plan.results == {"amp": "soft_target_reached", "frc": "soft_target_reached"}


KEY_NAMES = st.sampled_from([*KEYS, "psm", "su", "rbt", "x"])
JSON_TEXTS = st.one_of(
    st.integers(-5, 40).map(str),
    st.sampled_from(["true", "null", '"x"', "2.5", "{", "[1]", '""', '"Garage"']),
)


@given(
    st.lists(st.tuples(KEY_NAMES, JSON_TEXTS), max_size=5),
    st.sampled_from(goe_keys.FRC_VALUES),
    st.booleans(),
)
def test_any_query_is_all_or_nothing(
    query: list[tuple[str, str]], previous: int, online: bool
) -> None:
    plan = plan_set(query, source(frc=previous, online=online))
    assert set(plan.results) == {key for key, _ in query}
    if plan.accepted:
        assert all(result is True for result in plan.results.values())
        assert not (plan.wake and (online or plan.actions))  # one wake-up at most, when needed
    else:
        assert (plan.actions, plan.frc, plan.name, plan.wake) == ([], None, None, False)
        assert all(isinstance(result, str) for result in plan.results.values())
    assert all(action.key in plan.results for action in plan.actions)
