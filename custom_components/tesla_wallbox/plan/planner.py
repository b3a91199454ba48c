"""The departure planner: which slots before a departure charge from the grid, at the least cost.

Pure (no Home Assistant imports, the clock is the request's `now`). The time from now to the
departure is cut into segments at every price slot and PV period boundary. Each segment offers
two pieces of battery energy: what the PV forecast is expected to give (at the feed-in price, what
exporting it instead would earn) and the rest of the car's charging power (at the grid price).
Every segment's pieces are independent, so taking the cheapest pieces first until the energy the
target needs is met is the cheapest plan (a fractional knapsack); equal prices go to the earlier
piece, so that the car is ready sooner.

It never plans a departure it could meet into a miss: the plan aims at `finish_margin` before the
departure, and when that is too short, at the departure itself; a target that cannot be met even
then is charged from now on at full power ("charge now"), and the plan says it is unreachable.
Times without a price (a gap, or tomorrow before the day-ahead prices are out) take the price of
the same time a day earlier, else the highest price known: used, but only when needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import itertools

DAY = timedelta(days=1)
_EPSILON_KWH = 1e-6


class PlanStatus(StrEnum):
    """What the plan is."""

    TARGET_REACHED = "target_reached"  # nothing to charge
    PLANNED = "planned"  # slots picked before the departure
    UNREACHABLE = "unreachable"  # the target cannot be met in time: charging from now on
    FALLBACK = "fallback"  # no usable prices: charging from now on, as if no plan were made
    NO_DEPARTURE = "no_departure"  # no departure ahead: nothing planned


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """A period with one energy price (per kWh drawn from the grid)."""

    start: datetime
    end: datetime
    price: float


@dataclass(frozen=True, slots=True)
class PvPeriod:
    """A period of the PV forecast: the energy the plant is expected to produce in it (kWh)."""

    start: datetime
    end: datetime
    energy_kwh: float


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What a plan is made from.

    soc / target_soc: %. battery_kwh: usable capacity. power_kw: what the car draws at its maximum
    current. efficiency: the share of drawn energy that reaches the battery. pv_share: the share of
    the forecast production that is expected to reach the car (the house takes some, forecasts
    err). min_power_kw: the least surplus PV charging starts with (the minimum current).
    """

    now: datetime
    departure: datetime | None
    soc: float
    target_soc: float
    battery_kwh: float
    power_kw: float
    prices: Sequence[PriceSlot] = ()
    pv: Sequence[PvPeriod] = ()
    efficiency: float = 0.9
    pv_share: float = 0.7
    min_power_kw: float = 0.0
    feed_in_price: float = 0.0
    finish_margin: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.battery_kwh <= 0 or self.power_kw <= 0:
            raise ValueError("battery_kwh and power_kw must be positive")
        if not 0 < self.efficiency <= 1 or not 0 <= self.pv_share <= 1:
            raise ValueError("efficiency must be in (0, 1] and pv_share in [0, 1]")
        if self.now.tzinfo is None or (self.departure and self.departure.tzinfo is None):
            raise ValueError("times must be aware")

    @property
    def needed_kwh(self) -> float:
        """The energy the battery must take to reach the target."""
        return max(0.0, (self.target_soc - self.soc) / 100 * self.battery_kwh)


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """A time the car charges: from `start` until `end`, `grid` when the grid may supply it (else
    it is PV surplus only). energy_kwh: what the battery takes; cost: of the grid energy."""

    start: datetime
    end: datetime
    grid: bool
    energy_kwh: float
    price: float | None
    cost: float
    estimated_price: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome: the slots, what they cost, when the battery is expected at the target."""

    status: PlanStatus
    departure: datetime | None
    needed_kwh: float
    slots: tuple[PlannedSlot, ...] = ()
    reachable: bool = True
    expected_cost: float = 0.0
    finish: datetime | None = None
    made_at: datetime | None = None

    def grid_at(self, when: datetime) -> bool:
        """Whether the grid may charge the car at `when`."""
        return any(slot.grid and slot.start <= when < slot.end for slot in self.slots)

    def next_change(self, after: datetime) -> datetime | None:
        """The next slot start or end after `after` (when the plan acts next)."""
        times = sorted({t for slot in self.slots for t in (slot.start, slot.end) if t > after})
        return times[0] if times else None

    @property
    def grid_kwh(self) -> float:
        """The energy the battery takes from the grid slots."""
        return sum(slot.energy_kwh for slot in self.slots if slot.grid)


@dataclass(slots=True)
class _Segment:
    start: datetime
    end: datetime
    price: float
    estimated: bool
    pv_kwh: float  # battery energy PV is expected to give
    full_kwh: float  # battery energy at full power


def make_plan(request: PlanRequest) -> Plan:
    """The cheapest plan that meets the departure (see the module's docstring)."""
    request = _in_utc(request)
    needed = request.needed_kwh
    now, departure = request.now, request.departure
    if needed <= _EPSILON_KWH:
        return Plan(PlanStatus.TARGET_REACHED, departure, 0.0, made_at=now)
    if departure is None or departure <= now:
        return Plan(PlanStatus.NO_DEPARTURE, departure, needed, made_at=now)
    if not request.prices:
        return _charge_now(request, PlanStatus.FALLBACK, departure)
    for deadline in (departure - request.finish_margin, departure):
        if deadline <= now:
            continue
        segments = _segments(request, deadline)
        if sum(segment.full_kwh for segment in segments) >= needed - _EPSILON_KWH:
            return _cheapest(request, segments, needed)
    return _charge_now(request, PlanStatus.UNREACHABLE, departure)


def _in_utc(request: PlanRequest) -> PlanRequest:
    """All times in UTC: the difference of two times in one zone ignores a DST change."""
    return replace(
        request,
        now=request.now.astimezone(UTC),
        departure=request.departure.astimezone(UTC) if request.departure else None,
        prices=[
            PriceSlot(slot.start.astimezone(UTC), slot.end.astimezone(UTC), slot.price)
            for slot in request.prices
        ],
        pv=[
            PvPeriod(period.start.astimezone(UTC), period.end.astimezone(UTC), period.energy_kwh)
            for period in request.pv
        ],
    )


def _cheapest(request: PlanRequest, segments: list[_Segment], needed: float) -> Plan:
    eff = request.efficiency
    pieces: list[tuple[float, datetime, int, bool, float]] = []
    for index, segment in enumerate(segments):
        if segment.pv_kwh > 0:
            pieces.append(
                (request.feed_in_price / eff, segment.start, index, False, segment.pv_kwh)
            )
        grid = segment.full_kwh - segment.pv_kwh
        if grid > _EPSILON_KWH:
            pieces.append((segment.price / eff, segment.start, index, True, grid))
    pieces.sort(key=lambda piece: (piece[0], piece[1], not piece[3]))
    taken: dict[int, list[float]] = {}  # segment index -> [pv kWh, grid kWh]
    left = needed
    for _price, _start, index, grid, energy in pieces:
        if left <= _EPSILON_KWH:
            break
        amount = min(energy, left)
        taken.setdefault(index, [0.0, 0.0])[1 if grid else 0] += amount
        left -= amount
    slots: list[PlannedSlot] = []
    for index in sorted(taken):
        segment = segments[index]
        pv_kwh, grid_kwh = taken[index]
        if grid_kwh > _EPSILON_KWH:
            # At full power from the segment's start; PV surplus in it is used on the way.
            share = (pv_kwh + grid_kwh) / segment.full_kwh
            end = segment.start + (segment.end - segment.start) * min(1.0, share)
            cost = grid_kwh / eff * segment.price
            slots.append(
                PlannedSlot(
                    segment.start,
                    end,
                    True,
                    pv_kwh + grid_kwh,
                    segment.price,
                    cost,
                    segment.estimated,
                )
            )
        else:
            slots.append(PlannedSlot(segment.start, segment.end, False, pv_kwh, None, 0.0))
    merged = _merge(slots)
    finish = max((slot.end for slot in merged), default=None)
    return Plan(
        PlanStatus.PLANNED,
        request.departure,
        needed,
        merged,
        reachable=True,
        expected_cost=sum(slot.cost for slot in merged),
        finish=finish,
        made_at=request.now,
    )


def _charge_now(request: PlanRequest, status: PlanStatus, departure: datetime) -> Plan:
    """Full power from now until the target (or the departure, if it comes first)."""
    needed = request.needed_kwh
    hours = needed / (request.power_kw * request.efficiency)
    end = request.now + timedelta(hours=hours)
    reachable = end <= departure
    segments = _segments(request, min(end, departure)) if request.prices else []
    slots: list[PlannedSlot] = []
    if segments:
        for segment in segments:
            cost = segment.full_kwh / request.efficiency * segment.price
            slots.append(
                PlannedSlot(
                    segment.start,
                    segment.end,
                    True,
                    segment.full_kwh,
                    segment.price,
                    cost,
                    segment.estimated,
                )
            )
    else:
        energy = min(needed, request.power_kw * request.efficiency * _hours(request.now, end))
        slots.append(PlannedSlot(request.now, end, True, energy, None, 0.0, True))
    # Past the departure the car still charges to the target: better late than not at all.
    if not reachable:
        tail_kwh = needed - sum(slot.energy_kwh for slot in slots)
        if tail_kwh > _EPSILON_KWH and segments:
            slots.append(PlannedSlot(departure, end, True, tail_kwh, None, 0.0, True))
    merged = _merge(slots)
    return Plan(
        status,
        departure,
        needed,
        merged,
        reachable=reachable,
        expected_cost=sum(slot.cost for slot in merged),
        finish=end,
        made_at=request.now,
    )


def _segments(request: PlanRequest, deadline: datetime) -> list[_Segment]:
    """[now, deadline) cut at every price and PV boundary, each with its price and PV energy."""
    now = request.now
    cuts = {now, deadline}
    for slot in request.prices:
        # Also a day or two later: a gap takes the price of the same time a day earlier.
        cuts |= {time + DAY * days for time in (slot.start, slot.end) for days in range(3)}
    for period in request.pv:
        cuts |= {period.start, period.end}
    times = sorted(t for t in cuts if now <= t <= deadline)
    highest = max(slot.price for slot in request.prices)
    segments: list[_Segment] = []
    for start, end in itertools.pairwise(times):
        hours = _hours(start, end)
        if hours <= 0:
            continue
        price, estimated = _price_at(request.prices, start, highest)
        full = request.power_kw * request.efficiency * hours
        pv_power = _pv_power(request.pv, start, end) * request.pv_share
        pv = 0.0
        if pv_power > 0 and pv_power >= request.min_power_kw:
            pv = min(pv_power, request.power_kw) * request.efficiency * hours
        segments.append(_Segment(start, end, price, estimated, pv, full))
    return segments


def _price_at(prices: Sequence[PriceSlot], when: datetime, highest: float) -> tuple[float, bool]:
    """The price at `when`; else that of the same time one or two days earlier; else the highest."""
    for days in range(3):
        moment = when - DAY * days
        for slot in prices:
            if slot.start <= moment < slot.end:
                return slot.price, days > 0
    return highest, True


def _pv_power(pv: Sequence[PvPeriod], start: datetime, end: datetime) -> float:
    """The forecast's mean power (kW) over [start, end)."""
    energy = 0.0
    for period in pv:
        overlap = _hours(max(start, period.start), min(end, period.end))
        length = _hours(period.start, period.end)
        if overlap > 0 and length > 0:
            energy += period.energy_kwh * overlap / length
    return energy / _hours(start, end)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _merge(slots: list[PlannedSlot]) -> tuple[PlannedSlot, ...]:
    """Adjacent slots of the same kind (grid or PV) and price as one."""
    merged: list[PlannedSlot] = []
    for slot in slots:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.end == slot.start
            and last.grid == slot.grid
            and last.price == slot.price
            and last.estimated_price == slot.estimated_price
        ):
            merged[-1] = PlannedSlot(
                last.start,
                slot.end,
                last.grid,
                last.energy_kwh + slot.energy_kwh,
                last.price,
                last.cost + slot.cost,
                last.estimated_price,
            )
        else:
            merged.append(slot)
    return tuple(merged)
