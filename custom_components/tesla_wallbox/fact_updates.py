"""How each answer changes what the coordinator knows: pure, no Home Assistant imports.

A state check, a reply, a stream event, a refused read, a wake, a command or a failure: each update
takes what the coordinator knows (PollFacts, which the policy plans from) and what it publishes
(WallboxState), and gives both back as they are after it; the coordinator applies them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .const import MAX_RETRY_AFTER
from .policy import PollFacts, PollSettings, refused_read_gap
from .projection import LevelProjection, Targets, reprojected, target_time
from .stream_data import StreamReading, charge_after
from .vehicle_data import ChargeData, Connection
from .wallbox import WallboxState

# A 429 without Retry-After still waits this long.
DEFAULT_RETRY_AFTER = 60.0

type Known = tuple[PollFacts, WallboxState]


def hold_until(now: float, retry_after: float | None) -> float:
    """Nothing goes to the API before this moment after a 429 (its Retry-After, at most
    MAX_RETRY_AFTER; DEFAULT_RETRY_AFTER without one)."""
    return now + (DEFAULT_RETRY_AFTER if retry_after is None else min(retry_after, MAX_RETRY_AFTER))


def after_state_check(
    facts: PollFacts, state: WallboxState, connection: Connection | None, now: float
) -> Known:
    """The vehicle endpoint answered with the car's connectivity."""
    woke = facts.woke_time
    if connection is Connection.ONLINE and facts.connection is not Connection.ONLINE:
        woke = now
    confirmed = state.confirmed_time
    if connection is Connection.ASLEEP and state.data_time is not None:
        confirmed = now  # asleep since our last read: nothing can have changed
    return (
        replace(facts, connection=connection, woke_time=woke, failures=0),
        replace(
            state,
            connection=connection,
            checked_time=now,
            confirmed_time=confirmed,
            last_error=None,
        ),
    )


def _refused(facts: PollFacts, now: float, settings: PollSettings) -> PollFacts:
    refused = facts.refused_reads + 1
    return replace(
        facts, refused_reads=refused, data_not_before=now + refused_read_gap(refused, settings)
    )


def after_refused_read(
    facts: PollFacts, state: WallboxState, now: float, settings: PollSettings
) -> Known:
    """vehicle_data answered 408: the car fell asleep (or out of reach) since we last looked. A
    state check finds out which, for free; vehicle_data is left alone for a while in case the
    state endpoint says online."""
    return (
        replace(_refused(facts, now, settings), connection=None),
        replace(state, connection=None, checked_time=now),
    )


def after_cached_reply(
    facts: PollFacts,
    state: WallboxState,
    connection: Connection | None,
    now: float,
    settings: PollSettings,
) -> Known:
    """A vehicle_data reply whose own state is not online: cached data of unknown age. It tells
    the car's state like a state check; like a 408, vehicle_data is left alone for a while, so that
    an online state check (or a state we do not know) cannot buy one cached answer after another."""
    return after_state_check(_refused(facts, now, settings), state, connection, now)


def after_reply(
    facts: PollFacts,
    state: WallboxState,
    charge: ChargeData | None,
    position: tuple[float, float] | None,
    at_pv_location: bool | None,
    *,
    now: float,
    targets: Targets,
) -> tuple[PollFacts, WallboxState, Targets]:
    """A live vehicle_data reply (charge None: it had no charge_state, which keeps the last);
    with the level projection it gives (the last one without charge data)."""
    new_state = state.with_charge(charge, now).with_position(position, at_pv_location)
    # Due moments up to now are settled by this read: kept, they would ask for another at once.
    confirm_at = facts.confirm_at if facts.confirm_at and facts.confirm_at > now else None
    if charge is not None:
        targets = replace(targets, projection=LevelProjection.from_charge(charge, now))
        charging = charge.charging
        target_at = target_time(charge, targets, now)
    else:
        charging = facts.charging
        target_at = facts.target_at if facts.target_at and facts.target_at > now else None
    new_facts = replace(
        facts,
        connection=Connection.ONLINE,
        charging=charging,
        data_time=now,
        activity_time=now,
        confirm_at=confirm_at,
        target_at=target_at,
        failures=0,
        refused_reads=0,
        data_not_before=None,
    )
    return new_facts, new_state, targets


def after_failure(facts: PollFacts, state: WallboxState, key: str) -> Known:
    """A poll failed with the error `key`: one more failure for the back-off."""
    return replace(facts, failures=facts.failures + 1), replace(state, last_error=key)


def after_poll(facts: PollFacts, *, failed: bool) -> PollFacts:
    """A poll ended: one that did not fail ends the back-off."""
    return facts if failed else replace(facts, failures=0)


def after_wake(facts: PollFacts, state: WallboxState, now: float) -> Known:
    """The charge controller woke the car and saw it online."""
    return (
        replace(facts, connection=Connection.ONLINE, activity_time=now),
        replace(state, connection=Connection.ONLINE, checked_time=now),
    )


@dataclass(frozen=True, slots=True)
class CommandEffect:
    """What a command that succeeded changes: the charge data at once (update), the start or stop
    asked for in this plug session (None: neither), and whether a read soon confirms it."""

    update: Callable[[ChargeData], ChargeData] | None
    charge_requested: bool | None
    confirm: bool = True


def after_command(
    facts: PollFacts,
    state: WallboxState,
    targets: Targets,
    effect: CommandEffect,
    now: float,
    *,
    settings: PollSettings,
) -> tuple[PollFacts, WallboxState, Targets]:
    """A command succeeded: its effect at once, and (confirm) a read soon to check it; with the
    level projection moved along."""
    target_at = facts.target_at
    if effect.update is not None and state.charge is not None:
        charge = effect.update(state.charge)
        targets, target_at = reprojected(targets, state.charge, charge, now, target_at)
        state = replace(
            state, charge=charge, session_charged=state.session_charged or charge.charging
        )
    if effect.charge_requested is not None:
        state = replace(state, charge_requested=effect.charge_requested)
    # A car that streams needs no confirming read: its stream shows what the car did.
    confirm = effect.confirm and not facts.streaming
    new_facts = replace(
        facts,
        connection=Connection.ONLINE,
        activity_time=now,
        charging=state.charge.charging if state.charge else facts.charging,
        confirm_at=now + settings.confirm_delay if confirm else facts.confirm_at,
        target_at=target_at,
    )
    return new_facts, replace(state, connection=Connection.ONLINE, checked_time=now), targets


def with_soft_target(
    facts: PollFacts,
    targets: Targets,
    charge: ChargeData | None,
    soft_target: int | None,
    now: float,
) -> tuple[PollFacts, Targets]:
    """The soft target changed: a read is planned for the moment it is reached."""
    targets = replace(targets, soft_target=soft_target)
    target_at = None if charge is None else target_time(charge, targets, now)
    return replace(facts, target_at=target_at), targets


@dataclass(frozen=True, slots=True)
class StreamOutcome:
    """What a stream event changed: the facts, the state (the same object when nothing the
    wallbox shows changed), the targets, and the charge fields heard before any charging state
    (partial: not enough to show a car yet)."""

    facts: PollFacts
    state: WallboxState
    targets: Targets
    partial: ChargeData | None


def _older(time: float | None, than: float | None) -> bool:
    return time is not None and than is not None and time < than


def after_stream(
    facts: PollFacts,
    state: WallboxState,
    reading: StreamReading,
    at_pv_location: bool | None,
    targets: Targets,
    *,
    partial: ChargeData | None,
    now: float,
) -> StreamOutcome:
    """An event of the car's stream. Its data is the car's at the event's time (never later than
    now); a connection's first snapshot older than what is known is left out. Any event is
    contact, as a poll that went through."""
    if reading.cached and _older(reading.time, state.data_time):
        reading = replace(reading, charge={}, has_position=False, position=None)
    if reading.cached and _older(reading.time, state.checked_time):
        reading = replace(reading, connection=None)
    new = state
    charge = charge_after(reading, state.charge or partial)
    if state.charge is None and charge is not None and charge.charging_state is None:
        partial, charge = charge, None
    if charge is not None and charge != state.charge:
        data_time = now if reading.time is None else min(reading.time, now)
        new = replace(new.with_charge(charge, now), data_time=data_time)
        targets = replace(targets, projection=LevelProjection.from_charge(charge, now))
        facts = replace(
            facts,
            connection=Connection.ONLINE,
            charging=charge.charging,
            target_at=target_time(charge, targets, now),
        )
        partial = None
    if reading.has_position and reading.position != new.position:
        new = new.with_position(reading.position, at_pv_location)
    if reading.connection is not None and reading.connection is not new.connection:
        new = replace(new, connection=reading.connection)
        facts = replace(facts, connection=reading.connection)
    if new is not state:
        new = replace(new, checked_time=now, confirmed_time=now, last_error=None)
    return StreamOutcome(facts, new, targets, partial)
