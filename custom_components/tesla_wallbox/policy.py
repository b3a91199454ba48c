"""When to ask the car what: the pure polling policy, no Home Assistant imports.

Reading the vehicle endpoint ("state") is free and never wakes the car. Reading vehicle_data
("data") costs money, keeps an awake car awake, and is impossible while it sleeps. The policy spends
data reads only where they buy something: while charging, to confirm commands, at the predicted
moment a soft target is reached, and once when the car comes online by itself (a plug-in wakes it).
While the PV controller regulates the charge it knows the current it set, and reads less often.

A car that streams (Teslemetry's stream, stream.py) is never polled on a timer: its stream tells
every change. It is read only when the user asks, and at set-up while nothing is known about it.

How a state check, a reply, a command or a failure changes the facts it plans from is
fact_updates.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final

from .const import (
    CONF_CHARGING_INTERVAL,
    CONF_CONFIRM_DELAY,
    CONF_IDLE_QUIET,
    CONF_PV_CHARGING_INTERVAL,
    CONF_SLEEP_CHECK_INTERVAL,
    CONF_STALE_AFTER,
    DEFAULT_CHARGING_INTERVAL,
    DEFAULT_CONFIRM_DELAY,
    DEFAULT_IDLE_QUIET,
    DEFAULT_PV_CHARGING_INTERVAL,
    DEFAULT_SLEEP_CHECK_INTERVAL,
    DEFAULT_STALE_AFTER,
)
from .vehicle_data import Connection


class PollKind(StrEnum):
    """What the next poll reads first."""

    STATE = "state"  # the vehicle endpoint; then vehicle_data only if wants_data() says so
    DATA = "data"  # vehicle_data directly: the car is known to be online


# How often data is read while charging when the read is free (over Bluetooth).
FREE_READ_INTERVAL: Final = 60.0


@dataclass(frozen=True, slots=True)
class PollSettings:
    """Intervals in seconds; most of them are options of the config entry."""

    charging_interval: float = 600.0
    pv_charging_interval: float = 3600.0  # while the PV controller regulates the current
    sleep_check_interval: float = 300.0
    idle_quiet: float = 900.0
    confirm_delay: float = 30.0
    backoff_base: float = 30.0
    backoff_max: float = 900.0
    refused_read_max: float = 3600.0  # the longest wait after vehicle_data answered 408
    stale_after: float = 1800.0  # without contact this long, the entities are unavailable


def read_intervals(settings: PollSettings, *, free: bool) -> PollSettings:
    """The intervals to plan with. While a read costs nothing (over Bluetooth): while charging,
    data at least every FREE_READ_INTERVAL seconds. The car may still sleep: the quiet period is
    unchanged."""
    if not free:
        return settings
    return replace(
        settings,
        charging_interval=min(settings.charging_interval, FREE_READ_INTERVAL),
        pv_charging_interval=min(settings.pv_charging_interval, FREE_READ_INTERVAL),
    )


def poll_settings(options: Mapping[str, Any]) -> PollSettings:
    """The policy's intervals from the entry's options."""
    return PollSettings(
        charging_interval=float(options.get(CONF_CHARGING_INTERVAL, DEFAULT_CHARGING_INTERVAL)),
        pv_charging_interval=float(
            options.get(CONF_PV_CHARGING_INTERVAL, DEFAULT_PV_CHARGING_INTERVAL)
        ),
        sleep_check_interval=float(
            options.get(CONF_SLEEP_CHECK_INTERVAL, DEFAULT_SLEEP_CHECK_INTERVAL)
        ),
        idle_quiet=float(options.get(CONF_IDLE_QUIET, DEFAULT_IDLE_QUIET)),
        confirm_delay=float(options.get(CONF_CONFIRM_DELAY, DEFAULT_CONFIRM_DELAY)),
        stale_after=float(options.get(CONF_STALE_AFTER, DEFAULT_STALE_AFTER)),
    )


@dataclass(frozen=True, slots=True)
class PollFacts:
    """What the coordinator knows when it plans the next poll (times in epoch seconds)."""

    connection: Connection | None = None
    charging: bool = False
    data_time: float | None = None  # last vehicle_data read
    activity_time: float | None = None  # last request that keeps the car awake: data, command, wake
    woke_time: float | None = None  # when a state check first saw it online after it was not
    confirm_at: float | None = None  # confirming read after a burst of commands
    target_at: float | None = None  # predicted moment the soft target (or the limit) is reached
    pv_regulated: bool = False  # the PV controller sets the current of this charge
    not_before: float | None = None  # from a 429's Retry-After
    data_not_before: float | None = None  # vehicle_data answered 408 although the car was online
    refused_reads: int = 0  # such 408s in a row
    failures: int = 0  # consecutive failed polls
    streaming: bool = False  # the car's data comes from a stream: nothing is polled on a timer


@dataclass(frozen=True, slots=True)
class PollPlan:
    """The next poll: when, what, and why (for the debug log)."""

    at: float
    kind: PollKind
    reason: str
    for_data: bool = False  # it is there to read vehicle_data: a refused read's gap holds it back


def pv_paced(facts: PollFacts) -> bool:
    """Whether the PV controller sets the current and the moment of the target is foreseen.

    Without that moment (no estimate from the car yet) the short interval is what sees the car
    reach its target.
    """
    return facts.pv_regulated and facts.target_at is not None


def charging_interval(facts: PollFacts, settings: PollSettings) -> float:
    """How long a charging car goes between reads."""
    return settings.pv_charging_interval if pv_paced(facts) else settings.charging_interval


def _due(now: float, candidates: list[tuple[float | None, PollKind, str, bool]]) -> PollPlan:
    """The earliest of the candidates that are set (at, kind, reason, for_data), never past."""
    plans = [
        PollPlan(max(at, now), kind, reason, for_data)
        for at, kind, reason, for_data in candidates
        if at is not None
    ]
    return min(plans, key=lambda plan: plan.at)


# Planned right after a poll, the next one is never sooner than this: no loop can hammer the API.
MIN_GAP = 5.0


def plan_next(
    now: float, facts: PollFacts, settings: PollSettings, jitter: float = 0.0
) -> PollPlan | None:
    """Plan the next poll, made at `now` right after a poll (or at start-up); None: nothing is
    polled on a timer (a car that streams).

    jitter in [0, 1) stretches a failure back-off by up to a quarter.
    """
    if facts.streaming:
        return None
    plan = _plan(now, facts, settings, jitter)
    if facts.not_before is not None and facts.not_before > plan.at:
        return replace(plan, at=facts.not_before, reason=f"{plan.reason}, after Retry-After")
    if plan.at < now + MIN_GAP:
        return replace(plan, at=now + MIN_GAP)
    return plan


def refused_read_gap(refused_reads: int, settings: PollSettings) -> float:
    """How long to leave vehicle_data alone after this many 408s in a row from an online car.

    The vehicle endpoint can say online while vehicle_data already answers 408 (a car dozing
    off, weak signal): without a gap each free state check would buy another refused read.
    """
    gap: float = settings.sleep_check_interval * 2.0 ** max(refused_reads - 1, 0)
    return min(gap, max(settings.refused_read_max, settings.sleep_check_interval))


def _plan(now: float, facts: PollFacts, settings: PollSettings, jitter: float) -> PollPlan:
    plan = _plan_ungated(now, facts, settings, jitter)
    gate = facts.data_not_before
    if gate is None or gate <= plan.at or not plan.for_data:
        return plan
    # Whatever this poll was for, it leads to vehicle_data: not before the gate, but a free state
    # check at the usual pace still sees the car fall asleep.
    at = min(gate, now + settings.sleep_check_interval)
    kind = PollKind.DATA if at == gate else PollKind.STATE
    return PollPlan(at, kind, f"{plan.reason}, after a refused read", for_data=True)


def _plan_ungated(now: float, facts: PollFacts, settings: PollSettings, jitter: float) -> PollPlan:
    if facts.failures > 0:
        delay = min(settings.backoff_base * 2 ** (facts.failures - 1), settings.backoff_max)
        return PollPlan(now + delay * (1 + 0.25 * jitter), PollKind.STATE, "back-off")
    if facts.connection is not Connection.ONLINE:
        if facts.connection is None:
            return PollPlan(now, PollKind.STATE, "connection unknown")
        return PollPlan(now + settings.sleep_check_interval, PollKind.STATE, "sleep check")
    if facts.data_time is None or (
        facts.woke_time is not None and facts.woke_time > facts.data_time
    ):
        return PollPlan(now, PollKind.DATA, "came online", for_data=True)
    if facts.charging:
        return _due(
            now,
            [
                (
                    facts.data_time + charging_interval(facts, settings),
                    PollKind.DATA,
                    "PV charging" if pv_paced(facts) else "charging",
                    True,
                ),
                (facts.confirm_at, PollKind.DATA, "confirm command", True),
                (facts.target_at, PollKind.DATA, "target level", True),
            ],
        )
    quiet_until = (facts.activity_time or facts.data_time) + settings.idle_quiet
    return _due(
        now,
        [
            (facts.confirm_at, PollKind.DATA, "confirm command", True),
            # A state check, then a read if the car is still awake (wants_data).
            (quiet_until, PollKind.STATE, "idle, quiet period over", True),
            (now + settings.sleep_check_interval, PollKind.STATE, "idle, sleep check", False),
        ],
    )


def wants_data(
    now: float, facts: PollFacts, settings: PollSettings, *, charge_known: bool = True
) -> bool:
    """After a state check found the car online: is a vehicle_data read worth it now? For a
    car that streams only while nothing is known about its charge (at set-up)."""
    if facts.connection is not Connection.ONLINE:
        return False
    if facts.streaming:
        return not charge_known
    if facts.data_not_before is not None and now < facts.data_not_before:
        return False
    if facts.data_time is None:
        return True
    if facts.woke_time is not None and facts.woke_time > facts.data_time:
        return True
    for due in (facts.confirm_at, facts.target_at):
        if due is not None and due <= now:
            return True
    if facts.charging:
        return now >= facts.data_time + charging_interval(facts, settings)
    return now >= (facts.activity_time or facts.data_time) + settings.idle_quiet


def held_back_for(facts: PollFacts, now: float) -> int | None:
    """The whole seconds left of a 429's Retry-After; None once it has passed (or without one)."""
    if facts.not_before is None or facts.not_before <= now:
        return None
    return round(facts.not_before - now)


def is_stale(now: float, checked_time: float | None, stale_after: float) -> bool:
    """Whether the last successful contact with the car is too old to trust the data."""
    return checked_time is None or now - checked_time > stale_after
