"""The simulator's clock: real time, scaled real time, or fully manual."""

from __future__ import annotations

import time


class SimClock:
    """Simulated epoch time: start + elapsed real time x speed + manual offset.

    With ``speed=0`` the clock only moves through ``advance``, which makes tests exact.
    """

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._start = time.time() if start is None else float(start)
        self._speed = float(speed)
        self._m0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Return the simulated time in epoch seconds."""
        return self._start + (time.monotonic() - self._m0) * self._speed + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` simulated seconds."""
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        self._offset += seconds

    @property
    def speed(self) -> float:
        """How many simulated seconds pass per real second."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            raise ValueError("speed must not be negative")
        # Re-anchor so that changing the speed never makes the clock jump.
        now = self.now()
        self._m0 = time.monotonic()
        self._start = now - self._offset
        self._speed = float(value)
