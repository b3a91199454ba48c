"""What a simulated car streams: its Fleet Telemetry signals and Teslemetry's event envelopes.

Pure functions of the car model. Signal names are those of teslamotors/fleet-telemetry's
protos/vehicle_data.proto; values are typed as Teslemetry streams them (numbers, booleans, enum
names with their prefix, ``{"latitude", "longitude"}``, null for Tesla's "invalid"), which is what
teslemetry-stream's ``listen_*`` methods decode. fleet_sim/README.md ("Teslemetry stream") lists
the sources and the few values that are the simulator's own choice.
"""

from __future__ import annotations

from datetime import UTC, datetime
import math
from typing import TYPE_CHECKING, Any, Final

from .sections import FIRMWARE

if TYPE_CHECKING:
    from .vehicle import SimVehicle

# The signals a car sends once its Fleet Telemetry is configured, in the order they are built.
SIGNALS: Final = (
    "DetailedChargeState",
    "ChargeState",
    "BatteryLevel",
    "Soc",
    "ChargeLimitSoc",
    "ChargeAmps",
    "ChargeCurrentRequest",
    "ChargeCurrentRequestMax",
    "ChargeEnableRequest",
    "ChargerVoltage",
    "ChargerPhases",
    "ACChargingPower",
    "ACChargingEnergyIn",
    "DCChargingPower",
    "DCChargingEnergyIn",
    "ChargePortDoorOpen",
    "ChargePortLatch",
    "ChargingCableType",
    "FastChargerPresent",
    "FastChargerType",
    "TimeToFullCharge",
    "EnergyRemaining",
    "EstBatteryRange",
    "Location",
    "GpsHeading",
    "VehicleSpeed",
    "Gear",
    "Odometer",
    "Version",
)
# Teslemetry's event kinds, by the key that marks them, as its `topics` parameter names them.
TOPICS: Final = (
    "state",
    "data",
    "alerts",
    "errors",
    "connectivity",
    "vehicle_data",
    "config",
    "credits",
)
_TOPIC_KEYS: Final = {"networkInterface": "connectivity"}
# The simulator's own mapping for the deprecated ChargeState (no public source gives one).
_CHARGE_STATES: Final = {"Starting": "Startup", "Charging": "Enable"}
_EPSILON: Final = 1e-6


def created_at(epoch: float) -> str:
    """A `createdAt` as Teslemetry writes it: UTC, nanosecond digits, Z (the last three are 0)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _truncated(value: float, digits: int) -> float:
    """``value`` cut (not rounded) to ``digits`` decimals: 79.996 stays below 80."""
    scale = 10.0**digits
    return math.floor(value * scale + _EPSILON) / scale


def _invalid_or(prefix: str, value: Any) -> str | None:
    """Tesla's enum name for a vehicle_data text; None where vehicle_data says "<invalid>"."""
    if not isinstance(value, str) or value in ("", "<invalid>"):
        return None
    return prefix + value


def signals(car: SimVehicle) -> dict[str, Any]:
    """Every signal's value now (the car brought up to the clock first, as any read does)."""
    charge = car.charge_state()
    state = charge["charging_state"]
    fast = car.fast_charger is not None
    charging = state == "Charging"
    power_kw = car.charge_power_w / 1000
    energy = round(car.energy_added_kwh, 3)
    plugged = car.plugged_in
    voltage = (
        float(car.fast_charger.voltage if car.fast_charger is not None else car.supply_voltage)
        if charging
        else float(charge["charger_voltage"])
    )
    values: dict[str, Any] = {
        "DetailedChargeState": "DetailedChargeState" + state,
        "ChargeState": _CHARGE_STATES.get(state, "Idle"),
        "BatteryLevel": _truncated(car.battery_level, 2),
        "Soc": _truncated(car.battery_level, 2),
        "ChargeLimitSoc": charge["charge_limit_soc"],
        "ChargeAmps": float(charge["charger_actual_current"]),
        "ChargeCurrentRequest": charge["charge_current_request"],
        "ChargeCurrentRequestMax": charge["charge_current_request_max"],
        "ChargeEnableRequest": charge["charge_enable_request"],
        "ChargerVoltage": voltage,
        "ChargerPhases": charge["charger_phases"],
        "ACChargingPower": 0.0 if fast else round(power_kw, 3),
        "ACChargingEnergyIn": 0.0 if fast else energy,
        "DCChargingPower": round(power_kw, 3) if fast else 0.0,
        "DCChargingEnergyIn": energy if fast else 0.0,
        "ChargePortDoorOpen": charge["charge_port_door_open"],
        "ChargePortLatch": "ChargePortLatch" + charge["charge_port_latch"],
        "ChargingCableType": "CableTypeIEC" if plugged else None,
        "FastChargerPresent": charge["fast_charger_present"],
        "FastChargerType": _invalid_or("FastCharger", charge["fast_charger_type"]),
        "TimeToFullCharge": charge["time_to_full_charge"],
        "EnergyRemaining": charge["energy_remaining"],
        "EstBatteryRange": round(charge["est_battery_range"], 1),
        "GpsHeading": 90.0,
        "VehicleSpeed": 0.0,
        "Gear": "ShiftStateP",
        "Odometer": 12345.6,
        "Version": f"{FIRMWARE} 0a1b2c3d4e5f",
    }
    if car.location_scope:
        # Like vehicle_data's drive_state, the position needs the vehicle_location scope.
        values["Location"] = {"latitude": car.latitude, "longitude": car.longitude}
    return {name: values[name] for name in SIGNALS if name in values}


def topic_of(event: dict[str, Any]) -> str | None:
    """The topic an event belongs to (the key that marks its kind), None for none we know."""
    for key in event:
        topic = _TOPIC_KEYS.get(key, key)
        if topic in TOPICS:
            return topic
    return None


def envelope(vin: str, time: float, body: dict[str, Any], *, cache: bool = False) -> dict[str, Any]:
    """A vehicle event: vin, createdAt, the body's keys, and `isCache` only when true."""
    event: dict[str, Any] = {"vin": vin, "createdAt": created_at(time), **body}
    if cache:
        event["isCache"] = True
    return event


def state_body(state: str) -> dict[str, Any]:
    """A `state` event's body: online, asleep or offline."""
    return {"state": state}


def connectivity_body(online: bool, network_interface: str = "wifi") -> dict[str, Any]:
    """A `connectivity` event's body, in teslemetry-stream's words (wifi, CONNECTED)."""
    return {
        "networkInterface": network_interface,
        "status": "CONNECTED" if online else "DISCONNECTED",
    }
