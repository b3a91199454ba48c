"""A simulated Tesla: sleep, cable, charging physics and the Fleet API's data sections.

Pure model, no HTTP. Every read first brings the car up to the clock's time by lazy integration:
find the next event (wake done, charge start delay over, charge limit reached, sleep due),
integrate the charge up to it, apply it, repeat. No background tasks are needed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
import copy
from dataclasses import asdict, dataclass
import math
import time
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives.asymmetric import ec
from tesla_protocol.command.universal_message_pb2 import MessageFault_E

from . import sections
from .vcp import CommandRejectedError, VehicleCommandProtocol

ONLINE: Final = "online"
ASLEEP: Final = "asleep"
OFFLINE: Final = "offline"
VEHICLE_STATES: Final = (ONLINE, ASLEEP, OFFLINE)

DISCONNECTED: Final = "Disconnected"
STOPPED: Final = "Stopped"
STARTING: Final = "Starting"
CHARGING: Final = "Charging"
COMPLETE: Final = "Complete"
NO_POWER: Final = "NoPower"

CHARGE_LIMIT_MIN: Final = 50
CHARGE_LIMIT_MAX: Final = 100
CHARGE_LIMIT_STD: Final = 90
# Seconds a real car spends in "Starting" before current flows.
START_DELAY: Final = 5.0
# Below this a single set_charging_amps only lowers the request to it; a second send goes lower.
LOW_AMPS_THRESHOLD: Final = 5
# Rated range per kWh, about a Model 3 (the API reports ranges in miles).
RATED_MILES_PER_KWH: Final = 4.0
# The simulator's own text: no public source gives the car's reason for a limit outside 50..100
# (fleet_sim/README.md lists what the public reports say); integration code must not rely on it.
REASON_LIMIT_OUT_OF_RANGE: Final = "charge_limit_out_of_range"

CHARGE_COMMANDS: Final = (
    "charge_start",
    "charge_stop",
    "set_charging_amps",
    "set_charge_limit",
    "charge_port_door_open",
)
DATA_SECTIONS: Final = (
    "charge_state",
    "climate_state",
    "drive_state",
    "gui_settings",
    "vehicle_config",
    "vehicle_state",
)
LOCATION_DATA: Final = "location_data"
PROTOCOL_CLOCKS: Final = ("sim", "wall")
_EPSILON: Final = 1e-6


class Clock(Protocol):
    """Anything that tells the simulated time (SimClock does)."""

    def now(self) -> float:
        """Return epoch seconds."""
        ...


class WallClock:
    """Real time, for a car whose protocol clock should follow the client's."""

    def now(self) -> float:
        """Return epoch seconds."""
        return time.time()


class VehicleUnavailableError(Exception):
    """The car is asleep or offline: the Fleet API answers 408."""


class InvalidCommandError(Exception):
    """The command name is unknown: the Fleet API answers 400 invalid_command."""


class InvalidFieldError(Exception):
    """A command body field is missing or malformed: the Fleet API answers 400 invalid_field."""


@dataclass
class VehicleConfig:
    """How a simulated car starts out; ``None`` fields get per-index defaults."""

    vin: str | None = None
    display_name: str | None = None
    state: str = ONLINE
    battery_level: float = 50.0
    charge_limit_soc: int = 80
    battery_capacity_kwh: float = 75.0
    latitude: float = 52.52
    longitude: float = 13.405
    plugged_in: bool = False
    wall_max_amps: int = 16
    supply_phases: int = 3
    supply_voltage: float = 230.0
    auto_start_on_plug: bool = True
    charge_current_request: int | None = None
    # Tesla's docs: vehicle_data "may return cached data if the vehicle is offline". With this,
    # a car that is not online answers with its last online answer and its current state.
    cached_data: bool = False
    # The token's vehicle_location scope: without it, vehicle_data leaves out drive_state.
    location_scope: bool = True
    # Client public keys the car knows (virtual keys): PEM, the uncompressed point as bytes, hex
    # or base64. Signed commands from any other key are refused with UNKNOWN_KEY_ID.
    paired_keys: Sequence[bytes | str] = ()
    # Like cars that only take the Vehicle Command Protocol: plain /command/ requests answer 403.
    requires_signed_commands: bool = False
    # The clock of the car's protocol domains (session info clock_time, command expiry): "sim"
    # follows the simulated clock, so sim.advance() beyond a command's lifetime (the library
    # gives it 10 s) makes a client's next command expire once; "wall" follows real time, as the
    # client's own clock does, so jumps in sim time never expire commands.
    protocol_clock: str = "sim"
    # Whether the car streams Fleet Telemetry (Teslemetry's metadata: polling false). False is a
    # car Teslemetry can only poll, as pre-2021 Model S and X: no data events on its stream.
    streaming: bool = True


@dataclass(frozen=True)
class FastCharger:
    """A DC fast charger the car is plugged into (the README cites the recorded replies)."""

    power_kw: float = 150.0
    voltage: float = 380.0
    charger_type: str = "Supercharger"
    brand: str = "Tesla"


@dataclass(frozen=True)
class CommandRecord:
    """One command the car received and what it answered."""

    time: float
    name: str
    body: dict[str, Any]
    result: bool
    reason: str
    # True when it came through signed_command (the Vehicle Command Protocol).
    signed: bool = False


def default_vin(index: int) -> str:
    """Deterministic 17-character VIN for the ``index``-th (1-based) simulated car."""
    return f"5YJ3SIMVIN{index:07d}"


def _int_field(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidFieldError(f"{name} must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise InvalidFieldError(f"{name} must be an integer")
    if value < 0:
        raise InvalidFieldError(f"{name} must not be negative")
    return int(value)


def _validate_wall(max_amps: int, phases: int, voltage: float) -> None:
    if max_amps <= 0:
        raise ValueError("wall_max_amps must be positive")
    if phases not in (1, 3):
        # A Tesla's on-board charger takes one phase or three.
        raise ValueError("supply_phases must be 1 or 3")
    if voltage <= 0:
        raise ValueError("supply_voltage must be positive")


class SimVehicle:
    """One simulated car, brought up to the clock's time on every access."""

    def __init__(
        self,
        config: VehicleConfig,
        *,
        index: int = 1,
        clock: Clock,
        wake_delay: float = 20.0,
        sleep_after: float = 900.0,
    ) -> None:
        if config.state not in VEHICLE_STATES:
            raise ValueError(f"state must be one of {', '.join(VEHICLE_STATES)}")
        if not CHARGE_LIMIT_MIN <= config.charge_limit_soc <= CHARGE_LIMIT_MAX:
            raise ValueError("charge_limit_soc must be between 50 and 100")
        if config.battery_capacity_kwh <= 0:
            raise ValueError("battery_capacity_kwh must be positive")
        _validate_wall(config.wall_max_amps, config.supply_phases, config.supply_voltage)
        if config.protocol_clock not in PROTOCOL_CLOCKS:
            raise ValueError(f"protocol_clock must be one of {', '.join(PROTOCOL_CLOCKS)}")
        self.index = index
        self.vin = config.vin or default_vin(index)
        self.display_name = config.display_name or f"Simulated Car {index}"
        self.id = 1_000_000_000_000 + index
        self.vehicle_id = 2_000_000_000 + index
        self.wake_delay = wake_delay
        self.sleep_after = sleep_after
        self.battery_capacity_kwh = config.battery_capacity_kwh
        self.auto_start_on_plug = config.auto_start_on_plug
        self.cached_data = config.cached_data
        self.location_scope = config.location_scope
        self.requires_signed_commands = config.requires_signed_commands
        self.streaming = config.streaming
        self._last_data: dict[str, Any] | None = None
        self._fast_charger: FastCharger | None = None
        self._clock = clock
        self._t = clock.now()
        self._state: str = config.state
        self._wake_at: float | None = None
        self._quiet_since = self._t
        self._level = min(max(float(config.battery_level), 0.0), 100.0)
        self._limit = int(config.charge_limit_soc)
        self._wall_max_amps = config.wall_max_amps
        self._supply_phases = config.supply_phases
        self._supply_voltage = float(config.supply_voltage)
        requested = config.charge_current_request
        self._request_amps = config.wall_max_amps if requested is None else requested
        self._pending_low_amps: int | None = None
        self._power_available = True
        self._plugged = config.plugged_in
        self._latch_engaged = config.plugged_in
        self._door_open = config.plugged_in
        self._latitude = config.latitude
        self._longitude = config.longitude
        self._heading = 90  # parked facing east; nothing here drives
        self._energy_added = 0.0
        self._energy_total = 0.0
        self._start_done_at: float | None = None
        self._charging_state = DISCONNECTED
        self.timeline: list[tuple[float, str]] = [(self._t, self._state)]
        self.charging_timeline: list[tuple[float, str]] = []
        self.commands: list[CommandRecord] = []
        self.vcp = VehicleCommandProtocol(
            self.vin,
            clock if config.protocol_clock == "sim" else WallClock(),
            self._execute_signed,
            paired_keys=config.paired_keys,
        )
        if config.plugged_in:
            wants_charge = config.auto_start_on_plug and self._state == ONLINE
            self._set_charging(self._settled_plug_state(start=wants_charge))
        else:
            self.charging_timeline.append((self._t, DISCONNECTED))

    # ---- time ---------------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the car up to the clock's time, applying every event on the way."""
        now = self._clock.now()
        while True:
            due = self._next_event()
            if due is None or due > now:
                self._integrate(now)
                return
            self._integrate(due)
            self._fire_due()

    def _next_event(self) -> float | None:
        candidates: list[float] = []
        if self._state == ASLEEP and self._wake_at is not None:
            candidates.append(self._wake_at)
        if self._charging_state == STARTING and self._start_done_at is not None:
            candidates.append(self._start_done_at)
        power_kw = self._power_w() / 1000.0
        if self._charging_state == CHARGING and power_kw > 0:
            remaining_kwh = max(self._limit - self._level, 0.0) / 100 * self.battery_capacity_kwh
            candidates.append(self._t + remaining_kwh / power_kw * 3600)
        if self._state == ONLINE and not self._keeps_awake():
            candidates.append(self._quiet_since + self.sleep_after)
        return max(min(candidates), self._t) if candidates else None

    def _integrate(self, until: float) -> None:
        if until <= self._t:
            return
        if self._charging_state == CHARGING:
            energy_kwh = self._power_w() / 1000.0 * (until - self._t) / 3600
            self._level = min(self._level + energy_kwh / self.battery_capacity_kwh * 100, 100.0)
            self._energy_added += energy_kwh
            self._energy_total += energy_kwh
        self._t = until

    def _fire_due(self) -> None:
        now = self._t
        if self._state == ASLEEP and self._wake_at is not None and self._wake_at <= now:
            self._wake_at = None
            self._quiet_since = now
            self._set_state(ONLINE)
        start_done = self._start_done_at
        if self._charging_state == STARTING and start_done is not None and start_done <= now:
            self._set_charging(CHARGING if self._power_available else NO_POWER)
        self._settle_limit()
        if (
            self._state == ONLINE
            and not self._keeps_awake()
            and self._quiet_since + self.sleep_after <= now
        ):
            self._set_state(ASLEEP)

    def _settle_limit(self) -> None:
        if self._charging_state == CHARGING and self._level >= self._limit - _EPSILON:
            if abs(self._level - self._limit) < _EPSILON:
                self._level = float(self._limit)  # float noise must not show as 80.00000000004
            self._set_charging(COMPLETE)

    def _keeps_awake(self) -> bool:
        return self._charging_state in (STARTING, CHARGING)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.timeline.append((self._t, state))

    def _set_charging(self, charging_state: str) -> None:
        if charging_state == self._charging_state:
            return
        if self._keeps_awake():
            # The quiet time before sleep starts when the charge ends.
            self._quiet_since = self._t
        self._charging_state = charging_state
        self._start_done_at = self._t + START_DELAY if charging_state == STARTING else None
        self.charging_timeline.append((self._t, charging_state))

    def _touch(self) -> None:
        self._quiet_since = self._t

    def _power_w(self) -> float:
        if self._charging_state != CHARGING:
            return 0.0
        if self._fast_charger is not None:
            return self._fast_charger.power_kw * 1000
        return self._supply_phases * self._supply_voltage * self._actual_amps()

    def _actual_amps(self) -> int:
        return min(self._request_amps, self._wall_max_amps)

    def _settled_plug_state(self, *, start: bool) -> str:
        if self._level >= self._limit - _EPSILON:
            return COMPLETE
        return STARTING if start else STOPPED

    # ---- read-only state ----------------------------------------------------------------------

    @property
    def state(self) -> str:
        """online, asleep or offline."""
        self.sync()
        return self._state

    @property
    def charging_state(self) -> str:
        """Disconnected, Stopped, Starting, Charging, Complete or NoPower."""
        self.sync()
        return self._charging_state

    @property
    def battery_level(self) -> float:
        """State of charge in percent, unrounded."""
        self.sync()
        return self._level

    @property
    def charge_limit_soc(self) -> int:
        """The charge limit in percent."""
        self.sync()
        return self._limit

    @property
    def charge_current_request(self) -> int:
        """The requested current, never above what the wall charger offers."""
        self.sync()
        return min(self._request_amps, self._wall_max_amps)

    @property
    def charge_power_w(self) -> float:
        """Exact charging power in watts (0 unless Charging)."""
        self.sync()
        return self._power_w()

    @property
    def energy_added_kwh(self) -> float:
        """Energy added during the current plug session."""
        self.sync()
        return self._energy_added

    @property
    def energy_total_kwh(self) -> float:
        """Energy added since the simulation started."""
        self.sync()
        return self._energy_total

    @property
    def plugged_in(self) -> bool:
        """Whether the cable is in."""
        return self._plugged

    @property
    def fast_charger(self) -> FastCharger | None:
        """The DC fast charger the car is plugged into, if any."""
        return self._fast_charger

    @property
    def power_available(self) -> bool:
        """Whether the wall charger can deliver power."""
        return self._power_available

    @property
    def latitude(self) -> float:
        """Where the car is parked."""
        return self._latitude

    @property
    def longitude(self) -> float:
        """Where the car is parked."""
        return self._longitude

    @property
    def heading(self) -> int:
        """Degrees from north the parked car faces."""
        return self._heading

    @property
    def wall_max_amps(self) -> int:
        """The wall charger's maximum (the pilot current)."""
        return self._wall_max_amps

    @property
    def supply_phases(self) -> int:
        """Phases of the supply at the wall charger."""
        return self._supply_phases

    @property
    def supply_voltage(self) -> float:
        """Phase voltage of the supply."""
        return self._supply_voltage

    def asleep_seconds(self, since: float | None = None, until: float | None = None) -> float:
        """Seconds spent asleep between ``since`` and ``until`` (default: all of the timeline)."""
        self.sync()
        start = self.timeline[0][0] if since is None else since
        end = self._t if until is None else until
        total = 0.0
        for i, (began, state) in enumerate(self.timeline):
            ended = self.timeline[i + 1][0] if i + 1 < len(self.timeline) else self._t
            if state == ASLEEP:
                total += max(0.0, min(ended, end) - max(began, start))
        return total

    def snapshot(self) -> dict[str, Any]:
        """The car's internal state (unrounded), for the admin API and for debugging."""
        self.sync()
        return {
            "index": self.index,
            "vin": self.vin,
            "display_name": self.display_name,
            "time": self._t,
            "state": self._state,
            "waking_until": self._wake_at,
            "plugged_in": self._plugged,
            "charging_state": self._charging_state,
            "battery_level": self._level,
            "battery_capacity_kwh": self.battery_capacity_kwh,
            "charge_limit_soc": self._limit,
            "charge_current_request": min(self._request_amps, self._wall_max_amps),
            "charge_power_w": self._power_w(),
            "wall_charger": {
                "max_amps": self._wall_max_amps,
                "supply_phases": self._supply_phases,
                "supply_voltage": self._supply_voltage,
            },
            "power_available": self._power_available,
            "fast_charger": None if self._fast_charger is None else asdict(self._fast_charger),
            "latitude": self._latitude,
            "longitude": self._longitude,
            "energy_added_kwh": self._energy_added,
            "energy_total_kwh": self._energy_total,
            "asleep_seconds": self.asleep_seconds(),
            "wake_delay": self.wake_delay,
            "sleep_after": self.sleep_after,
            "commands": len(self.commands),
            "paired_keys": [key.hex() for key in self.vcp.paired_keys],
            "requires_signed_commands": self.requires_signed_commands,
            "streaming": self.streaming,
            "message_faults": [
                {"fault": name, "remaining": remaining}
                for name, remaining in self.vcp.pending_faults
            ],
        }

    # ---- scenario control ---------------------------------------------------------------------

    def plug_in(
        self,
        *,
        wall_max_amps: int | None = None,
        supply_phases: int | None = None,
        supply_voltage: float | None = None,
    ) -> None:
        """Plug the cable in: a new session; wakes the car; may start charging by itself."""
        self.sync()
        self.set_wall_charger(
            self._wall_max_amps if wall_max_amps is None else wall_max_amps,
            supply_phases,
            supply_voltage,
        )
        self._connect(None, start=self.auto_start_on_plug)

    def plug_in_dc(self, charger: FastCharger | None = None) -> None:
        """Plug into a DC fast charger: a new session that starts by itself, at the charger's
        power; the AC settings (wall charger, requested current) stay for the next AC charge."""
        charger = charger or FastCharger()
        if not (charger.power_kw > 0 and charger.voltage > 0):
            raise ValueError("a fast charger's power and voltage must be positive")
        self.sync()
        self._connect(charger, start=True)

    def _connect(self, fast_charger: FastCharger | None, *, start: bool) -> None:
        self._fast_charger = fast_charger
        self._plugged = True
        self._latch_engaged = True
        self._door_open = True
        self._energy_added = 0.0
        self._pending_low_amps = None
        self._wake_by_hand()
        self._set_charging(DISCONNECTED)
        self._set_charging(self._settled_plug_state(start=start))

    def unplug(self) -> None:
        """Pull the cable: Disconnected; the port door closes."""
        self.sync()
        self._fast_charger = None
        self._plugged = False
        self._latch_engaged = False
        self._door_open = False
        self._wake_by_hand()
        self._set_charging(DISCONNECTED)

    def _wake_by_hand(self) -> None:
        # Someone handling the cable wakes a sleeping car; an unreachable one stays offline.
        if self._state == ASLEEP:
            self._wake_at = None
            self._set_state(ONLINE)
        self._touch()

    def move(self, latitude: float, longitude: float) -> None:
        """Park the car somewhere else."""
        self.sync()
        self._latitude = float(latitude)
        self._longitude = float(longitude)

    def set_battery_level(self, percent: float) -> None:
        """Set the state of charge (clamped to 0..100)."""
        self.sync()
        self._level = min(max(float(percent), 0.0), 100.0)
        self._settle_limit()

    def set_wall_charger(
        self,
        max_amps: int,
        supply_phases: int | None = None,
        supply_voltage: float | None = None,
    ) -> None:
        """Change the wall charger (pilot current, phases, voltage), also while charging.

        Phases and voltage left out keep their current values.
        """
        if supply_phases is None:
            supply_phases = self._supply_phases
        if supply_voltage is None:
            supply_voltage = self._supply_voltage
        _validate_wall(max_amps, supply_phases, supply_voltage)
        self.sync()
        self._wall_max_amps = int(max_amps)
        self._supply_phases = int(supply_phases)
        self._supply_voltage = float(supply_voltage)

    def set_power_available(self, available: bool) -> None:
        """Cut or restore the supply: a charge goes to NoPower and resumes when power returns."""
        self.sync()
        self._power_available = available
        if not available and self._charging_state in (STARTING, CHARGING):
            self._set_charging(NO_POWER)
        elif available and self._charging_state == NO_POWER:
            self._set_charging(STARTING)

    def fall_asleep(self) -> None:
        """Force the car asleep; a running charge stops, as no real car sleeps while charging."""
        self.sync()
        if self._keeps_awake():
            self._set_charging(STOPPED)
        self._wake_at = None
        self._set_state(ASLEEP)

    def go_online(self) -> None:
        """Force the car online; the sleep timer restarts."""
        self.sync()
        self._wake_at = None
        self._touch()
        self._set_state(ONLINE)

    def pair_key(self, key: bytes | str | ec.EllipticCurvePublicKey) -> bytes:
        """Add a client public key (PEM, point bytes, hex or base64); return its point."""
        return self.vcp.pair_key(key)

    def unpair_key(self, key: bytes | str | ec.EllipticCurvePublicKey) -> bytes:
        """Remove a paired client key; KeyError if the car does not know it."""
        return self.vcp.unpair_key(key)

    @property
    def paired_keys(self) -> list[bytes]:
        """The client public keys the car knows, as uncompressed points."""
        return self.vcp.paired_keys

    def reboot(self) -> None:
        """Restart the car's computers: new protocol epochs and clocks, counters forgotten.

        Nothing else changes (charging, sleep state); clients must resync their sessions.
        """
        self.vcp.reboot()

    def go_offline(self) -> None:
        """Force the car out of reach; charging (physics) goes on, the API cannot see it."""
        self.sync()
        self._wake_at = None
        self._set_state(OFFLINE)

    # ---- Fleet API behaviour ------------------------------------------------------------------

    def wake_up(self, delay: float | None = None) -> dict[str, Any]:
        """Handle wake_up: answer at once; an asleep car is online after ``wake_delay`` (or
        ``delay``: a wake over Bluetooth LE takes its own time)."""
        self.sync()
        if self._state == ONLINE:
            self._touch()
        elif self._state == ASLEEP and self._wake_at is None:
            self._wake_at = self._t + (self.wake_delay if delay is None else delay)
            self.sync()
        return self.summary()

    def summary(self) -> dict[str, Any]:
        """The vehicle object of the vehicle list and of GET /vehicles/{vin}; never wakes."""
        self.sync()
        return sections.vehicle_object(
            vehicle_id=self.id,
            internal_id=self.vehicle_id,
            vin=self.vin,
            display_name=self.display_name,
            state=self._state,
        )

    def vehicle_data(self, endpoints: Collection[str] | None = None) -> dict[str, Any]:
        """Handle vehicle_data: only the sections asked for; location only with location_data.

        Not online: 408, or with ``cached_data`` the last online answer (its sections as they
        were then), with the car's state now; it does not reach the car, so it keeps no one awake.
        """
        self.sync()
        if self._state != ONLINE:
            return self._cached_answer(endpoints)
        self._touch()
        wanted = set(DATA_SECTIONS) if not endpoints else set(endpoints)
        with_location = LOCATION_DATA in wanted and self.location_scope
        if with_location:
            wanted.add("drive_state")
        if not self.location_scope:
            wanted.discard("drive_state")
        stamp = self._timestamp_ms()
        location = (self._latitude, self._longitude, self._heading) if with_location else None
        builders: dict[str, Callable[[], dict[str, Any]]] = {
            "charge_state": self.charge_state,
            "climate_state": lambda: sections.climate_state(stamp),
            "drive_state": lambda: sections.drive_state(stamp, location),
            "gui_settings": lambda: sections.gui_settings(stamp),
            "vehicle_config": lambda: sections.vehicle_config(stamp),
            "vehicle_state": lambda: sections.vehicle_state(stamp, self.display_name),
        }
        data = self.summary()
        for name in DATA_SECTIONS:
            if name in wanted:
                data[name] = builders[name]()
        self._last_data = copy.deepcopy(data)
        return data

    def _cached_answer(self, endpoints: Collection[str] | None) -> dict[str, Any]:
        if not self.cached_data or self._last_data is None:
            raise VehicleUnavailableError
        wanted = set(DATA_SECTIONS) if not endpoints else set(endpoints)
        if LOCATION_DATA in wanted:
            wanted.add("drive_state")
        data = self.summary()
        for name in DATA_SECTIONS:
            if name in wanted and name in self._last_data:
                data[name] = copy.deepcopy(self._last_data[name])
        return data

    def signed_command(self, routable_message: bytes) -> bytes:
        """Handle signed_command: a RoutableMessage in, a RoutableMessage out.

        Reaching the car needs it online (else VehicleUnavailableError: 408) and keeps it awake,
        also for a handshake; the command itself then runs through ``execute``.
        """
        self.sync()
        if self._state != ONLINE:
            raise VehicleUnavailableError
        self._touch()
        return self.vcp.handle(routable_message)

    def _execute_signed(self, name: str, body: dict[str, Any]) -> tuple[bool, str]:
        try:
            return self.execute(name, body, signed=True)
        except InvalidFieldError:
            # The REST path's 400 invalid_field: a protocol fault for a malformed argument.
            raise CommandRejectedError(MessageFault_E.MESSAGEFAULT_ERROR_BAD_PARAMETER) from None

    def execute(self, name: str, body: dict[str, Any], *, signed: bool = False) -> tuple[bool, str]:
        """Run a charging command like the car does; return (result, reason)."""
        if name not in CHARGE_COMMANDS:
            raise InvalidCommandError(name)
        arguments: dict[str, int] = {}
        if name == "set_charging_amps":
            arguments["amps"] = _int_field(body, "charging_amps")
        elif name == "set_charge_limit":
            arguments["percent"] = _int_field(body, "percent")
        self.sync()
        if self._state != ONLINE:
            raise VehicleUnavailableError
        self._touch()
        if name != "set_charging_amps":
            self._pending_low_amps = None
        if name == "charge_start":
            result, reason = self._charge_start()
        elif name == "charge_stop":
            result, reason = self._charge_stop()
        elif name == "set_charging_amps":
            result, reason = self._set_charging_amps(arguments["amps"])
        elif name == "set_charge_limit":
            result, reason = self._set_charge_limit(arguments["percent"])
        else:
            result, reason = self._charge_port_door_open()
        self.commands.append(CommandRecord(self._t, name, dict(body), result, reason, signed))
        return result, reason

    def _charge_start(self) -> tuple[bool, str]:
        state = self._charging_state
        if state == DISCONNECTED:
            return False, "disconnected"
        if state == CHARGING:
            return False, "is_charging"
        if state == STARTING:
            return False, "requested"
        if self._level >= self._limit - _EPSILON:
            return False, "complete"
        self._latch_engaged = True
        if state != NO_POWER:
            self._set_charging(STARTING)
        return True, ""

    def _charge_stop(self) -> tuple[bool, str]:
        if self._charging_state not in (STARTING, CHARGING, NO_POWER):
            return False, "not_charging"
        self._set_charging(STOPPED)
        return True, ""

    def _set_charging_amps(self, amps: int) -> tuple[bool, str]:
        amps = min(amps, self._wall_max_amps)
        if amps < LOW_AMPS_THRESHOLD and self._pending_low_amps != amps:
            # The car only goes below 5 A when asked twice in a row.
            self._pending_low_amps = amps
            self._request_amps = LOW_AMPS_THRESHOLD
        else:
            self._pending_low_amps = None
            self._request_amps = amps
        return True, ""

    def _set_charge_limit(self, percent: int) -> tuple[bool, str]:
        if not CHARGE_LIMIT_MIN <= percent <= CHARGE_LIMIT_MAX:
            return False, REASON_LIMIT_OUT_OF_RANGE
        if percent == self._limit:
            return False, "already_set"
        self._limit = percent
        if self._charging_state == COMPLETE and self._level < percent - _EPSILON:
            # A real car resumes a completed charge when the limit is raised.
            self._set_charging(STARTING)
        self._settle_limit()
        return True, ""

    def _charge_port_door_open(self) -> tuple[bool, str]:
        self._door_open = True
        if self._plugged:
            # Opening the port on a plugged car releases the cable, which ends a charge.
            self._latch_engaged = False
            if self._charging_state in (STARTING, CHARGING, NO_POWER):
                self._set_charging(STOPPED)
        return True, ""

    # ---- vehicle_data sections ----------------------------------------------------------------

    def _timestamp_ms(self) -> int:
        return int(self._t * 1000)

    def _display_level(self) -> int:
        return math.floor(self._level + _EPSILON)

    def charge_state(self) -> dict[str, Any]:
        """The charge_state section exactly as vehicle_data returns it now."""
        self.sync()
        state = self._charging_state
        charging = state == CHARGING
        power_w = self._power_w()
        plugged = self._plugged
        remaining_kwh = max(self._limit - self._level, 0.0) / 100 * self.battery_capacity_kwh
        hours_to_full = remaining_kwh / (power_w / 1000) if charging and power_w > 0 else 0.0
        range_miles = self._level / 100 * self.battery_capacity_kwh * RATED_MILES_PER_KWH
        miles_added = round(self._energy_added * RATED_MILES_PER_KWH, 1)
        level = self._display_level()
        request = min(self._request_amps, self._wall_max_amps)
        fast = self._fast_charger
        # A plugged car that is not charging reads a couple of volts, like real ones do.
        idle_voltage = 2 if plugged else 0
        supply_voltage = fast.voltage if fast is not None else self._supply_voltage
        voltage = round(supply_voltage) if charging else idle_voltage
        port_color = {
            DISCONNECTED: "Off",
            STOPPED: "Blue",
            STARTING: "FlashingGreen",
            CHARGING: "FlashingGreen",
            COMPLETE: "Green",
            NO_POWER: "Red",
        }[state]
        return {
            "battery_heater_on": False,
            "battery_level": level,
            "battery_range": round(range_miles, 2),
            "charge_amps": request,
            "charge_current_request": request,
            "charge_current_request_max": self._wall_max_amps,
            "charge_enable_request": state in (STARTING, CHARGING, COMPLETE, NO_POWER),
            "charge_energy_added": round(self._energy_added, 2),
            "charge_limit_soc": self._limit,
            "charge_limit_soc_max": CHARGE_LIMIT_MAX,
            "charge_limit_soc_min": CHARGE_LIMIT_MIN,
            "charge_limit_soc_std": CHARGE_LIMIT_STD,
            "charge_miles_added_ideal": miles_added,
            "charge_miles_added_rated": miles_added,
            "charge_port_cold_weather_mode": False,
            "charge_port_color": port_color,
            "charge_port_door_open": self._door_open,
            "charge_port_latch": "Engaged" if plugged and self._latch_engaged else "Disengaged",
            "charge_rate": round(power_w / 1000 * RATED_MILES_PER_KWH, 1),
            "charge_to_max_range": self._limit >= CHARGE_LIMIT_MAX,
            # On DC the AC fields read no current and no phases.
            "charger_actual_current": self._actual_amps() if charging and fast is None else 0,
            "charger_phases": (2 if self._supply_phases > 1 else 1)
            if charging and fast is None
            else None,
            "charger_pilot_current": self._wall_max_amps if plugged and fast is None else 0,
            "charger_power": round(power_w / 1000),
            "charger_voltage": voltage,
            "charging_state": state,
            "conn_charge_cable": "IEC" if plugged else "<invalid>",
            "est_battery_range": round(range_miles * 0.92, 2),
            "fast_charger_brand": fast.brand if fast is not None else "<invalid>",
            "fast_charger_present": fast is not None,
            "fast_charger_type": fast.charger_type
            if fast is not None
            else ("ACSingleWireCAN" if plugged else "<invalid>"),
            "ideal_battery_range": round(range_miles, 2),
            "managed_charging_active": False,
            "managed_charging_start_time": None,
            "managed_charging_user_canceled": False,
            "max_range_charge_counter": 0,
            "minutes_to_full_charge": round(hours_to_full * 60),
            "not_enough_power_to_heat": None,
            "off_peak_charging_enabled": False,
            "off_peak_charging_times": "all_week",
            "off_peak_hours_end_time": 360,
            "preconditioning_enabled": False,
            "preconditioning_times": "all_week",
            "scheduled_charging_mode": "Off",
            "scheduled_charging_pending": False,
            "scheduled_charging_start_time": None,
            "scheduled_departure_time": None,
            "scheduled_departure_time_minutes": 480,
            "supercharger_session_trip_planner": False,
            "time_to_full_charge": round(hours_to_full, 2),
            "timestamp": self._timestamp_ms(),
            "trip_charging": False,
            "usable_battery_level": level,
            "user_charge_enable_request": None,
            "energy_remaining": round(self._level / 100 * self.battery_capacity_kwh, 2),
            "charging_schedule_override": False,
        }
