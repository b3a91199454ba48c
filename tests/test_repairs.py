"""repairs.py: the "signed commands required / virtual key not paired" issue, raised and deleted."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_wallbox.const import DOMAIN
from custom_components.tesla_wallbox.repairs import (
    COMMAND_PROTOCOL_URL,
    KEY_NOT_PAIRED_NO_DOMAIN_URL,
    KEY_NOT_PAIRED_URL,
    async_delete_command_protocol_issue,
    async_delete_key_not_paired_issue,
    async_raise_command_protocol_issue,
    async_raise_key_not_paired_issue,
    command_protocol_issue_id,
    key_not_paired_issue_id,
    pairing_url,
)

REPO = Path(__file__).resolve().parent.parent


async def test_raise_and_delete(hass: HomeAssistant) -> None:
    """What the coordinator calls for a 403 while polling, and the controller for a command."""
    entry = MockConfigEntry(domain=DOMAIN, title="My Tesla account")
    entry.add_to_hass(hass)
    other = MockConfigEntry(domain=DOMAIN, title="Another account")
    other.add_to_hass(hass)
    registry = ir.async_get(hass)
    assert command_protocol_issue_id(entry) == f"command_protocol_{entry.entry_id}"

    async_raise_command_protocol_issue(hass, entry)
    async_raise_command_protocol_issue(hass, entry)  # raised again: still one issue
    async_raise_command_protocol_issue(hass, other)
    issue = registry.async_get_issue(DOMAIN, command_protocol_issue_id(entry))
    assert issue is not None
    assert issue.translation_key == "command_protocol_required"
    assert issue.translation_placeholders == {"title": "My Tesla account"}
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.learn_more_url == COMMAND_PROTOCOL_URL
    assert not issue.is_fixable
    assert len([i for (domain, _), i in registry.issues.items() if domain == DOMAIN]) == 2

    async_delete_command_protocol_issue(hass, entry)
    assert registry.async_get_issue(DOMAIN, command_protocol_issue_id(entry)) is None
    # Each entry has its own issue; deleting one leaves the other.
    assert registry.async_get_issue(DOMAIN, command_protocol_issue_id(other)) is not None
    async_delete_command_protocol_issue(hass, entry)  # nothing to delete: no error


@pytest.mark.parametrize(
    ("data", "url"),
    [
        ({"backend": "teslemetry"}, "https://tesla.com/_ak/teslemetry.com"),
        ({"backend": "tessie"}, "https://tesla.com/_ak/tessie.com"),
        ({"backend": "fleet", "key_domain": "example.com"}, "https://tesla.com/_ak/example.com"),
        ({"backend": "fleet"}, None),
        ({"backend": "custom"}, None),
    ],
)
async def test_the_pairing_link_names_whose_key_the_car_needs(
    hass: HomeAssistant, data: dict[str, str], url: str | None
) -> None:
    """Teslemetry and Tessie sign with their own key; a Fleet app with the user's."""
    entry = MockConfigEntry(domain=DOMAIN, title="Cars", data=data)
    entry.add_to_hass(hass)
    assert pairing_url(entry) == url
    async_raise_key_not_paired_issue(hass, entry)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, key_not_paired_issue_id(entry))
    assert issue is not None
    assert issue.translation_key == ("key_not_paired" if url else "key_not_paired_no_domain")
    assert issue.translation_placeholders == {"title": "Cars", "url": url or ""}
    assert issue.learn_more_url == (KEY_NOT_PAIRED_URL if url else KEY_NOT_PAIRED_NO_DOMAIN_URL)
    async_delete_key_not_paired_issue(hass, entry)
    assert ir.async_get(hass).async_get_issue(DOMAIN, key_not_paired_issue_id(entry)) is None


@pytest.mark.parametrize(
    ("url", "translation_key"),
    [
        (COMMAND_PROTOCOL_URL, "command_protocol_required"),
        (KEY_NOT_PAIRED_URL, "key_not_paired"),
        (KEY_NOT_PAIRED_NO_DOMAIN_URL, "key_not_paired_no_domain"),
    ],
)
def test_each_issue_learns_more_on_its_own_page(url: str, translation_key: str) -> None:
    """The "learn more" link is the issue's page on the documentation site, and that page exists."""
    manifest = json.loads(
        (REPO / "custom_components/tesla_wallbox/manifest.json").read_text(encoding="utf-8")
    )
    site = manifest["documentation"]
    assert url == f"{site}repairs/{translation_key}/"
    translations = json.loads(
        (REPO / "custom_components/tesla_wallbox/translations/en.json").read_text(encoding="utf-8")
    )
    assert translation_key in translations["issues"]
    page = REPO / "docs" / "repairs" / f"{translation_key}.md"
    assert page.is_file(), f"{url} has no page: {page} is missing"
    assert f"(`{translation_key}`)" in page.read_text(encoding="utf-8")


def test_every_issue_has_a_page_in_the_site() -> None:
    """A new repair issue needs its page (and a place in the site's navigation)."""
    translations = json.loads(
        (REPO / "custom_components/tesla_wallbox/translations/en.json").read_text(encoding="utf-8")
    )
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for key in translations["issues"]:
        assert (REPO / "docs" / "repairs" / f"{key}.md").is_file(), key
        assert f"repairs/{key}.md" in nav, key
