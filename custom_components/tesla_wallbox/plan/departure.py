"""A car's departures and what the plan knows of the car: pure, no Home Assistant imports.

DepartureSettings: a departure time per weekday (None: no departure that day), a one-off time for
the next departure only, and the target SoC to have by then. The car's charging power comes from
its own data (phases x volts x the amps it accepts), its battery size from its own charging (the
energy a session added over the points it gained), or its model until it has charged enough.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..vehicle_data import ChargeData

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_DEPARTURE = time(7, 0)
DEFAULT_TARGET_SOC = 80
# Usable capacity by the VIN's model letter (its 4th character): the long-range packs, which most
# cars sold have. A smaller pack plans a little early, never late; the options can set the size.
BATTERY_KWH_BY_MODEL = {"3": 75.0, "Y": 75.0, "S": 95.0, "X": 95.0, "C": 123.0}
DEFAULT_BATTERY_KWH = 75.0
# A charging session tells the pack's size once it gained this many points (the car reports whole
# percents: 15 points keep the error under 7 %), and only a size a Tesla pack can have.
LEARN_MIN_POINTS = 15
PACK_KWH_RANGE = (40.0, 130.0)


def _time_text(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def parse_time(value: Any) -> time | None:
    """HH:MM or HH:MM:SS; ValueError for anything else."""
    if not isinstance(value, str):
        raise ValueError("a time is HH:MM")
    parsed = time.fromisoformat(value)
    if parsed.tzinfo is not None:
        raise ValueError("a time is HH:MM, without a zone")
    return parsed.replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class DepartureSettings:
    """When the car leaves, and with how much charge."""

    weekdays: tuple[time | None, ...] = (DEFAULT_DEPARTURE,) * 7
    next_at: datetime | None = None  # once: the next departure, before the weekdays' times
    target_soc: int = DEFAULT_TARGET_SOC

    def __post_init__(self) -> None:
        if len(self.weekdays) != len(WEEKDAYS):
            raise ValueError("one time per weekday")
        if not 1 <= self.target_soc <= 100:
            raise ValueError("target_soc must be from 1 to 100")

    def next_departure(self, now: datetime, zone: tzinfo) -> datetime | None:
        """The next departure after now, in `zone` (the one-off time first, if set)."""
        local = now.astimezone(zone)
        if self.next_at is not None and self.next_at > now:
            return self.next_at.astimezone(zone)
        for days in range(8):
            day = local.date() + timedelta(days=days)
            at = self.weekdays[day.weekday()]
            if at is None:
                continue
            moment = datetime.combine(day, at, tzinfo=zone)
            if moment > local:
                return moment
        return None

    def with_weekday(self, index: int, at: time | None) -> DepartureSettings:
        """A weekday's time changed."""
        days = list(self.weekdays)
        days[index] = at
        return replace(self, weekdays=tuple(days))

    def as_dict(self) -> dict[str, Any]:
        """For the store and the HTTP API."""
        return {
            "weekdays": {
                name: _time_text(at) for name, at in zip(WEEKDAYS, self.weekdays, strict=True)
            },
            "next": self.next_at.isoformat() if self.next_at else None,
            "target_soc": self.target_soc,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DepartureSettings:
        """From the store; the defaults for anything missing or broken."""
        if not isinstance(data, dict):
            return cls()
        stored_days = data.get("weekdays")
        days: dict[str, Any] = stored_days if isinstance(stored_days, dict) else {}
        weekdays = tuple(_stored_time(days, name, DEFAULT_DEPARTURE) for name in WEEKDAYS)
        target = data.get("target_soc")
        if not isinstance(target, int) or isinstance(target, bool) or not 1 <= target <= 100:
            target = DEFAULT_TARGET_SOC
        return cls(weekdays, _stored_datetime(data.get("next")), target)


def _stored_time(data: dict[str, Any], key: str, default: time | None) -> time | None:
    if key not in data:
        return default
    if data[key] is None:
        return None
    try:
        return parse_time(data[key])
    except ValueError:
        return default


def _stored_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def next_occurrence(now: datetime, at: time, zone: tzinfo) -> datetime:
    """The next time the clock in `zone` shows `at`, after now (today or tomorrow)."""
    local = now.astimezone(zone)
    moment = datetime.combine(local.date(), at, tzinfo=zone)
    if moment > local:
        return moment
    return datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)


def battery_kwh(vin: str, override: float | None = None, learned: float | None = None) -> float:
    """The usable capacity: the option if set, else what the car's charging showed, else the
    model's (see BATTERY_KWH_BY_MODEL)."""
    if override:
        return float(override)
    if learned:
        return float(learned)
    return BATTERY_KWH_BY_MODEL.get(vin[3:4].upper(), DEFAULT_BATTERY_KWH)


def learned_capacity(start: tuple[float, float], now: tuple[float, float]) -> float | None:
    """The usable capacity a charging session shows, from (battery level %, charge_energy_added
    kWh) at its start and now: the energy added per point gained, x 100. None while it gained
    fewer than LEARN_MIN_POINTS, or when the figure is no Tesla pack's."""
    points = now[0] - start[0]
    added = now[1] - start[1]
    if points < LEARN_MIN_POINTS or added <= 0:
        return None
    kwh = round(added / points * 100, 1)
    return kwh if PACK_KWH_RANGE[0] <= kwh <= PACK_KWH_RANGE[1] else None


def charging_power_kw(
    phases: int | None,
    volts: float | None,
    max_amps: int | None,
    *,
    assumed_phases: int,
    assumed_voltage: float,
    amps_cap: int | None = None,
) -> float:
    """The car's power at its maximum current: phases x volts x amps, as measured while it
    charges; the assumed phases and voltage otherwise (the car reports 0-2 V when it does not)."""
    use_phases = phases if phases else assumed_phases
    use_volts = volts if volts and volts >= 100 else assumed_voltage
    amps = max_amps or 16
    if amps_cap:
        amps = min(amps, amps_cap)
    return use_phases * use_volts * amps / 1000


class CapacityWatch:
    """Follows a car's charging sessions and tells the pack's size once one shows it."""

    def __init__(self, learned: float | None = None) -> None:
        self.learned = learned
        # (battery level, charge_energy_added) when the session began.
        self._start: tuple[float, float] | None = None

    def observe(self, charge: ChargeData | None) -> bool:
        """A reading of the car; True when it showed a new size (then in `learned`)."""
        if charge is None or charge.battery_level is None or charge.charge_energy_added is None:
            return False
        charging = charge.charging
        reading = (float(charge.battery_level), float(charge.charge_energy_added))
        start = self._start
        # charge_energy_added starts from 0 with each session; a lower level: it drove.
        if start is None or reading[1] < start[1] or reading[0] < start[0]:
            self._start = reading if charging else None
            return False
        learned = learned_capacity(start, reading)
        if learned is None or learned == self.learned:
            return False
        self.learned = learned
        return True
