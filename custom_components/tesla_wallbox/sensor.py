"""Sensors: the wallbox status, the charging figures, and what the integration did and cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .charge_point import CHARGE_POINT_OPTIONS, charge_point_state
from .commands import CommandState
from .const import CONF_GRID_SENSOR
from .entity import WallboxEntity, WallboxEntityDescription, add_car_entities
from .models import Car, WallboxConfigEntry
from .plan import PlanStatus
from .surplus import PvState
from .vehicle_data import CHARGING_STATES, ChargeData
from .wallbox import STATUS_OPTIONS

PARALLEL_UPDATES = 0


def _charge(car: Car) -> ChargeData:
    charge = car.coordinator.data.charge
    return charge if charge is not None else ChargeData()


def _raw_state(car: Car) -> str | None:
    state = _charge(car).charging_state
    return _snake(state) if state in CHARGING_STATES else None


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _last_command(car: Car) -> str | None:
    record = car.controller.last_command
    return record.state.value if record else None


def _last_command_attrs(car: Car) -> dict[str, Any]:
    record = car.controller.last_command
    if record is None:
        return {}
    return {
        "command": record.name,
        "value": record.value,
        "reason": record.reason,
        "source": record.source,
        "time": dt_util.utc_from_timestamp(record.time).isoformat(),
    }


def _cost_attrs(car: Car) -> dict[str, Any]:
    calls = car.coordinator.client.calls
    return dict(calls.counts) if calls.day == dt_util.now().date() else {}


def _pv_attrs(car: Car) -> dict[str, Any]:
    decision = car.surplus.decision
    if decision is None:
        return {}
    return {
        "reason": decision.reason_text,
        "reason_code": decision.reason.value,
        "target_amps": decision.target_amps,
        "car_power": round(decision.car_power_w),
        "charge_mode": car.surplus.mode.value,
    }


def _plan_state(car: Car) -> str | None:
    plan = car.plan.plan
    return plan.status.value if plan else None


def _iso_time(moment: datetime | None) -> str | None:
    return dt_util.as_local(moment).isoformat() if moment is not None else None


def _plan_attrs(car: Car) -> dict[str, Any]:
    plan = car.plan.plan
    if plan is None:
        return {}
    return {
        "departure": _iso_time(plan.departure),
        "target_soc": car.plan.settings.target_soc,
        "energy_needed": round(plan.needed_kwh, 2),
        "expected_cost": round(plan.expected_cost, 3),
        "finish": _iso_time(plan.finish),
        "reachable": plan.reachable,
        "slots": [
            {
                "start": _iso_time(slot.start),
                "end": _iso_time(slot.end),
                "grid": slot.grid,
                "energy": round(slot.energy_kwh, 2),
                "price": slot.price,
            }
            for slot in plan.slots
        ],
        "problem": car.plan.problem,
        "pv_forecast_problem": car.plan.solar_problem,
    }


def _has_grid_sensor(entry: WallboxConfigEntry) -> bool:
    return bool(entry.options.get(CONF_GRID_SENSOR))


@dataclass(frozen=True, kw_only=True)
class WallboxSensorDescription(SensorEntityDescription, WallboxEntityDescription):
    """A sensor and how to read it from the car."""

    value_fn: Callable[[Car], StateType]
    attr_fn: Callable[[Car], dict[str, Any]] | None = None
    last_reset_fn: Callable[[Car], datetime] | None = None


SENSORS: tuple[WallboxSensorDescription, ...] = (
    WallboxSensorDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=STATUS_OPTIONS,
        value_fn=lambda car: car.coordinator.data.status.key,
        attr_fn=lambda car: {"code": int(car.coordinator.data.status)},
    ),
    WallboxSensorDescription(
        # The wallbox status in the three words of evcc's Home Assistant charger (A, B, C).
        key="charge_point_state",
        translation_key="charge_point_state",
        device_class=SensorDeviceClass.ENUM,
        options=CHARGE_POINT_OPTIONS,
        value_fn=lambda car: (
            charge_point_state(
                car.coordinator.data, zone_configured=car.coordinator.pv_zone is not None
            ).value
        ),
    ),
    WallboxSensorDescription(
        key="battery_level",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda car: _charge(car).battery_level,
    ),
    WallboxSensorDescription(
        key="charging_power",
        translation_key="charging_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda car: _charge(car).power,
    ),
    WallboxSensorDescription(
        key="phases",
        translation_key="phases",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda car: _charge(car).phases,
    ),
    WallboxSensorDescription(
        key="voltage",
        translation_key="voltage",
        suggested_display_precision=0,
        device_class=SensorDeviceClass.VOLTAGE,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda car: _charge(car).charger_voltage,
    ),
    WallboxSensorDescription(
        key="actual_current",
        translation_key="actual_current",
        suggested_display_precision=0,
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda car: _charge(car).charger_actual_current,
    ),
    WallboxSensorDescription(
        key="available_current",
        translation_key="available_current",
        suggested_display_precision=0,
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda car: _charge(car).charger_pilot_current,
    ),
    WallboxSensorDescription(
        key="energy_added",
        translation_key="energy_added",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value_fn=lambda car: _charge(car).charge_energy_added,
    ),
    WallboxSensorDescription(
        key="energy_total",
        translation_key="energy_total",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        needs_car_data=False,
        value_fn=lambda car: round(car.energy.total_wh / 1000, 3),
    ),
    WallboxSensorDescription(
        key="charging_state",
        translation_key="charging_state",
        device_class=SensorDeviceClass.ENUM,
        options=[_snake(state) for state in CHARGING_STATES],
        entity_registry_enabled_default=False,
        value_fn=_raw_state,
    ),
    WallboxSensorDescription(
        key="pv_surplus",
        translation_key="pv_surplus",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        needs_car_data=False,
        follows_pv=True,
        has_fn=_has_grid_sensor,
        value_fn=lambda car: car.surplus.decision.surplus_w if car.surplus.decision else None,
    ),
    WallboxSensorDescription(
        key="pv_state",
        translation_key="pv_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in PvState],
        needs_car_data=False,
        follows_pv=True,
        value_fn=lambda car: car.surplus.state.value,
        attr_fn=_pv_attrs,
    ),
    WallboxSensorDescription(
        key="charge_plan",
        translation_key="charge_plan",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in PlanStatus],
        needs_car_data=False,
        follows_pv=True,
        value_fn=_plan_state,
        attr_fn=_plan_attrs,
    ),
    WallboxSensorDescription(
        key="last_command",
        translation_key="last_command",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in CommandState],
        entity_category=EntityCategory.DIAGNOSTIC,
        needs_car_data=False,
        value_fn=_last_command,
        attr_fn=_last_command_attrs,
    ),
    WallboxSensorDescription(
        key="api_cost_today",
        translation_key="api_cost_today",
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement="USD",
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=3,
        entity_category=EntityCategory.DIAGNOSTIC,
        needs_car_data=False,
        value_fn=lambda car: round(car.coordinator.client.calls.cost(dt_util.now().date()), 4),
        attr_fn=_cost_attrs,
        # The cost starts again at midnight: without last_reset, statistics would see a refund.
        last_reset_fn=lambda car: dt_util.start_of_local_day(),
    ),
    WallboxSensorDescription(
        key="car_number",
        translation_key="car_number",
        entity_category=EntityCategory.DIAGNOSTIC,
        needs_car_data=False,
        value_fn=lambda car: car.number,
        attr_fn=lambda car: {"http_api": f"/tlwb/{car.number}"},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every car."""
    add_car_entities(entry, async_add_entities, WallboxSensor, SENSORS)


class WallboxSensor(WallboxEntity, SensorEntity):
    """A sensor of one car."""

    entity_description: WallboxSensorDescription

    @property
    def available(self) -> bool:
        """The status shows not_ready (unknown) before the first read, unless stale."""
        if self.entity_description.key == "status":
            return self.coordinator.last_update_success and not self.coordinator.stale
        return super().available

    @property
    def native_value(self) -> StateType:
        """The sensor's value."""
        return self.entity_description.value_fn(self.car)

    @property
    def last_reset(self) -> datetime | None:
        """When a total that starts again (the cost of the day) last started."""
        if self.entity_description.last_reset_fn is None:
            return None
        return self.entity_description.last_reset_fn(self.car)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra attributes, where the description has them."""
        if self.entity_description.attr_fn is None:
            return None
        return self.entity_description.attr_fn(self.car)
