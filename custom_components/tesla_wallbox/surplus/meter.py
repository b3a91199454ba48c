"""What the meter says the car could use: the surplus from each grid reading, and its history.

Pure (no Home Assistant imports; times are the controller's clock in seconds).

How the surplus is measured
---------------------------
available = export + the car's present charging power - buffer (+ home battery terms, see
`SurplusMeter.available_w`). The car's present power comes from its estimate (car.py), so
regulating needs no extra vehicle_data reads. Readings within `car_response_delay` of one of our
commands are skipped: the car is still changing its draw, and the meter would show neither the old
nor the new power.

Each evaluation turns the readings since the last one into one value of the history (their mean),
and the controller asks the history how long the surplus has held: the lowest value over a span
(`sustained_min`) and since when it has been above or below a threshold (`run_start`).
"""

from __future__ import annotations

from collections import deque
import math

from .types import GridReading, SurplusSettings

# Export below this is meter noise, not power the home battery left over.
_EXPORT_NOISE_W = 50.0


class SurplusMeter:
    """The surplus from the grid (and home battery) readings, and how long it has lasted."""

    def __init__(self, settings: SurplusSettings) -> None:
        self.settings = settings
        # surplus history: (time, available W), -inf while unknown; the value holds until the next
        self._history: deque[tuple[float, float]] = deque()
        self._pending_samples: list[float] = []
        self._last_sample_time: float | None = None
        # the home battery's charge power when it last had export to spare (see available_w)
        self._battery_demand_w = 0.0

    # -- the readings ------------------------------------------------------------------------------

    def sample(
        self, reading: GridReading | None, car_power_w: float, last_ok_command: float | None
    ) -> None:
        """Collect a new reading, unless the car is still answering our last command (sent at
        `last_ok_command`). None: the grid sensor is unavailable, the readings so far are void."""
        if reading is None:
            self._pending_samples.clear()
            return
        if self._last_sample_time is not None and reading.time <= self._last_sample_time:
            return
        self._last_sample_time = reading.time
        self._track_battery(reading)
        if (
            last_ok_command is not None
            and reading.time < last_ok_command + self.settings.car_response_delay
        ):
            return
        self._pending_samples.append(self.available_w(reading, car_power_w))

    def evaluate(self, now: float, reading: GridReading | None, raise_hold: float) -> float | None:
        """The surplus now: the mean of the readings since the last evaluation, else the last.

        The value joins the history, which keeps as much as the longest span the controller looks
        back: the delays, or `raise_hold` (the raise hold before it is halved again).
        """
        if reading is None:
            value = -math.inf
        elif self._pending_samples:
            value = sum(self._pending_samples) / len(self._pending_samples)
            self._pending_samples.clear()
        elif self._history:
            value = self._history[-1][1]
        else:
            value = -math.inf  # only readings taken while the car was answering a command
        self._history.append((now, value))
        keep = max(self.settings.enable_delay, self.settings.disable_delay, raise_hold)
        while len(self._history) >= 2 and self._history[1][0] <= now - keep:
            self._history.popleft()
        return None if math.isinf(value) else value

    # -- the history -------------------------------------------------------------------------------

    def sustained_min(self, now: float, span: float) -> float | None:
        """The lowest surplus in force over the last `span` seconds; None if history is shorter."""
        lowest = math.inf
        for time, value in reversed(self._history):
            lowest = min(lowest, value)
            if time <= now - span:
                return lowest
        return None

    def run_start(self, low: bool, threshold: float) -> float | None:
        """Since when the surplus has been below (low) or at/above threshold without a break."""
        since = None
        for time, value in reversed(self._history):
            if (value < threshold) != low:
                break
            since = time
        return since

    # -- the home battery --------------------------------------------------------------------------

    def available_w(self, reading: GridReading, car_power_w: float) -> float:
        """Power the car could use: export + its present draw - buffer, with the home battery.

        A discharging home battery is never available (the car must not empty it). A charging one
        counts as available when the car has priority (`car_has_priority`). Otherwise the battery
        keeps what it charges with, and what it would still take: a zero-export battery inverter
        gives way to the car silently (the meter stays at zero), so the meter remembers the
        battery's power at the last reading that showed export (then it charged as fast as it
        could) and holds the shortfall back for it.
        """
        available = -reading.grid_w + car_power_w - self.settings.buffer_w
        battery = reading.battery_w
        if battery is None:
            return available
        if battery < 0:
            return available + battery
        if self.car_has_priority(reading):
            return available + battery
        return available - max(0.0, self._battery_demand_w - battery)

    def car_has_priority(self, reading: GridReading) -> bool:
        """Whether the car comes before the home battery: its SoC at or above battery_priority_soc,
        or no priority SoC set. With the SoC unknown the battery keeps priority."""
        priority_soc = self.settings.battery_priority_soc
        if priority_soc is None:
            return True
        return reading.battery_soc is not None and reading.battery_soc >= priority_soc

    def _track_battery(self, reading: GridReading) -> None:
        """Learn the power the home battery charges with when it can take no more."""
        battery = reading.battery_w
        if battery is None:
            return
        if reading.grid_w < -_EXPORT_NOISE_W:
            self._battery_demand_w = max(0.0, battery)
        else:
            self._battery_demand_w = max(self._battery_demand_w, battery)
