"""When a read should see the battery reach its target: pure, no Home Assistant imports.

Between two reads the battery level is projected from the car's time-to-full at the last one
(`LevelProjection`). The car's own limit stops charging by itself; the soft target (below 50 %) is
ours to stop at. A read at the predicted moment of either makes the stop (or the car's Complete)
seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .vehicle_data import ChargeData

# After the predicted moment the car reaches its own limit, read this much later to see Complete.
LIMIT_READ_DELAY = 60.0


@dataclass(frozen=True, slots=True)
class LevelProjection:
    """Where the battery level is heading while the car charges, between two reads.

    The car's time-to-full at the last read, at the current it drew then, gives the amp-seconds
    one percent takes; a new current commanded since (voltage and phases stay) changes the pace.
    """

    at: float  # when the level was (or is projected to have been) `level`
    level: float
    amps: float
    amp_seconds_per_percent: float

    @classmethod
    def from_charge(cls, charge: ChargeData, data_time: float) -> LevelProjection | None:
        """The projection from a read, or None when the car gives no estimate to go by."""
        level = charge.battery_level
        limit = charge.charge_limit_soc
        minutes = charge.minutes_to_full_charge
        amps = charge.charger_actual_current
        if not charge.charging or level is None or limit is None or minutes is None:
            return None
        if amps is None or amps <= 0 or limit <= level:
            return None
        if minutes == 0:
            # No estimate yet (Starting), or under a minute to go (the car rounds down).
            if limit - level > 1:
                return None
            minutes = 1
        return cls(data_time, float(level), float(amps), amps * minutes * 60.0 / (limit - level))

    def level_at(self, when: float) -> float:
        """The projected level at `when` (not before `at`)."""
        return self.level + max(0.0, when - self.at) * self.amps / self.amp_seconds_per_percent

    def with_amps(self, when: float, amps: float) -> LevelProjection:
        """The projection after the car was told to draw `amps` from `when` on."""
        return replace(self, at=when, level=self.level_at(when), amps=max(0.0, amps))

    def time_of(self, target_level: float) -> float | None:
        """When the level reaches target_level; None while the car draws nothing."""
        if target_level <= self.level:
            return self.at
        if self.amps <= 0:
            return None
        return self.at + (target_level - self.level) * self.amp_seconds_per_percent / self.amps


@dataclass(frozen=True, slots=True)
class Targets:
    """What the moment of the target is predicted from: the soft target and the level projection."""

    soft_target: int | None = None
    projection: LevelProjection | None = None  # the battery level since the last read


def target_time(charge: ChargeData, targets: Targets, now: float) -> float | None:
    """When the battery should reach the soft target, or else the car's limit (to see it stop).

    A read then stops charging at the soft target, or sees the car Complete so that the
    charging reads end (and, in PV mode, no command goes to a full car).
    """
    soft_target = targets.soft_target
    levels = [charge.charge_limit_soc, soft_target]
    level = min((target for target in levels if target is not None), default=None)
    if level is None or targets.projection is None:
        return None
    at = targets.projection.time_of(level)
    if at is None:
        return None
    if level == charge.charge_limit_soc and level != soft_target:
        at += LIMIT_READ_DELAY  # the car reports Complete a little after the level
    return at if at > now else None


def reprojected(
    targets: Targets, before: ChargeData, after: ChargeData, now: float, target_at: float | None
) -> tuple[Targets, float | None]:
    """A command changed the charge: move the projection, and the moment of the target, with it."""
    if not after.charging:
        return Targets(targets.soft_target), None
    projection = targets.projection
    if projection is None:
        return targets, target_at
    if after.charge_current_request != before.charge_current_request:
        amps = after.charge_current_request or 0
        pilot = after.charger_pilot_current
        projection = projection.with_amps(now, min(amps, pilot) if pilot else amps)
    targets = Targets(targets.soft_target, projection)
    return targets, target_time(after, targets, now)
