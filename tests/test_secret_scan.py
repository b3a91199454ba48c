"""The log scan plugin (tests/plugins/secret_scan.py) fails a whole run that logged a secret.

Each case runs a small inner pytest session in a subprocess with the plugin loaded, as the suite
loads it. A subprocess and not pytester's in-process run: in this process the plugin's scan is
already on the root logger, and an inner test's secret would fail this run as well.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from .const import TOKEN
from .plugins.secret_scan import SecretScan

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
INNER_TESTS = f"""
import logging

from tests.const import TOKEN


def test_logs_nothing_secret():
    logging.getLogger("inner.quiet").debug("a plain record")


def test_logs_the_token():
    logging.getLogger("inner.probe").warning("the token is %s", TOKEN)
    assert TOKEN == {TOKEN!r}
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A folder with the inner tests; `tests` (this suite's package) importable from there."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    pytester.makepyfile(test_inner=INNER_TESTS)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The inner session with the plugin, the harness and pyproject.toml's asyncio options (the
    harness's autouse fixtures are async; strict mode refuses them in a plain test)."""
    return pytester.runpytest_subprocess(
        "-p",
        "tests.plugins.secret_scan",
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        *args,
        timeout=120,
    )


@pytest.mark.parametrize("workers", [[], ["-p", "xdist", "-n", "1"]], ids=["serial", "xdist"])
def test_a_secret_in_the_log_fails_the_run_and_is_named(
    inner: pytest.Pytester, workers: list[str]
) -> None:
    """Both inner tests pass; the run fails all the same, and its summary says where the secret
    was logged, showing only its first characters. Under xdist a worker found it and the
    controller reports it."""
    result = run(inner, *workers)
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    summary = result.stdout.str()
    section = summary[summary.index("secrets in the log") :]
    lines = [line for line in section.splitlines() if "inner." in line]
    assert len(lines) == 1
    assert "test_inner.py::test_logs_the_token" in lines[0]
    assert f"inner.probe WARNING: {TOKEN[:6]}..." in lines[0]
    assert TOKEN not in summary


def test_a_run_without_a_secret_passes(inner: pytest.Pytester) -> None:
    result = run(inner, "-k", "nothing_secret")
    result.assert_outcomes(passed=1, deselected=1)
    assert result.ret == pytest.ExitCode.OK
    assert "secrets in the log" not in result.stdout.str()


def test_the_harness_storage_of_a_private_key_is_not_a_leak() -> None:
    """The harness's storage logs what it loads and writes; our private key store holds the key.
    The same key anywhere else, or another store's, is still found."""
    scan = SecretScan()
    pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAAAA"

    def record(name: str, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, logging.DEBUG, __file__, 1, msg, args, None)

    harness = "pytest_homeassistant_custom_component.common"
    scan.emit(record(harness, "Loading data for %s: %s", "tesla_wallbox.x.bluetooth_key", pem))
    scan.emit(record(harness, "Writing data to %s: %s", "tesla_wallbox.x.bluetooth_key", pem))
    assert scan.found == []
    scan.emit(record(harness, "Writing data to %s: %s", "tesla_wallbox.x", pem))
    scan.emit(record("custom_components.tesla_wallbox", "key %s", pem))
    assert len(scan.found) == 2
