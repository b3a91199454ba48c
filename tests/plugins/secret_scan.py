"""The whole run's log, scanned for secrets: a pytest plugin.

Every record any logger emits during the run, at DEBUG, goes through `SECRET_SCAN`. A record that
carries a secret fails the run, whatever the tests said, and the terminal summary lists where each
one appeared (the test, the logger, the level and the secret's first characters). Under
pytest-xdist each worker scans its own tests and hands what it found to the controller, which
fails the run and prints the list.

Loaded by tests/conftest.py (`pytest_plugins`). A test that makes a secret of its own (a
generated key) adds it with `SECRET_SCAN.add(secret)`.
"""

from __future__ import annotations

from collections.abc import Iterator
import logging
import os
import re
from typing import Any

import pytest

from tests.const import ACCESS_TOKEN, API_KEY, CLIENT_SECRET, HOME, REFRESH_TOKEN, TOKEN

# What must never be logged: the secrets of tests/const.py, test_fleet_backend's client secret,
# the tokens the simulator issues (and test_fleet_backend's "sim-refresh-seeded"), any EC private
# key (the base64 of its DER start, SEC1 or PKCS#8, whatever the key), and a position (log_filter
# masks it in every record): a key ending in latitude/longitude with its number, or HOME's two
# numbers together in any other form (one alone is no position: Hypothesis takes numbers from the
# test sources, HOME's among them, for the values it tries). The simulator's VINs are not
# scanned: tests/sim and the config flow log them, unmasked, before any entry names them, and
# they contain an I, so no VIN shape rule can know them.
_SECRETS = [TOKEN, API_KEY, REFRESH_TOKEN, ACCESS_TOKEN, CLIENT_SECRET, "client-secret"]
_SECRET_PATTERNS = [
    rf"{re.escape(str(abs(HOME[0])))}\D{{1,40}}{re.escape(str(abs(HOME[1])))}",
    r"sim-(?:access|refresh)-\w+",
    r"MHcCAQEE",
    r"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg",
    r"(?i:latitude|longitude)[\"']?\s*[:=]\s*[\"']?[-+]?\.?\d",
]
# The test harness's stand-in for Home Assistant's storage logs what it loads and writes (a real
# Home Assistant does not): for the entry's own Bluetooth key, that is the key, where it belongs.
_HARNESS_STORAGE = "pytest_homeassistant_custom_component.common"
_HARNESS_STORAGE_MESSAGES = ("Loading data for %s: %s", "Writing data to %s: %s")
_PRIVATE_STORES = (".bluetooth_key",)
# The key of a worker's findings in what pytest-xdist sends its controller.
_WORKER_OUTPUT_KEY = "secrets_in_log"


class SecretScan(logging.Handler):
    """A root handler for the whole run: notes every record that carries a secret."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[str] = []
        self._compile()

    def add(self, *secrets: str) -> None:
        """Secrets made during a test (a generated key): scanned from now on."""
        _SECRETS.extend(secrets)
        self._compile()

    def _compile(self) -> None:
        alternatives = [re.escape(secret) for secret in _SECRETS] + _SECRET_PATTERNS
        self._pattern = re.compile("|".join(alternatives))

    def emit(self, record: logging.LogRecord) -> None:
        if _private_store_record(record):
            return
        try:
            text = record.getMessage()
            if record.exc_info:
                text += record.exc_text or logging.Formatter().formatException(record.exc_info)
            text += record.stack_info or ""
        except Exception:  # reported the way logging reports a broken record
            self.handleError(record)
            return
        if match := self._pattern.search(text):
            test = os.environ.get("PYTEST_CURRENT_TEST", "outside a test")
            self.found.append(f"{test}: {record.name} {record.levelname}: {match.group()[:6]}...")


def _private_store_record(record: logging.LogRecord) -> bool:
    """The harness's storage loading or writing one of our private stores."""
    args = record.args if isinstance(record.args, tuple) else ()
    return (
        record.name == _HARNESS_STORAGE
        and record.msg in _HARNESS_STORAGE_MESSAGES
        and bool(args)
        and str(args[0]).endswith(_PRIVATE_STORES)
    )


SECRET_SCAN = SecretScan()


@pytest.fixture(autouse=True, scope="session")
def scan_the_log_for_secrets() -> Iterator[None]:
    """Every record of the run at DEBUG goes through the scan (caplog's levels restore to it).

    The handlers already on the root (the harness's stderr one) keep printing what they printed.
    """
    root = logging.getLogger()
    level = root.level
    handler_levels = {handler: handler.level for handler in root.handlers}
    for handler in handler_levels:
        handler.setLevel(max(handler.level, level))
    root.setLevel(logging.DEBUG)
    root.addHandler(SECRET_SCAN)
    yield
    root.removeHandler(SECRET_SCAN)
    root.setLevel(level)
    for handler, handler_level in handler_levels.items():
        handler.setLevel(handler_level)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A secret in the log fails the run, whatever the tests said; a worker tells its controller."""
    worker_output: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        worker_output[_WORKER_OUTPUT_KEY] = list(SECRET_SCAN.found)
    if SECRET_SCAN.found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: what a worker found is the run's."""
    output: dict[str, Any] = getattr(node, "workeroutput", None) or {}
    SECRET_SCAN.found.extend(output.get(_WORKER_OUTPUT_KEY, []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where each secret appeared (its first characters only)."""
    if SECRET_SCAN.found:
        terminalreporter.section("secrets in the log", red=True)
        for line in SECRET_SCAN.found:
            terminalreporter.line(line)
