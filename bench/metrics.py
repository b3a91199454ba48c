"""Pure measurement helpers: interval arithmetic on the simulator's timelines, ledger summaries,
sleep accounting, percentiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
import math
from typing import Any

from fleet_sim.ledger import CATEGORIES, LedgerEntry

Interval = tuple[float, float]

# charging_state values during which a car never sleeps.
AWAKE_CHARGING_STATES = frozenset({"Starting", "Charging"})


# ----- intervals ----------------------------------------------------------------------------------


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, merged, non-empty intervals."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """The parts of intervals inside window, merged."""
    low, high = window
    return union((max(start, low), min(end, high)) for start, end in intervals)


def length(intervals: Iterable[Interval]) -> float:
    """Total length of merged intervals."""
    return sum(end - start for start, end in union(intervals))


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The intersection of two interval sets."""
    left, right = union(a), union(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if end > start:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """a without b."""
    out: list[Interval] = []
    cuts = union(b)
    for start, end in union(a):
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def state_intervals(
    timeline: Sequence[tuple[float, str]], states: Iterable[str], end: float
) -> list[Interval]:
    """Intervals during which a (time, state) timeline was in one of `states`, up to `end`."""
    wanted = set(states)
    out: list[Interval] = []
    for index, (began, state) in enumerate(timeline):
        ended = timeline[index + 1][0] if index + 1 < len(timeline) else end
        if state in wanted:
            out.append((began, ended))
    return union(out)


# ----- sleep accounting ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SleepReport:
    """How long the car slept in a window, and of which time.

    charging: Starting or Charging (no car sleeps then).
    forced_awake: the time the car could not have slept whatever any poller did: charging, the
    car's own wind-down of `sleep_after` after a charge ends, and `sleep_after` after every event
    that wakes it or restarts its sleep timer other than a data read (it woke by itself, a plug-in
    or unplug, and every command or wake_up request the policy sent), plus the wake-up itself.
    eligible: window - forced_awake: the time the car could have slept. Data reads are not
    excused: keeping a car awake by reading it is exactly what is measured.
    """

    window_s: float
    asleep_s: float
    charging_s: float
    forced_awake_s: float
    eligible_s: float
    asleep_in_eligible_s: float
    not_charging_s: float

    @property
    def asleep_share_of_eligible(self) -> float:
        """Asleep / (neither charging nor being commanded, in the sense above)."""
        return self.asleep_in_eligible_s / self.eligible_s if self.eligible_s else 0.0

    @property
    def asleep_share_of_not_charging(self) -> float:
        """The strict reading: asleep / (time not Starting or Charging)."""
        return self.asleep_s / self.not_charging_s if self.not_charging_s else 0.0

    @property
    def ceiling_of_not_charging(self) -> float:
        """The strict share a policy that never read the car would reach (the best possible)."""
        return self.eligible_s / self.not_charging_s if self.not_charging_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        return {
            "window_h": round(self.window_s / 3600, 3),
            "asleep_h": round(self.asleep_s / 3600, 3),
            "charging_h": round(self.charging_s / 3600, 3),
            "forced_awake_h": round(self.forced_awake_s / 3600, 3),
            "eligible_h": round(self.eligible_s / 3600, 3),
            "asleep_in_eligible_h": round(self.asleep_in_eligible_s / 3600, 3),
            "asleep_share_of_eligible": round(self.asleep_share_of_eligible, 4),
            "asleep_share_of_not_charging": round(self.asleep_share_of_not_charging, 4),
            "ceiling_share_of_not_charging": round(self.ceiling_of_not_charging, 4),
        }


def sleep_report(
    *,
    window: Interval,
    timeline: Sequence[tuple[float, str]],
    charging_timeline: Sequence[tuple[float, str]],
    wake_events: Iterable[float],
    sleep_after: float,
) -> SleepReport:
    """Sleep accounting over `window` from the simulator's timelines (see SleepReport)."""
    end = window[1]
    asleep = clip(state_intervals(timeline, {"asleep"}, end), window)
    charging = clip(state_intervals(charging_timeline, AWAKE_CHARGING_STATES, end), window)
    raw_charging = state_intervals(charging_timeline, AWAKE_CHARGING_STATES, end)
    wind_down = [(stop, stop + sleep_after) for _, stop in raw_charging]
    after_events = [(at, at + sleep_after) for at in wake_events]
    # From a wake request until the car is online it is busy waking, not sleeping.
    waking: list[Interval] = []
    for index, (began, state) in enumerate(timeline):
        if state == "online" and index > 0 and timeline[index - 1][1] == "asleep":
            requests = [at for at in wake_events if at <= began]
            if requests and began - max(requests) <= 120:
                waking.append((max(requests), began))
    forced = clip([*raw_charging, *wind_down, *after_events, *waking], window)
    eligible = subtract([window], forced)
    not_charging = subtract([window], charging)
    return SleepReport(
        window_s=window[1] - window[0],
        asleep_s=length(asleep),
        charging_s=length(charging),
        forced_awake_s=length(forced),
        eligible_s=length(eligible),
        asleep_in_eligible_s=length(intersect(asleep, eligible)),
        not_charging_s=length(not_charging),
    )


# ----- the ledger ---------------------------------------------------------------------------------


def in_window(entries: Iterable[LedgerEntry], window: Interval) -> list[LedgerEntry]:
    """Entries with window[0] <= time < window[1]."""
    return [entry for entry in entries if window[0] <= entry.time < window[1]]


def ledger_summary(entries: Sequence[LedgerEntry]) -> dict[str, Any]:
    """Cloud requests and cost per category, and the totals (cost in USD, as Tesla bills); what
    went over Bluetooth (free) is counted apart."""
    cloud = [entry for entry in entries if entry.transport == "cloud"]
    categories: dict[str, dict[str, float | int]] = {}
    for category in CATEGORIES:
        chosen = [entry for entry in cloud if entry.category == category]
        categories[category] = {
            "count": len(chosen),
            "billed": sum(1 for entry in chosen if entry.price > 0),
            "cost": round(sum(entry.price for entry in chosen), 6),
        }
    return {
        "categories": categories,
        "total": {
            "count": len(cloud),
            "billed": sum(1 for entry in cloud if entry.price > 0),
            "cost": round(sum(entry.price for entry in entries), 6),
        },
        "bluetooth": {"count": len(entries) - len(cloud)},
    }


def request_times(entries: Iterable[LedgerEntry], categories: set[str]) -> list[float]:
    """The times of the requests in the given categories that the car answered (billed over the
    cloud; over Bluetooth, free, when the car answered)."""
    return [
        entry.time
        for entry in entries
        if entry.category in categories
        and (entry.price > 0 or (entry.transport == "bluetooth" and entry.status == HTTPStatus.OK))
    ]


# ----- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (fraction in 0..1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: Sequence[float], digits: int = 3) -> dict[str, float | int]:
    """count, min, p50, p90, p99, max and mean."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "min": round(min(values), digits),
        "p50": round(percentile(values, 0.5), digits),
        "p90": round(percentile(values, 0.9), digits),
        "p99": round(percentile(values, 0.99), digits),
        "max": round(max(values), digits),
        "mean": round(sum(values) / len(values), digits),
    }
