"""Run the simulator standalone: python -m fleet_sim --port 8765 [--scenario demo] ..."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
import signal
import sys

from .clock import SimClock
from .scenarios import DEFAULT_LATITUDE, DEFAULT_LONGITUDE, SCENARIOS
from .simulator import Simulator


def build_parser() -> argparse.ArgumentParser:
    """The command line options."""
    parser = argparse.ArgumentParser(prog="python -m fleet_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--vehicles", type=int, default=1, help="number of cars")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--token", default=None, help="the only accepted token (default: any)")
    parser.add_argument("--wake-delay", type=float, default=20.0, help="seconds to wake up")
    parser.add_argument("--sleep-after", type=float, default=900.0, help="quiet seconds to sleep")
    parser.add_argument(
        "--state-price",
        type=float,
        default=0.0,
        help="USD per state read (vehicle list, products, vehicle object; default free)",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="default")
    parser.add_argument("--latitude", type=float, default=DEFAULT_LATITUDE)
    parser.add_argument("--longitude", type=float, default=DEFAULT_LONGITUDE)
    return parser


def build_simulator(args: argparse.Namespace) -> Simulator:
    """A Simulator configured from parsed command line options."""
    if args.vehicles < 0 or args.speed < 0 or args.state_price < 0:
        raise SystemExit("--vehicles, --speed and --state-price must not be negative")
    configs = SCENARIOS[args.scenario](args.vehicles, args.latitude, args.longitude)
    return Simulator(
        clock=SimClock(speed=args.speed),
        vehicles=configs,
        token=args.token,
        wake_delay=args.wake_delay,
        sleep_after=args.sleep_after,
        state_price=args.state_price,
    )


async def run(
    args: argparse.Namespace,
    stop: asyncio.Event,
    *,
    ready: Callable[[Simulator], None] | None = None,
) -> None:
    """Serve until ``stop`` is set; print the URL first (alone on its line) and the cars."""
    sim = build_simulator(args)
    url = await sim.start(args.host, args.port)
    try:
        print(url, flush=True)
        for vehicle in sim.vehicles.values():
            print(
                f"  {vehicle.vin}  {vehicle.display_name}: {vehicle.state}, "
                f"{vehicle.charging_state}, {vehicle.battery_level:.0f} %",
                flush=True,
            )
        if ready is not None:
            ready(sim)
        await stop.wait()
    finally:
        await sim.stop()


async def _serve_until_signal(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run(args, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, serve until SIGINT/SIGTERM, return the exit code."""
    args = build_parser().parse_args(argv)
    asyncio.run(_serve_until_signal(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
