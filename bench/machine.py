"""What the benchmark ran on: CPUs, memory, load, Python and Home Assistant versions."""

from __future__ import annotations

from importlib import metadata
import os
from pathlib import Path
import platform
import sys
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe() -> dict[str, Any]:
    """The machine and software, and how busy the machine was when this was called."""
    try:
        load = [round(value, 2) for value in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "load_average_1_5_15": load,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "homeassistant": _version("homeassistant"),
        "tesla_fleet_api": _version("tesla-fleet-api"),
        "aiohttp": _version("aiohttp"),
    }
