"""Constants of the simulator's own tests: its bearer token and the clock's start."""

from __future__ import annotations

TOKEN = "sim-test-token"
START = 1_750_000_000.0
