"""What the packaging promises agrees with what the test lanes run.

Each lane runs this file on its own Home Assistant: the README's table of supported releases must
name it, the oldest lane's release must be the minimum hacs.json requires, and the lane files must
pin the harness that installs it.
"""

from __future__ import annotations

from importlib.metadata import version
import json
from pathlib import Path
import re
import sys

from awesomeversion import AwesomeVersion

REPO = Path(__file__).resolve().parent.parent
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
