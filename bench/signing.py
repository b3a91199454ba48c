"""Part 3b: what signing costs a command, side by side with an unsigned one, in one run.

The integration's own clients (client.py: AccountClient, VehicleClient, the real tesla-fleet-api
underneath) against the simulated car over real HTTP on 127.0.0.1: the same `set_charging_amps`
to an awake car, unsigned (the plain command endpoint), signed with a private key as the first
command of a new client (the Vehicle Command Protocol's session-info handshake included), and
signed again on that client (the session is kept), and the same through a simulated
tesla-http-proxy. Each sample also counts the Fleet API requests the command cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
import tempfile
import time
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.metrics import distribution
from custom_components.tesla_wallbox.client import AccountClient, Connect, VehicleClient
from custom_components.tesla_wallbox.const import Backend
from fleet_sim import SimClock, Simulator, VehicleConfig
from fleet_sim.http_proxy import HttpProxy

TOKEN = "bench-signing-token"


def _key_file(folder: Path, key: ec.EllipticCurvePrivateKey) -> str:
    path = folder / "private_key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(path)


async def _timed(sim: Simulator, command: Callable[[], Awaitable[Any]]) -> tuple[float, int]:
    """Real seconds of one command, and the billable requests it made."""
    before = len(sim.ledger.entries)
    started = time.perf_counter()
    await command()
    return time.perf_counter() - started, len(sim.ledger.entries) - before


async def run_signing(*, runs: int) -> dict[str, Any]:
    """`runs` samples of each kind of command; distributions in real seconds."""
    key = ec.generate_private_key(ec.SECP256R1())
    car = VehicleConfig(plugged_in=True, auto_start_on_plug=False, protocol_clock="wall")
    samples: dict[str, list[float]] = {name: [] for name in KINDS}
    requests: dict[str, list[int]] = {name: [] for name in KINDS}
    with tempfile.TemporaryDirectory(prefix="tlwb-bench-signing-") as folder:
        key_path = _key_file(Path(folder), key)
        async with (
            Simulator(clock=SimClock(speed=0), vehicles=[car], token=TOKEN) as sim,
            HttpProxy(str(sim.url), key) as proxy,
            aiohttp.ClientSession() as session,
        ):
            sim.vehicle(1).pair_key(key.public_key())
            vin = sim.vehicle(1).vin

            async def client(connect: Connect) -> VehicleClient:
                account = AccountClient(session, connect)
                await account.load_private_key()
                return account.vehicle(vin)

            plain = await client(Connect(Backend.CUSTOM, TOKEN, url=sim.url))
            for index in range(runs):
                amps = 10 + index % 2  # a change every time: the car always acts on it

                def amps_to(vehicle: VehicleClient, value: int = amps) -> Callable[[], Any]:
                    return lambda: vehicle.set_charging_amps(value)

                signed = await client(
                    Connect(Backend.FLEET, TOKEN, url=sim.url, private_key_path=key_path)
                )
                proxied = await client(
                    Connect(Backend.FLEET, TOKEN, url=sim.url, proxy_url=proxy.url)
                )
                measured = {
                    "unsigned": amps_to(plain),
                    "signed_first": amps_to(signed),  # the handshake, then the command
                    "signed_next": amps_to(signed, 21 - amps),
                    "proxy_first": amps_to(proxied),
                    "proxy_next": amps_to(proxied, 21 - amps),
                }
                for name, command in measured.items():
                    seconds, made = await _timed(sim, command)
                    samples[name].append(seconds)
                    requests[name].append(made)
            signed_commands = sum(1 for record in sim.vehicle(1).commands if record.signed)
    return {
        "runs": runs,
        "seconds": {name: distribution(values, digits=6) for name, values in samples.items()},
        "requests": {name: max(values) for name, values in requests.items()},
        "signed_commands_seen_by_the_car": signed_commands,
    }


KINDS = ("unsigned", "signed_first", "signed_next", "proxy_first", "proxy_next")
LABELS = {
    "unsigned": "unsigned (plain command endpoint)",
    "signed_first": "signed, first command of a client (handshake included)",
    "signed_next": "signed, next command (session kept)",
    "proxy_first": "through a tesla-http-proxy, first command",
    "proxy_next": "through a tesla-http-proxy, next command",
}


def signing_table(result: dict[str, Any]) -> str:
    """The signing rows, side by side with the unsigned one."""
    lines = [
        "| `set_charging_amps`, awake car | Fleet API requests | p50 (ms) | p90 (ms) | max (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in KINDS:
        seconds = result["seconds"][name]
        lines.append(
            f"| {LABELS[name]} | {result['requests'][name]} | {seconds['p50'] * 1000:.1f} "
            f"| {seconds['p90'] * 1000:.1f} | {seconds['max'] * 1000:.1f} |"
        )
    return "\n".join(lines)
