"""Helpers tests share: one platform set up with every entity, the scenarios each platform is
snapshotted in, a snapshot of a platform that fits both Home Assistant lanes, the ledger's counts,
and charge data built from a few fields for the tests of the pure modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import slugify
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import (
    ANY,
    EntityRegistryEntrySnapshot,
    StateSnapshot,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.tesla_wallbox import PLATFORMS
from custom_components.tesla_wallbox.const import DOMAIN
from custom_components.tesla_wallbox.vehicle_data import ChargeData
from fleet_sim import Simulator, VehicleConfig

from .conftest import advance
from .const import AWAY_UNPLUGGED, CHARGING_AT_HOME, PARKED_IDLE, PV_OPTIONS

# name -> (the car, minutes that pass after the setup)
SCENARIOS: dict[str, tuple[VehicleConfig, int]] = {
    "parked_at_home_plugged_in_idle": (PARKED_IDLE, 0),
    "charging_at_home": (CHARGING_AT_HOME, 10),
    "asleep_away": (AWAY_UNPLUGGED, 120),
}
# The entities that are disabled by default, per platform: the snapshots enable them.
DISABLED_BY_DEFAULT: dict[Platform, list[str]] = {Platform.SENSOR: ["charging_state"]}


def scenarios(*names: str) -> pytest.MarkDecorator:
    """Parametrize a test with scenarios (all of them without names): `scenario` is the name,
    `vehicle_configs` the simulator's car, `minutes` the time that passes after the setup, and
    `entry_options` options that give every entity a meaning (a PV location, a grid sensor)."""
    chosen = names or tuple(SCENARIOS)
    return pytest.mark.parametrize(
        ("scenario", "vehicle_configs", "minutes", "entry_options"),
        [(name, [SCENARIOS[name][0]], SCENARIOS[name][1], PV_OPTIONS) for name in chosen],
        ids=chosen,
    )


async def set_up_with_every_entity(
    hass: HomeAssistant, entry: MockConfigEntry, *platforms: Platform
) -> None:
    """Set up the entry with every entity enabled, the disabled-by-default ones too; with
    platforms named, only those are set up (snapshot_platform wants one)."""
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    for platform, keys in DISABLED_BY_DEFAULT.items():
        if platforms and platform not in platforms:
            continue
        for vin, name in entry.data["vehicles"].items():
            for key in keys:
                registry.async_get_or_create(
                    platform,
                    DOMAIN,
                    f"{vin}_{key}",
                    suggested_object_id=slugify(f"{name} {key.replace('_', ' ')}"),
                    config_entry=entry,
                )
    with patch("custom_components.tesla_wallbox.PLATFORMS", list(platforms or PLATFORMS)):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()


async def set_up_scenario(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    platform: Platform,
    freezer: FrozenDateTimeFactory,
    sim: Simulator,
    minutes: int,
) -> None:
    """One platform set up with every entity, then the scenario's minutes passing."""
    await set_up_with_every_entity(hass, entry, platform)
    await advance(hass, freezer, sim, minutes * 60)


# The registry entry's fields in the snapshots: those both Home Assistant lanes have, less what
# the harness's own serializer leaves out as well (categories, created_at, modified_at; 2026.10's
# compat_aliases and original_name_unprefixed) and `aliases` (see snapshot_platform).
REGISTRY_FIELDS = (
    "area_id",
    "capabilities",
    "config_entry_id",
    "config_subentry_id",
    "device_class",
    "device_id",
    "disabled_by",
    "domain",
    "entity_category",
    "entity_id",
    "has_entity_name",
    "hidden_by",
    "icon",
    "id",
    "labels",
    "name",
    "object_id_base",
    "options",
    "original_device_class",
    "original_icon",
    "original_name",
    "platform",
    "previous_unique_id",
    "suggested_object_id",
    "supported_features",
    "translation_key",
    "unique_id",
    "unit_of_measurement",
)
# Ids that change from run to run.
REGISTRY_IDS = ("config_entry_id", "config_subentry_id", "device_id", "id")


def _plain_keys(mapping: Any) -> Any:
    """A mapping with its keys as plain strings (a StrEnum key is the same text); anything else
    as it is."""
    if not isinstance(mapping, Mapping):
        return mapping
    return {str(key): _plain_keys(value) for key, value in mapping.items()}


def registry_entry_snapshot(entry: er.RegistryEntry) -> EntityRegistryEntrySnapshot:
    """The registry entry as both lanes show it (see snapshot_platform)."""
    fields = {name: getattr(entry, name) for name in REGISTRY_FIELDS}
    fields |= dict.fromkeys(REGISTRY_IDS, ANY)
    fields["capabilities"] = _plain_keys(entry.capabilities)
    fields["options"] = _plain_keys(entry.options)
    return EntityRegistryEntrySnapshot(fields)


def state_snapshot(state: State) -> StateSnapshot:
    """The state as both lanes show it (see snapshot_platform)."""
    return StateSnapshot(
        entity_id=state.entity_id,
        state=state.state,
        attributes=_plain_keys(dict(state.attributes)),
        context=ANY,
        last_changed=ANY,
        last_reported=ANY,
        last_updated=ANY,
    )


async def snapshot_platform(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    config_entry_id: str,
) -> None:
    """Each entity's registry entry and state, as the harness's snapshot_platform snapshots them
    (one platform loaded, every entity enabled, the same snapshot names), in a form that both Home
    Assistant lanes give alike.

    The harness's own serializer gives a different text on 2026.2 and on 2026.10 for the same
    entity: 2026.10 keys the state attributes it sets (friendly_name, device_class, state_class,
    options...) and a registry entry's capabilities with StrEnums, which print as
    `<EntityStateAttribute.FRIENDLY_NAME: 'friendly_name'>`, where 2026.2 has plain strings;
    and a registry entry's `aliases` (the user's voice aliases) are an empty set on 2026.2 but a
    list that starts with the computed name on 2026.10. Here the keys are plain strings (the same
    text in the state machine and in JSON), `aliases` is left out, and of the registry entry the
    fields both releases have are shown (REGISTRY_FIELDS), a field a later release adds is not.
    """
    entity_entries = er.async_entries_for_config_entry(entity_registry, config_entry_id)
    assert entity_entries
    assert len({item.domain for item in entity_entries}) == 1, "more than one platform loaded"
    for item in entity_entries:
        assert registry_entry_snapshot(item) == snapshot(name=f"{item.entity_id}-entry")
        assert item.disabled_by is None, f"{item.entity_id} is disabled: enable every entity"
        state = hass.states.get(item.entity_id)
        assert state is not None, f"no state of {item.entity_id}"
        assert state_snapshot(state) == snapshot(name=f"{item.entity_id}-state")


def billed(sim: Simulator, category: str, since: float | None = None) -> int:
    """Billable requests of a category, as the simulator's ledger counts them."""
    return sum(
        1
        for e in sim.ledger.entries
        if e.category == category and e.price > 0 and (since is None or e.time >= since)
    )


def ledger_cost(sim: Simulator, since: float | None = None) -> float:
    """What the simulator's ledger says the requests cost (since a moment, sim time)."""
    return sum(e.price for e in sim.ledger.entries if since is None or e.time >= since)


def charge(**fields: object) -> ChargeData:
    """Charge data as the car reports it, stopped at 50 % but for the fields given."""
    base: dict[str, object] = {"charging_state": "Stopped", "battery_level": 50}
    base.update(fields)
    return ChargeData.from_api(base)
