"""HTTP load clients: an open-loop aiohttp client of ours, and wrk (closed loop) when installed.

Open loop: request i is due at start + i / rate whatever happened to the earlier ones, and its
latency counts from that due time, so a server that falls behind shows it in the latency instead
of silently lowering the rate (no coordinated omission).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
import re
import resource
import shutil
import subprocess
import time
from typing import Any

import aiohttp

from bench.metrics import distribution

# A rate counts as sustained when every request was answered 200, the answers kept pace with the
# offered rate (throughput at least SUSTAINED_SHARE of it: no queue building up) and the p99
# latency stayed below SUSTAINED_P99_MS.
SUSTAINED_SHARE = 0.97
SUSTAINED_P99_MS = 100.0
DRAIN_S = 2.0


@dataclass(slots=True)
class LoadResult:
    """One load run."""

    url_label: str
    mode: str  # open_loop or wrk
    offered_rps: float | None
    duration_s: float
    completed: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    throughput_rps: float = 0.0
    client_cpu_share: float | None = None  # the load client's CPU time / wall time
    wrk_latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def sustained(self) -> bool:
        """Whether the server kept up with the offered rate (see SUSTAINED_SHARE)."""
        if self.offered_rps is None:
            return self.errors == 0
        expected = round(self.offered_rps * self.duration_s)
        p99 = distribution(self.latencies_ms).get("p99", float("inf"))
        return (
            self.errors == 0
            and self.statuses.get(200, 0) == expected
            and self.throughput_rps >= SUSTAINED_SHARE * self.offered_rps
            and p99 <= SUSTAINED_P99_MS
        )

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        latency = (
            distribution(self.latencies_ms, digits=2) if self.latencies_ms else self.wrk_latency_ms
        )
        return {
            "endpoint": self.url_label,
            "mode": self.mode,
            "offered_rps": self.offered_rps,
            "duration_s": self.duration_s,
            "completed": self.completed,
            "errors": self.errors,
            "http_status": {str(status): count for status, count in sorted(self.statuses.items())},
            "throughput_rps": round(self.throughput_rps, 1),
            "latency_ms": latency,
            "sustained": self.sustained,
            "client_cpu_share": (
                round(self.client_cpu_share, 2) if self.client_cpu_share is not None else None
            ),
        }


async def open_loop(
    session: aiohttp.ClientSession,
    url: str,
    *,
    label: str,
    rate: float,
    duration: float,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """GET url at `rate` per second for `duration` seconds, open loop."""
    loop = asyncio.get_running_loop()
    result = LoadResult(label, "open_loop", rate, duration)
    total = round(rate * duration)
    start = loop.time() + 0.05
    last_done = start

    async def one(due: float) -> None:
        nonlocal last_done
        try:
            async with session.get(url, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            result.errors += 1
            return
        done = loop.time()
        last_done = max(last_done, done)
        result.statuses[status] += 1
        result.completed += 1
        result.latencies_ms.append((done - due) * 1000)

    cpu_start, wall_start = time.process_time(), time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for index in range(total):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    _, late = await asyncio.wait(tasks, timeout=DRAIN_S)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    result.errors += len(late)
    result.client_cpu_share = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    span = max(last_done - start, duration)
    result.throughput_rps = result.completed / span
    return result


async def find_sustained(
    session: aiohttp.ClientSession,
    url: str,
    *,
    label: str,
    duration: float,
    headers: dict[str, str] | None = None,
    first_rate: float = 250.0,
    max_rate: float = 16_000.0,
    refinements: int = 2,
) -> tuple[LoadResult | None, list[LoadResult]]:
    """The highest open-loop rate the server keeps up with (see LoadResult.sustained).

    Doubles the rate from first_rate until a rate is not sustained twice in a row (or max_rate),
    then bisects between the last sustained rate and the first one that was not, `refinements`
    times.
    Returns the best sustained run and every run made.
    """
    best: LoadResult | None = None
    runs: list[LoadResult] = []

    async def attempt(rate: float) -> bool:
        nonlocal best
        # A rate that fails is tried once more: one stall (a garbage collection, another process
        # on the machine) is not the server's limit.
        for _ in range(2):
            run = await open_loop(
                session, url, label=label, rate=rate, duration=duration, headers=headers
            )
            runs.append(run)
            await asyncio.sleep(0.5)  # let the server's queues drain between runs
            if run.sustained:
                if best is None or rate > (best.offered_rps or 0):
                    best = run
                return True
        return False

    rate = first_rate
    failed: float | None = None
    while rate <= max_rate:
        if not await attempt(rate):
            failed = rate
            break
        rate *= 2
    if failed is None or best is None:
        return best, runs
    low, high = best.offered_rps or first_rate, failed
    for _ in range(refinements):
        middle = round((low + high) / 2, -1)
        if await attempt(middle):
            low = middle
        else:
            high = middle
    return best, runs


_WRK_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
_WRK_TOTAL = re.compile(r"([0-9]+) requests in ([0-9.]+)(m?s|m)\b")
_WRK_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s)\s*$", re.MULTILINE)
_WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+([0-9]+)")
_WRK_SOCKET = re.compile(
    r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)"
)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_available() -> bool:
    """Whether wrk is installed (Debian: apt-get install wrk)."""
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, *, label: str, duration: int, connections: int, headers: dict[str, str]
) -> LoadResult:
    """wrk, one thread, closed loop with `connections` connections: the most the server does."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall_start = time.perf_counter()
    completed = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 30
    )
    wall = time.perf_counter() - wall_start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = parse_wrk(completed.stdout, label=label, duration=duration)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result.client_cpu_share = cpu / wall
    return result


def parse_wrk(output: str, *, label: str, duration: float) -> LoadResult:
    """The numbers of a `wrk --latency` report."""
    result = LoadResult(label, "wrk", None, duration)
    rate = _WRK_RATE.search(output)
    result.throughput_rps = float(rate.group(1)) if rate else 0.0
    total = _WRK_TOTAL.search(output)
    result.completed = int(total.group(1)) if total else 0
    non_2xx = _WRK_ERRORS.search(output)
    socket_errors = _WRK_SOCKET.search(output)
    result.errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(value) for value in socket_errors.groups()) if socket_errors else 0
    )
    result.statuses[200] = result.completed - (int(non_2xx.group(1)) if non_2xx else 0)
    result.wrk_latency_ms = {
        f"p{percent}": round(float(value) * _UNIT_MS[unit], 3)
        for percent, value, unit in _WRK_PERCENTILE.findall(output)
    }
    return result
