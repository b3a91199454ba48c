"""The pure parts: clock, vehicle configuration, simulator bookkeeping."""

from __future__ import annotations

import time

import pytest

from fleet_sim import SimClock, Simulator, SimVehicle, VehicleConfig

from .const import START


def test_manual_clock_moves_only_by_advance() -> None:
    clock = SimClock(start=START, speed=0)
    assert clock.now() == START
    clock.advance(12.5)
    assert clock.now() == START + 12.5
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_scaled_clock_and_speed_change_without_jump() -> None:
    clock = SimClock(start=START, speed=1000)
    time.sleep(0.01)
    assert clock.now() >= START + 10
    before = clock.now()
    clock.speed = 0
    frozen = clock.now()
    assert frozen >= before
    time.sleep(0.01)
    assert clock.now() == frozen
    assert clock.speed == 0
    with pytest.raises(ValueError, match="negative"):
        clock.speed = -1
    with pytest.raises(ValueError, match="negative"):
        SimClock(speed=-1)


def test_default_clock_follows_real_time() -> None:
    clock = SimClock()
    assert abs(clock.now() - time.time()) < 1


def test_vehicle_config_validation() -> None:
    clock = SimClock(start=START, speed=0)
    with pytest.raises(ValueError, match="state"):
        SimVehicle(VehicleConfig(state="driving"), clock=clock)
    with pytest.raises(ValueError, match="wall_max_amps"):
        SimVehicle(VehicleConfig(wall_max_amps=0), clock=clock)
    with pytest.raises(ValueError, match="supply_voltage"):
        SimVehicle(VehicleConfig(supply_voltage=0), clock=clock)
    with pytest.raises(ValueError, match="charge_limit_soc"):
        SimVehicle(VehicleConfig(charge_limit_soc=40), clock=clock)
    with pytest.raises(ValueError, match="battery_capacity_kwh"):
        SimVehicle(VehicleConfig(battery_capacity_kwh=0), clock=clock)
    wall = SimVehicle(
        VehicleConfig(wall_max_amps=32, supply_phases=1, supply_voltage=120), clock=clock
    )
    assert (wall.wall_max_amps, wall.supply_phases, wall.supply_voltage) == (32, 1, 120.0)
    assert wall.charge_current_request == 32
    car = SimVehicle(VehicleConfig(vin="LRW3F7EK4NC700000", display_name="Mine"), clock=clock)
    assert (car.vin, car.display_name) == ("LRW3F7EK4NC700000", "Mine")


def test_simulator_bookkeeping() -> None:
    sim = Simulator(clock=SimClock(start=START, speed=0), vehicles=2)
    assert list(sim.vehicles) == ["5YJ3SIMVIN0000001", "5YJ3SIMVIN0000002"]
    assert sim.vehicle(2) is sim.vehicle("5YJ3SIMVIN0000002")
    assert sim.vehicle("2") is sim.vehicle(2)
    for key in (0, 3, "nope"):
        with pytest.raises(KeyError):
            sim.vehicle(key)
    with pytest.raises(ValueError, match="duplicate"):
        sim.add_vehicle(VehicleConfig(vin="5YJ3SIMVIN0000001"))
    assert sim.vehicle_by_tag(str(sim.vehicle(1).id)) is sim.vehicle(1)
    assert sim.vehicle_by_tag("1") is None
    assert sim.url is None
    custom = Simulator(vehicles=[VehicleConfig(display_name="A"), VehicleConfig()])
    assert [v.display_name for v in custom.vehicles.values()] == ["A", "Simulated Car 2"]


async def test_start_twice_and_stop_twice(socket_enabled: None) -> None:
    sim = Simulator(clock=SimClock(start=START, speed=0))
    url = await sim.start()
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError, match="already running"):
        await sim.start()
    port = int(url.rsplit(":", 1)[1])
    taken = Simulator(clock=SimClock(start=START, speed=0))
    with pytest.raises(OSError, match=r"(?i)address already in use"):
        await taken.start(port=port)
    assert taken.url is None
    await sim.stop()
    await sim.stop()
    assert sim.url == url
    # A stopped simulator can be started again.
    again = await taken.start(port=port)
    assert again == url
    await taken.stop()


def test_battery_level_is_clamped_and_wake_delay_zero() -> None:
    clock = SimClock(start=START, speed=0)
    car = SimVehicle(VehicleConfig(battery_level=120, state="asleep"), clock=clock, wake_delay=0)
    assert car.battery_level == 100
    car.set_battery_level(-5)
    assert car.battery_level == 0
    assert car.wake_up()["state"] == "online"
    assert car.snapshot()["waking_until"] is None
