"""The demo dashboard: each car as a wallbox, and the simulated household's power.

Built from the entities that exist when the demo starts (found in the entity registry by their
unique ids, `{vin}_{key}`), so a card appears only for an entity the integration has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

DOMAIN: Final = "tesla_wallbox"
URL_PATH: Final = "tesla-wallbox"
TITLE: Final = "Tesla Wallbox"
ICON: Final = "mdi:ev-station"

# The demo household's sensors (configuration.yaml's rest sensors), by unique id.
HOUSEHOLD_SENSORS: Final = {
    "solar": "tlwb_demo_solar_power",
    "house": "tlwb_demo_house_load",
    "grid": "tlwb_demo_grid_power",
    "cars": "tlwb_demo_car_power",
    "clock": "tlwb_demo_time_of_day",
}


@dataclass(slots=True)
class CarEntities:
    """One car (a device of the integration) and its entity ids by entity key."""

    name: str
    vin: str
    device_id: str
    entities: dict[str, str] = field(default_factory=dict)


def cars_from_registry(
    entities: list[dict[str, Any]], devices: list[dict[str, Any]]
) -> list[CarEntities]:
    """Group the integration's enabled entities by car, in the order of the device registry."""
    cars: dict[str, CarEntities] = {}
    for device in devices:
        vin = next((ident for domain, ident in device["identifiers"] if domain == DOMAIN), None)
        if vin is not None:
            name = device.get("name_by_user") or device.get("name") or vin
            cars[device["id"]] = CarEntities(name=name, vin=vin, device_id=device["id"])
    for entity in entities:
        car = cars.get(entity.get("device_id") or "")
        if entity["platform"] != DOMAIN or car is None or entity.get("disabled_by"):
            continue
        prefix = f"{car.vin}_"
        if entity["unique_id"].startswith(prefix):
            car.entities[entity["unique_id"].removeprefix(prefix)] = entity["entity_id"]
    return [car for car in cars.values() if car.entities]


def household_from_registry(entities: list[dict[str, Any]]) -> dict[str, str]:
    """The household sensors' entity ids by role (solar, house, grid, cars, clock)."""
    by_unique_id = {e["unique_id"]: e["entity_id"] for e in entities if e["platform"] == "rest"}
    return {
        role: by_unique_id[unique_id]
        for role, unique_id in HOUSEHOLD_SENSORS.items()
        if unique_id in by_unique_id
    }


def _tile(entity: str, name: str, columns: int = 6, **options: Any) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "tile", "entity": entity, "name": name, **options}
    card["grid_options"] = {"columns": columns}
    return card


def car_section(car: CarEntities) -> dict[str, Any]:
    """A car as a wallbox: status first, then the controls, then the PV surplus controller."""
    e = car.entities
    badges = [
        {"type": "entity", "entity": e[key], "show_state": False, "show_icon": True}
        for key in ("plugged_in", "at_pv_location")
        if key in e
    ]
    cards: list[dict[str, Any]] = [
        {"type": "heading", "heading": car.name, "icon": "mdi:car-electric", "badges": badges}
    ]
    wanted: list[tuple[str, dict[str, Any]]] = [
        ("status", _tile(e.get("status", ""), "Status", 12, vertical=False)),
        (
            "charging_power",
            _tile(
                e.get("charging_power", ""),
                "Power",
                features=[{"type": "trend-graph", "hours_to_show": 1}],
            ),
        ),
        (
            "battery_level",
            _tile(
                e.get("battery_level", ""),
                "Battery",
                features=[{"type": "bar-gauge", "min": 0, "max": 100}],
            ),
        ),
        ("charging", _tile(e.get("charging", ""), "Charging", features=[{"type": "toggle"}])),
        (
            "charge_mode",
            _tile(e.get("charge_mode", ""), "Mode", features=[{"type": "select-options"}]),
        ),
        (
            "charge_current",
            _tile(
                e.get("charge_current", ""),
                "Charging current",
                12,
                features=[{"type": "numeric-input", "style": "slider"}],
            ),
        ),
        (
            "charge_limit",
            _tile(
                e.get("charge_limit", ""),
                "Target SoC",
                12,
                features=[{"type": "numeric-input", "style": "slider"}],
            ),
        ),
        ("pv_surplus", _tile(e.get("pv_surplus", ""), "PV surplus")),
        (
            "pv_state",
            _tile(e.get("pv_state", ""), "PV charging"),
        ),
        (
            "last_command",
            _tile(
                e.get("last_command", ""),
                "Last command",
                12,
                state_content=["command", "value", "state", "last_changed"],
            ),
        ),
    ]
    cards += [card for key, card in wanted if key in e]
    return {"type": "grid", "cards": cards}


def household_section(household: dict[str, str]) -> dict[str, Any] | None:
    """The simulated house: PV, load, grid meter and a graph of the last 15 minutes."""
    if "grid" not in household:
        return None
    names = {
        "solar": "Solar power",
        "house": "House load",
        "grid": "Grid",
        "cars": "Car power",
        "clock": "Sim time",
    }
    cards: list[dict[str, Any]] = [
        {"type": "heading", "heading": "Home (simulated)", "icon": "mdi:home-lightning-bolt"}
    ]
    cards += [_tile(household[role], names[role]) for role in names if role in household]
    graphed = [
        {"entity": household[role], "name": names[role]}
        for role in ("solar", "grid", "cars")
        if role in household
    ]
    cards.append(
        {
            "type": "history-graph",
            "title": "Last 15 minutes",
            "hours_to_show": 0.25,
            "entities": graphed,
            "grid_options": {"columns": 12},
        }
    )
    return {"type": "grid", "cards": cards}


def build_dashboard(cars: list[CarEntities], household: dict[str, str]) -> dict[str, Any]:
    """The dashboard's Lovelace configuration (one sections view)."""
    sections = [car_section(car) for car in cars]
    home = household_section(household)
    if home is not None:
        sections.append(home)
    return {
        "title": TITLE,
        "views": [
            {
                "title": "Wallbox",
                "path": "wallbox",
                "icon": ICON,
                "type": "sections",
                "max_columns": 3,
                "sections": sections,
            }
        ],
    }
