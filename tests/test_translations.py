"""Translations: English and German say the same things, and every key the code uses exists."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

PACKAGE = Path(__file__).parent.parent / "custom_components" / "tesla_wallbox"


def _load(language: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((PACKAGE / "translations" / f"{language}.json").read_text())
    return result


def _paths(tree: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        paths |= _paths(value, path) if isinstance(value, dict) else {path}
    return paths


def _placeholders(tree: dict[str, Any]) -> dict[str, set[str]]:
    return {path: set(re.findall(r"\{(\w+)\}", _get(tree, path))) for path in _paths(tree)}


def _get(tree: dict[str, Any], path: str) -> str:
    node: Any = tree
    for part in path.split("."):
        node = node[part]
    return str(node)


def test_german_matches_english() -> None:
    english, german = _load("en"), _load("de")
    assert _paths(english) == _paths(german)
    assert _placeholders(english) == _placeholders(german)


def test_no_references_in_custom_integration_translations() -> None:
    # Custom integrations get no [%key:...%] resolution: every text is written out.
    assert "[%key:" not in (PACKAGE / "translations" / "en.json").read_text()


@pytest.mark.parametrize("kind", ["exceptions", "entity"])
def test_every_used_key_is_translated(kind: str) -> None:
    english = _load("en")
    source = "\n".join(path.read_text() for path in PACKAGE.rglob("*.py"))
    if kind == "exceptions":
        used = set(re.findall(r'translation_key="(\w+)"', source))
        used |= set(re.findall(r'_error\("(\w+)"', source))
        used |= set(re.findall(r'\n    key = "(\w+)"', source))
        entity_keys = {key for platform in english["entity"].values() for key in platform}
        missing = {
            key for key in used if key not in english["exceptions"] and key not in entity_keys
        }
        # Entity translation keys share the translation_key= spelling; the rest must be exceptions.
        assert missing <= {"backend"}, missing
    else:
        for platform, entities in english["entity"].items():
            module = (PACKAGE / f"{platform}.py").read_text()
            for key in entities:
                assert f'"{key}"' in module, f"{platform}.{key} is translated but not used"


def test_icons_cover_translated_entities() -> None:
    icons = json.loads((PACKAGE / "icons.json").read_text())["entity"]
    english = _load("en")["entity"]
    for platform, entities in icons.items():
        assert set(entities) <= set(english[platform])
