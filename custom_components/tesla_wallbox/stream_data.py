"""What Teslemetry's stream says, parsed: pure, no Home Assistant imports.

`read_event` turns one stream event (a `data` event with Fleet Telemetry signals, or a `state`
event) into a `StreamReading`: the ChargeData fields it changes, the position, the car's state and
the event's time. `charge_after` applies a reading to the last ChargeData. `account_of` reads
Teslemetry's metadata: the stream's server and which cars stream.

The events come raw (teslemetry-stream's `async_add_listener`), so enum values still carry their
prefix ("DetailedChargeStateCharging"). Values arrive typed, but some cars still send numbers as
text ("3", "74.4"), and Tesla's "invalid" is null. Nothing here raises: what cannot be read is left
out, and the last value stays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
import datetime as dt
import math
import re
from typing import Any, Final

from .vehicle_data import CHARGING_STATES, DISCONNECTED, ChargeData, Connection

# The signals the wallbox needs, which set-up adds to a car's streaming config when missing
# (Location only with a PV zone). The others below are read when the car sends them.
NEEDED_SIGNALS: Final = (
    "DetailedChargeState",
    "BatteryLevel",
    "ChargeLimitSoc",
    "ChargeAmps",
    "ChargeCurrentRequest",
    "ChargeCurrentRequestMax",
    "ChargerVoltage",
    "ChargerPhases",
    "ACChargingPower",
    "ACChargingEnergyIn",
    "FastChargerPresent",
)
LOCATION: Final = "Location"
# Teslemetry's load balancer, for a region we cannot read.
DEFAULT_SERVER: Final = "api.teslemetry.com"
# Failed connection attempts in a row before the account is asked why the stream cannot connect
# (one failure is a blip; a refused token ends the library's attempts at the first).
PROBE_AFTER: Final = 2
# The least time between two such questions, in seconds (the library retries up to every 600 s).
PROBE_GAP: Final = 600.0
_REGION: Final = re.compile(r"^[a-z]{2,8}$")


class _Skip:
    """A value that could not be read: the field keeps its last value."""


_SKIP: Final = _Skip()
type _Convert = Callable[[Any], Any]


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or its text ("74.4"); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _float(value: Any) -> float | _Skip:
    number = _number(value)
    return _SKIP if number is None else number


def _whole(value: Any) -> int | _Skip:
    number = _number(value)
    return _SKIP if number is None else round(number)


def _level(value: Any) -> int | _Skip:
    """The battery level as vehicle_data gives it: whole percent, rounded down (79.96 is not yet
    the limit of 80)."""
    number = _number(value)
    if number is None or not 0 <= number <= 100:
        return _SKIP
    return math.floor(number)


def _minutes(value: Any) -> int | _Skip:
    """TimeToFullCharge is in hours; vehicle_data's minutes_to_full_charge in minutes."""
    number = _number(value)
    return _SKIP if number is None or number < 0 else round(number * 60)


def _bool(value: Any) -> bool | _Skip:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return _SKIP


def _charging_state(value: Any) -> str | _Skip:
    """vehicle_data's charging_state from DetailedChargeState; Unknown and Calibrating have no
    twin there, so the last state stays."""
    if not isinstance(value, str):
        return _SKIP
    state = value.removeprefix("DetailedChargeState")
    return state if state in CHARGING_STATES else _SKIP


def _named(prefix: str) -> _Convert:
    """An enum value without its prefix ("CableTypeIEC" -> "IEC"); null (Tesla's "invalid")
    means none: no cable, no fast charger."""

    def convert(value: Any) -> str | _Skip | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.removeprefix(prefix):
            return _SKIP
        return value.removeprefix(prefix)

    return convert


def _phases(value: Any) -> int | _Skip | None:
    """ChargerPhases is null unless the car charges on AC (as vehicle_data's charger_phases)."""
    return None if value is None else _whole(value)


# Signal -> (ChargeData field, how its value reads); docs/setup/teslemetry.md gives the sources.
_SIGNALS: Final[dict[str, tuple[str, _Convert]]] = {
    "DetailedChargeState": ("charging_state", _charging_state),
    "BatteryLevel": ("battery_level", _level),
    "ChargeLimitSoc": ("charge_limit_soc", _whole),
    "ChargeCurrentRequest": ("charge_current_request", _whole),
    "ChargeCurrentRequestMax": ("charge_current_request_max", _whole),
    "ChargeAmps": ("charger_actual_current", _whole),
    "ChargerVoltage": ("charger_voltage", _whole),
    "ChargerPhases": ("charger_phases", _phases),
    "ACChargingPower": ("charger_power", _float),
    "ACChargingEnergyIn": ("charge_energy_added", _float),
    "ChargingCableType": ("conn_charge_cable", _named("CableType")),
    "FastChargerPresent": ("fast_charger_present", _bool),
    "FastChargerType": ("fast_charger_type", _named("FastCharger")),
    "TimeToFullCharge": ("minutes_to_full_charge", _minutes),
    "ChargePortDoorOpen": ("charge_port_door_open", _bool),
}
# Fields that decide the pilot current, which the stream does not send (see charge_after).
_PILOT_INPUTS: Final = frozenset(
    {"charging_state", "charge_current_request_max", "fast_charger_present"}
)


@dataclass(frozen=True, slots=True)
class StreamReading:
    """What one stream event says about a car.

    time: the event's time (the car's, epoch seconds); None when it has none we can read.
    cached: part of the snapshot a new connection gets first (`isCache`), maybe older than what
    is known. charge: the ChargeData fields it changes. position: where the car is, when the
    event has a Location (has_position; None then means not known).
    """

    time: float | None = None
    cached: bool = False
    connection: Connection | None = None
    charge: Mapping[str, Any] = field(default_factory=dict)
    position: tuple[float, float] | None = None
    has_position: bool = False

    def position_or(self, last: tuple[float, float] | None) -> tuple[float, float] | None:
        """The car's position after this event (the last one when it has none)."""
        return self.position if self.has_position else last

    @property
    def empty(self) -> bool:
        """Whether the event says nothing the wallbox shows."""
        return self.connection is None and not self.charge and not self.has_position


def _event_time(event: Mapping[str, Any]) -> float | None:
    """The event's time: the library's `timestamp` (epoch ms), else its `createdAt`."""
    stamp = event.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and math.isfinite(stamp):
        return stamp / 1000
    created = event.get("createdAt")
    if not isinstance(created, str):
        return None
    # Teslemetry writes nanoseconds; fromisoformat reads at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", created.strip())
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _position(value: Any) -> tuple[float, float] | _Skip | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return _SKIP
    latitude, longitude = _number(value.get("latitude")), _number(value.get("longitude"))
    if latitude is None or longitude is None:
        return _SKIP
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return _SKIP
    return latitude, longitude


def _connection(value: Any) -> Connection | None:
    try:
        return Connection(value)
    except ValueError:
        return None


def read_event(event: Any) -> StreamReading:
    """One raw stream event, read; an event of another kind, or malformed, reads as empty."""
    if not isinstance(event, dict):
        return StreamReading()
    time = _event_time(event)
    cached = event.get("isCache") is True
    connection = _connection(event.get("state")) if isinstance(event.get("state"), str) else None
    signals = event.get("data")
    if not isinstance(signals, dict):
        return StreamReading(time, cached, connection)
    charge: dict[str, Any] = {}
    for name, (field_name, convert) in _SIGNALS.items():
        if name in signals and not isinstance(value := convert(signals[name]), _Skip):
            charge[field_name] = value
    position = _position(signals.get(LOCATION)) if LOCATION in signals else _SKIP
    if isinstance(position, _Skip):
        return StreamReading(time, cached, connection, charge)
    return StreamReading(time, cached, connection, charge, position, has_position=True)


def charge_after(reading: StreamReading, last: ChargeData | None) -> ChargeData | None:
    """The charge data after the reading (None: it has no charge fields and nothing was known).

    The stream sends no pilot current: the nearest it has is ChargeCurrentRequestMax ("maximum
    available amps"), which is what the pilot is while plugged in on AC; unplugged or on a DC
    fast charger, vehicle_data's pilot reads 0.
    """
    if not reading.charge:
        return last
    charge = replace(last or ChargeData(), **reading.charge)
    if _PILOT_INPUTS.isdisjoint(reading.charge) or charge.charging_state is None:
        return charge
    unplugged = charge.charging_state == DISCONNECTED or charge.fast_charging
    pilot = 0 if unplugged else charge.charge_current_request_max
    return replace(charge, charger_pilot_current=pilot)


@dataclass(frozen=True, slots=True)
class TeslemetryAccount:
    """What Teslemetry's metadata tells: the stream's server, and which cars stream."""

    server: str = DEFAULT_SERVER
    streaming: frozenset[str] = frozenset()  # cars that stream (Teslemetry does not poll them)

    def streams(self, vin: str) -> bool:
        """Whether the car's data comes from the stream."""
        return vin in self.streaming


def account_of(metadata: Any) -> TeslemetryAccount:
    """Teslemetry's metadata, read. A car streams when the account has access to it and
    Teslemetry does not poll it (`polling: false`, as Home Assistant's teslemetry decides); a car
    the metadata does not describe so is polled, as before."""
    if not isinstance(metadata, dict):
        return TeslemetryAccount()
    region = metadata.get("region")
    region = region.lower() if isinstance(region, str) else ""
    server = f"{region}.teslemetry.com" if _REGION.match(region) else DEFAULT_SERVER
    vehicles = metadata.get("vehicles")
    vehicles = vehicles if isinstance(vehicles, dict) else {}
    streaming = frozenset(
        vin
        for vin, info in vehicles.items()
        if isinstance(info, dict) and info.get("access") is True and info.get("polling") is False
    )
    return TeslemetryAccount(server=server, streaming=streaming)


def probe_due(failed_connects: int, last_probe: float | None, now: float) -> bool:
    """Whether to ask the account (one free request) why the stream cannot connect."""
    if failed_connects < PROBE_AFTER:
        return False
    return last_probe is None or now - last_probe >= PROBE_GAP
