"""When a read should see the battery reach its target: pure, no Home Assistant imports.

The car's own limit stops charging by itself; the soft target (below 50 %) is ours to stop at. A
read at the predicted moment of either makes the stop (or the car's Complete) seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .wallbox import ChargeData, LevelProjection

# After the predicted moment the car reaches its own limit, read this much later to see Complete.
LIMIT_READ_DELAY = 60.0


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
