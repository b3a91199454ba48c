"""The command line: argument parsing, scenarios, run() in-process and main() with a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
import urllib.request

import aiohttp
import pytest

from fleet_sim import Simulator
from fleet_sim.__main__ import build_parser, build_simulator, main, run


async def test_run_serves_demo_until_stopped(
    socket_enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(
        ["--port", "0", "--scenario", "demo", "--latitude", "48.0", "--longitude", "11.0"]
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    started: list[Simulator] = []

    def on_ready(simulator: Simulator) -> None:
        started.append(simulator)
        ready.set()

    server = asyncio.create_task(run(args, stop, ready=on_ready))
    async with asyncio.timeout(5):
        await ready.wait()
    sim = started[0]
    assert sim.url is not None
    home, away = sim.vehicle(1), sim.vehicle(2)
    assert (home.latitude, home.longitude) == (48.0, 11.0)
    assert home.plugged_in is True
    assert home.charging_state == "Stopped"
    assert home.battery_level == 40
    assert home.charge_limit_soc == 80
    assert away.state == "asleep"
    # 0.18 degrees of latitude is about 20 km.
    assert (away.latitude - home.latitude) * 111.2 == pytest.approx(20, abs=0.5)

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.url}/status") as response:
            assert await response.text() == "ok"
        headers = {"Authorization": "Bearer any-token"}
        async with session.get(f"{sim.url}/api/1/vehicles", headers=headers) as response:
            assert (await response.json())["count"] == 2
    stop.set()
    await server
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == sim.url
    assert "Demo Home Car: online, Stopped, 40 %" in printed[1]
    assert "Demo Away Car: asleep, Disconnected, 65 %" in printed[2]


def test_options_reach_the_simulator() -> None:
    args = build_parser().parse_args(
        [
            "--vehicles",
            "3",
            "--speed",
            "60",
            "--token",
            "secret",
            "--wake-delay",
            "5",
            "--sleep-after",
            "60",
        ]
    )
    sim = build_simulator(args)
    assert len(sim.vehicles) == 3
    assert sim.clock.speed == 60
    assert sim.token == "secret"
    assert sim.vehicle(3).wake_delay == 5
    assert sim.vehicle(3).sleep_after == 60
    assert args.port == 8765
    demo = build_simulator(build_parser().parse_args(["--scenario", "demo", "--vehicles", "4"]))
    assert [v.display_name for v in demo.vehicles.values()][2:] == [
        "Simulated Car 3",
        "Simulated Car 4",
    ]


@pytest.mark.parametrize("option", ["--vehicles", "--speed", "--state-price"])
def test_negative_options_are_refused(option: str) -> None:
    with pytest.raises(SystemExit, match="must not be negative"):
        build_simulator(build_parser().parse_args([option, "-1"]))


def test_state_price_reaches_the_ledger() -> None:
    assert build_simulator(build_parser().parse_args([])).ledger.state_price == 0
    sim = build_simulator(build_parser().parse_args(["--state-price", "0.0005"]))
    assert sim.ledger.state_price == 0.0005
    assert sim.ledger.price_of("state", 200) == 0.0005


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _interrupt_when_serving(port: int) -> None:
    # Only once the server answers are main()'s signal handlers surely installed.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=1) as answer:
                if answer.read() == b"ok":
                    break
        except OSError:
            time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)


def test_main_serves_until_sigint(socket_enabled: None, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    interrupter = threading.Thread(target=_interrupt_when_serving, args=(port,))
    interrupter.start()
    try:
        assert main(["--port", str(port), "--vehicles", "2"]) == 0
    finally:
        interrupter.join()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"http://127.0.0.1:{port}"
    assert len(printed) == 3
