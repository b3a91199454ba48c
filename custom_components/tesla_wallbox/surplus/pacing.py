"""When the controller may send its next command, and how long a raise has to wait.

Pure (no Home Assistant imports; times are the controller's clock in seconds).

- Amp changes need `min_command_interval` since our last command. Start and stop skip that
  interval (the enable and disable delays and the restart hold pace them).
- A failed command, a command not reported back within PENDING_TIMEOUT_S, or a start/stop the car
  acknowledged but newer data contradicts, backs off min_command_interval, doubling per
  consecutive failure up to `max_backoff`. While a command is in flight (decided, not yet reported
  with `record`) nothing else is sent.
- After a cut or a start, a raise waits the raise hold: `disable_delay`, doubled each time a raise
  had to be taken back within PREMATURE_RAISE_S (up to MAX_RAISE_HOLD_S), halved again for every
  PREMATURE_RAISE_S without one.
"""

from __future__ import annotations

import math

from ..commands import Action
from .types import Reason, SurplusSettings, remaining_seconds

# A command the runner has not reported back after this long counts as failed.
PENDING_TIMEOUT_S = 300.0
# A raise taken back within this long was premature: the next one waits twice as long, up to
# MAX_RAISE_HOLD_S.
PREMATURE_RAISE_S = 300.0
MAX_RAISE_HOLD_S = 1800.0


class CommandPacing:
    """What our commands did, and what that allows next."""

    def __init__(self, settings: SurplusSettings) -> None:
        self.settings = settings
        self._last_command_time: float | None = None
        self._last_ok_command_time: float | None = None
        self._last_stop_time: float | None = None
        self._failures = 0
        self._backoff_until = -math.inf
        # (time, action, the current it changes from) of a decision not yet reported back
        self._pending: tuple[float, Action, int | None] | None = None
        # After a cut or a start, raising needs the surplus to last the raise hold: disable_delay,
        # doubled per premature raise, halved per calm PREMATURE_RAISE_S (raise_hold_at).
        self._lowered = False
        self._raise_hold = self.settings.disable_delay
        self._last_raise_time = -math.inf
        self._last_premature_time = -math.inf

    @property
    def last_ok_command_time(self) -> float | None:
        """When the car last accepted one of our commands."""
        return self._last_ok_command_time

    @property
    def last_stop_time(self) -> float | None:
        """When the car last accepted our stop."""
        return self._last_stop_time

    @property
    def lowered(self) -> bool:
        """Whether our last change of level was a cut or a start (a raise then waits the hold)."""
        return self._lowered

    # -- the command in flight ---------------------------------------------------------------------

    def begin(self, now: float, action: Action, from_amps: int | None) -> None:
        """A command was decided at `now`, changing the current from `from_amps`."""
        self._pending = (now, action, from_amps)

    def expire(self, now: float) -> None:
        """A command not reported back within PENDING_TIMEOUT_S counts as failed."""
        if self._pending is not None and now - self._pending[0] >= PENDING_TIMEOUT_S:
            self._pending = None
            self.fail(now)

    def record(
        self, now: float, action: Action, amps: int | None, ok: bool, previous_amps: int | None
    ) -> None:
        """What the runner sent and whether the car accepted it. previous_amps: the current of our
        last accepted command, for a command that was never begun."""
        from_amps = self._pending[2] if self._pending is not None else previous_amps
        self._pending = None
        self._last_command_time = now
        if not ok:
            self.fail(now)
            return
        self._failures = 0
        self._backoff_until = -math.inf
        self._last_ok_command_time = now
        if (
            amps is not None
            and from_amps is not None
            and action is Action.SET_AMPS
            and amps != from_amps
        ):
            self._note_change(now, lowered=amps < from_amps)
        if action is Action.START:
            # A start is a new level from the bottom: the first raise waits like one after a cut.
            self._lowered = True
        elif action is Action.STOP:
            self._last_stop_time = now

    def fail(self, now: float) -> None:
        """Back off: min_command_interval, doubled per consecutive failure, up to max_backoff."""
        self._failures += 1
        interval = self.settings.min_command_interval
        backoff = min(
            interval * 2 ** (self._failures - 1), max(self.settings.max_backoff, interval)
        )
        self._backoff_until = now + backoff

    def blocked(self, now: float, action: Action) -> tuple[Reason, dict[str, int]] | None:
        """Why a command cannot be sent now, or None."""
        if self._pending is not None:
            return Reason.COMMAND_PENDING, {}
        if now < self._backoff_until:
            return Reason.COMMAND_BACKOFF, {
                "remaining_s": remaining_seconds(self._backoff_until - now)
            }
        last = self._last_command_time
        interval = self.settings.min_command_interval
        # Start and stop skip the interval: they are rare (the delays and the restart hold pace
        # them), and a start or stop the car did not follow backs off like a failure.
        if action is Action.SET_AMPS and last is not None and now - last < interval:
            return Reason.COMMAND_INTERVAL, {
                "remaining_s": remaining_seconds(last + interval - now)
            }
        return None

    # -- the raise hold ----------------------------------------------------------------------------

    @property
    def raise_hold_limit(self) -> float:
        """The raise hold as last set (doubled after a premature raise), before any halving."""
        return self._raise_hold

    def raise_hold_at(self, now: float) -> float:
        """The raise hold after a cut: halved per PREMATURE_RAISE_S without a premature raise."""
        calm = max(0.0, now - self._last_premature_time) // PREMATURE_RAISE_S
        return max(self.settings.disable_delay, self._raise_hold / 2**calm)

    def _note_change(self, now: float, *, lowered: bool) -> None:
        if not lowered:
            self._last_raise_time = now
        elif now - self._last_raise_time < PREMATURE_RAISE_S:
            self._raise_hold = min(self.raise_hold_at(now) * 2, MAX_RAISE_HOLD_S)
            self._last_premature_time = now
        self._lowered = lowered
