"""Repair issues: a car that refuses our requests until the user pairs a key or uses a proxy.

Raised by whoever meets the refusal (the charge controller for commands, the coordinator while
polling) and deleted after the next request that goes through.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

COMMAND_PROTOCOL_URL = "https://developer.tesla.com/docs/fleet-api/endpoints/vehicle-commands"


def command_protocol_issue_id(entry: ConfigEntry) -> str:
    """The id of an entry's "signed commands required / virtual key not paired" issue."""
    return f"command_protocol_{entry.entry_id}"


@callback
def async_raise_command_protocol_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The car wants signed commands or does not know our key: tell the user how to fix it."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        command_protocol_issue_id(entry),
        is_fixable=False,
        is_persistent=False,
        learn_more_url=COMMAND_PROTOCOL_URL,
        severity=ir.IssueSeverity.ERROR,
        translation_key="command_protocol_required",
        translation_placeholders={"title": entry.title},
    )


@callback
def async_delete_command_protocol_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A request went through: the issue, if raised, is solved."""
    ir.async_delete_issue(hass, DOMAIN, command_protocol_issue_id(entry))
