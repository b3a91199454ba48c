"""The car between data reads: what it draws and what it was last asked for, after our commands.

Pure (no Home Assistant imports; times are the controller's clock in seconds). The coordinator
reads the car rarely; in between, a start, stop or current we sent counts until car data at least
`command_settle` newer than the command says otherwise. The car's power is the commanded current
x phases x voltage, with the phases and voltage it reported while charging in this plug session
(else the assumed ones), so regulating needs no extra vehicle_data reads.
"""

from __future__ import annotations

import math

from ..commands import Action
from .types import MIN_PLAUSIBLE_VOLTAGE, CarSnapshot, SurplusSettings

# The maximum current when neither the settings nor the car give one (a 16 A home charger).
_FALLBACK_MAX_AMPS = 16


class CarEstimate:
    """One car's charging as the controller believes it: the last data read, and our commands."""

    def __init__(self, settings: SurplusSettings) -> None:
        self.settings = settings
        # what our last accepted start/stop and current should have done, and when we sent them
        self._expected_charging: bool | None = None
        self._expected_charging_time = -math.inf
        self._expected_amps: int | None = None
        self._expected_amps_time = -math.inf
        # phases and voltage the car reported while charging in this plug session
        self._known_phases: int | None = None
        self._known_voltage: float | None = None

    @property
    def expected_amps(self) -> int | None:
        """The current of our last accepted command, whatever the car has reported since."""
        return self._expected_amps

    def expect(self, now: float, action: Action, amps: int | None) -> None:
        """Note a command the car accepted: it counts until newer car data."""
        if amps is not None:
            self._expected_amps, self._expected_amps_time = amps, now
        if action is Action.START:
            self._expected_charging, self._expected_charging_time = True, now
        elif action is Action.STOP:
            self._expected_charging, self._expected_charging_time = False, now

    def not_followed(self, car: CarSnapshot) -> bool:
        """Whether data newer than our last start or stop shows the car did not follow it (an
        unplugged or full car is no failure). Once judged, the car's own data counts again."""
        expected = self._expected_charging
        if expected is None or not self._car_is_newer(car, self._expected_charging_time):
            return False
        self._expected_charging = None
        return car.charging != expected and car.plugged_in and not car.target_reached

    def unplugged(self) -> None:
        """The plug session ended: forget its phases and voltage."""
        self._known_phases = self._known_voltage = None

    def _car_is_newer(self, car: CarSnapshot, command_time: float) -> bool:
        return car.data_time >= command_time + self.settings.command_settle

    def charging(self, car: CarSnapshot) -> bool:
        """Whether the car charges: our last start/stop until newer car data says otherwise."""
        if self._expected_charging is None or self._car_is_newer(car, self._expected_charging_time):
            return car.charging
        return self._expected_charging

    def commanded_amps(self, car: CarSnapshot) -> int | None:
        """The current the car was last asked for: by us, or as newer car data reports it."""
        if self._expected_amps is None or self._car_is_newer(car, self._expected_amps_time):
            return car.commanded_amps
        return self._expected_amps

    def phases_and_voltage(self, car: CarSnapshot) -> tuple[int, float]:
        """Phases and voltage as the car reported them while charging in this plug session (they
        are remembered until it is unplugged), else the assumed ones."""
        if car.phases in (1, 2, 3):
            self._known_phases = car.phases
        if car.voltage is not None and car.voltage >= MIN_PLAUSIBLE_VOLTAGE:
            self._known_voltage = car.voltage
        return (
            self._known_phases or self.settings.assumed_phases,
            self._known_voltage or self.settings.assumed_voltage,
        )

    def amps_range(self, car: CarSnapshot) -> tuple[int, int]:
        """(min, max) amps: the settings, capped by the car's maximum."""
        s = self.settings
        high = s.max_amps if s.max_amps is not None else (car.max_amps or _FALLBACK_MAX_AMPS)
        if car.max_amps:
            high = min(high, car.max_amps)
        low = min(s.min_amps, high)
        return low, high

    def power_w(self, car: CarSnapshot) -> float:
        """The car's present draw, estimated from the commanded current (no data read needed)."""
        if not self.charging(car):
            return 0.0
        phases, voltage = self.phases_and_voltage(car)
        amps = self.commanded_amps(car)
        if amps is None:
            amps = self.amps_range(car)[1]
        return amps * phases * voltage
