"""What the packaging promises agrees with what the test lanes run.

Each lane runs this file on its own Home Assistant: the README's table of supported releases must
name it, the oldest lane's release must be the minimum hacs.json requires, and the lane files must
pin the harness that installs it. The project has one version number, and its documentation lives
on the site the manifest names, with the README as its short front door.
"""

from __future__ import annotations

from importlib.metadata import version
import json
from pathlib import Path
import re
import sys
import tomllib

from awesomeversion import AwesomeVersion

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "custom_components" / "tesla_wallbox" / "manifest.json"
# HACS shows the whole README: it stays a front door, and the details live on the site.
README_MAX_BYTES = 12 * 1024
LANE_ROW = re.compile(
    r"^\| (?P<lane>oldest supported|newest tested) \| (?P<ha>\d{4}\.\d+\.\d+) "
    r"\| (?P<python>3\.\d+) \| `(?P<command>scripts/test(?:-latest)?)` \|$",
    re.MULTILINE,
)


def readme_lanes() -> dict[str, dict[str, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return {match["lane"]: match.groupdict() for match in LANE_ROW.finditer(text)}


def pinned_harness(requirements: str) -> str:
    text = (REPO / requirements).read_text(encoding="utf-8")
    match = re.search(r"^pytest-homeassistant-custom-component==(\S+)$", text, re.MULTILINE)
    assert match, f"{requirements} pins no pytest-homeassistant-custom-component"
    return match[1]


def test_this_lane_is_in_the_readme_and_pinned() -> None:
    lanes = readme_lanes()
    assert set(lanes) == {"oldest supported", "newest tested"}
    running = version("homeassistant")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    lane = next((lane for lane in lanes.values() if lane["ha"] == running), None)
    assert lane is not None, f"Home Assistant {running} is not in the README's table: {lanes}"
    assert lane["python"] == python
    requirements = (
        "requirements_latest.txt" if lane["lane"] == "newest tested" else "requirements_test.txt"
    )
    assert pinned_harness(requirements) == version("pytest-homeassistant-custom-component")


def test_the_oldest_lane_is_the_minimum_hacs_requires() -> None:
    lanes = readme_lanes()
    oldest, newest = (
        AwesomeVersion(lanes["oldest supported"]["ha"]),
        AwesomeVersion(lanes["newest tested"]["ha"]),
    )
    assert oldest < newest
    required = json.loads((REPO / "hacs.json").read_text(encoding="utf-8"))["homeassistant"]
    # hacs.json names the first release of the oldest supported month (2026.2.0 for 2026.2.3).
    assert AwesomeVersion(required) == AwesomeVersion(f"{oldest.major}.{oldest.minor}.0")
    assert f"Home Assistant **{oldest.major}.{oldest.minor} or newer** is required" in (
        REPO / "README.md"
    ).read_text(encoding="utf-8")


def test_one_version_number() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert manifest["version"] == project["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"]), manifest["version"]


def test_the_documentation_is_the_site_and_the_readme_its_front_door() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    site = re.search(
        r"^site_url: (\S+)$", (REPO / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert site, "mkdocs.yml has no site_url"
    assert manifest["documentation"] == site[1]
    readme = (REPO / "README.md").read_bytes()
    assert len(readme) <= README_MAX_BYTES, f"README.md has {len(readme)} bytes"
    assert manifest["documentation"].encode() in readme


def test_pre_commit_runs_the_pinned_ruff() -> None:
    tools = (REPO / "requirements_tools.txt").read_text(encoding="utf-8")
    pinned = re.search(r"^ruff==(\S+)$", tools, re.MULTILINE)
    assert pinned, "requirements_tools.txt pins no ruff"
    config = (REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    hook = re.search(r"astral-sh/ruff-pre-commit\n\s+rev: v(\S+)$", config, re.MULTILINE)
    assert hook, ".pre-commit-config.yaml runs no ruff"
    assert hook[1] == pinned[1]
