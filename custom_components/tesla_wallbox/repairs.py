"""Repair issues: a car that refuses our requests until the user pairs a key or uses a proxy, and
an account that must pay first.

Raised by whoever meets the refusal (the charge controller for commands, the coordinator while
polling, the stream when it cannot connect) and deleted after the next request that goes through.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import CONF_BACKEND, CONF_KEY_DOMAIN, DOMAIN, KEY_DOMAINS, PAIRING_URL, Backend

# Each issue's "learn more" link is its page on the documentation site (docs/repairs/).
DOCS_URL = "https://tesla-wallbox.github.io/tesla-wallbox/"
COMMAND_PROTOCOL_URL = f"{DOCS_URL}repairs/command_protocol_required/"
KEY_NOT_PAIRED_URL = f"{DOCS_URL}repairs/key_not_paired/"
KEY_NOT_PAIRED_NO_DOMAIN_URL = f"{DOCS_URL}repairs/key_not_paired_no_domain/"
SUBSCRIPTION_REQUIRED_URL = f"{DOCS_URL}repairs/subscription_required/"
PLAN_INPUTS_URL = f"{DOCS_URL}repairs/plan_inputs/"


@callback
def _raise(
    hass: HomeAssistant,
    issue_id: str,
    translation_key: str,
    learn_more_url: str,
    placeholders: dict[str, str],
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.ERROR,
) -> None:
    """Raise one of our issues: an error the user must fix, gone by itself once it is fixed."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=False,
        learn_more_url=learn_more_url,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


def command_protocol_issue_id(entry: ConfigEntry) -> str:
    """The id of an entry's "signed commands required / virtual key not paired" issue."""
    return f"command_protocol_{entry.entry_id}"


@callback
def async_raise_command_protocol_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The car wants signed commands or does not know our key: tell the user how to fix it."""
    _raise(
        hass,
        command_protocol_issue_id(entry),
        "command_protocol_required",
        COMMAND_PROTOCOL_URL,
        {"title": entry.title},
    )


@callback
def async_delete_command_protocol_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A request went through: the issue, if raised, is solved."""
    ir.async_delete_issue(hass, DOMAIN, command_protocol_issue_id(entry))


def pairing_url(entry: ConfigEntry) -> str | None:
    """The link that adds the signing key to a car in the Tesla app: the domain of the key's
    owner (Teslemetry's, Tessie's, or the user's own developer app); None when not known."""
    backend = Backend(entry.data[CONF_BACKEND])
    domain = KEY_DOMAINS.get(backend) or entry.data.get(CONF_KEY_DOMAIN)
    return PAIRING_URL.format(domain=domain) if domain else None


def key_not_paired_issue_id(entry: ConfigEntry) -> str:
    """The id of an entry's "the car does not know our key" issue."""
    return f"key_not_paired_{entry.entry_id}"


@callback
def async_raise_key_not_paired_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The car refused a signed command: its key is not paired. Say exactly where to pair it."""
    url = pairing_url(entry)
    _raise(
        hass,
        key_not_paired_issue_id(entry),
        "key_not_paired" if url else "key_not_paired_no_domain",
        KEY_NOT_PAIRED_URL if url else KEY_NOT_PAIRED_NO_DOMAIN_URL,
        {"title": entry.title, "url": url or ""},
    )


@callback
def async_delete_key_not_paired_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A signed command went through: the key is paired now."""
    ir.async_delete_issue(hass, DOMAIN, key_not_paired_issue_id(entry))


def subscription_issue_id(entry: ConfigEntry) -> str:
    """The id of an entry's "the Tesla API wants payment first" issue."""
    return f"subscription_required_{entry.entry_id}"


@callback
def async_raise_subscription_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A 402 while polling or on a command, or a stream that cannot connect for want of a
    subscription."""
    _raise(
        hass,
        subscription_issue_id(entry),
        "subscription_required",
        SUBSCRIPTION_REQUIRED_URL,
        {"title": entry.title},
    )


@callback
def async_delete_subscription_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A data read went through, or the stream connected: the account is paid for."""
    ir.async_delete_issue(hass, DOMAIN, subscription_issue_id(entry))


def plan_inputs_issue_id(entry: ConfigEntry, vin: str) -> str:
    """The id of a car's "the departure plan has no usable prices" issue."""
    return f"plan_inputs_{entry.entry_id}_{vin}"


@callback
def async_raise_plan_inputs_issue(
    hass: HomeAssistant, entry: ConfigEntry, vin: str, problem: str
) -> None:
    """Plan mode without usable prices (or battery level): the car charges now to the target."""
    _raise(
        hass,
        plan_inputs_issue_id(entry, vin),
        "plan_inputs",
        PLAN_INPUTS_URL,
        {"title": entry.title, "problem": problem},
        severity=ir.IssueSeverity.WARNING,
    )


@callback
def async_delete_plan_inputs_issue(hass: HomeAssistant, entry: ConfigEntry, vin: str) -> None:
    """The plan's inputs are back (or the car left plan mode)."""
    ir.async_delete_issue(hass, DOMAIN, plan_inputs_issue_id(entry, vin))
