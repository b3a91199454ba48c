"""Keep API keys, VINs and car positions out of the log.

Request logs show URLs, and keys travel in URLs: clients that cannot send headers put the key in
the query (?key=...) or, for the go-e endpoint, in the path (/goe/<key>/). With debug logging,
tesla_fleet_api logs each request URL and "Response JSON" line, which carry the car's VIN and its
position (latitude, native_latitude, corrected_latitude, ...), and users post such logs in
public issues. Many loggers print these: aiohttp's access and server logs, Home Assistant's
request, security-filter and failed-login logs, its event bus, and any other that a future
version adds. A filter on named loggers misses those it does not name, and a filter on the
handlers misses the handlers added later (Home Assistant's own, the system log's, a test run's).
So the redaction sits where every record is made, in the logging module's record factory, once
per process: each record is rewritten before any handler sees it. Masked are a key in a URL and
the text of any API key of our entries ("***"), the VINs of our entries in any record and any
VIN-shaped token (ISO 3779) in the records of tesla_fleet_api, teslemetry_stream and this
integration, and the number after any key ending in "latitude" or "longitude" ("***").

A VIN keeps its last four characters ("***0001"): our own log lines already name a car by them,
so a reader can still tell cars apart and match the library's lines to ours, while the
manufacturer, model, plant and most of the serial stay hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import logging
import re
import threading
from typing import Any

from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntry, ConfigEntryChange
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .const import CONF_API_KEY, CONF_VEHICLES, CONF_VINS, DOMAIN, LOGGER

REDACTED = "***"
# "?key=" / "&key=" and "/goe/", also percent-encoded as aiohttp would still route them.
_KEY_PARAM = r"[?&](?:k|%6b)(?:e|%65)(?:y|%79)="
_GOE_SEGMENT = r"/(?:g|%67)(?:o|%6f)(?:e|%65)/"
_KEY_IN_URL = re.compile(rf"(?P<lead>{_KEY_PARAM}|{_GOE_SEGMENT})[^&\s\"'/?#]+", re.IGNORECASE)
# Generated keys are 32 characters; a shorter one is not masked wherever it occurs as plain text.
_MIN_KEY_LENGTH = 8
# A VIN keeps this many last characters, the ones our own log lines name a car by.
VIN_KEPT = 4
# ISO 3779: 17 of A-Z and 0-9 without I, O and Q, with a digit and a letter (an id, a word is not).
_VIN_CHAR = "[A-HJ-NPR-Z0-9]"
_VIN = re.compile(
    rf"(?<![A-Za-z0-9])(?={_VIN_CHAR}{{0,16}}[0-9])(?=[0-9]{{0,16}}[A-HJ-NPR-Z])"
    rf"{_VIN_CHAR}{{{17 - VIN_KEPT}}}(?P<tail>{_VIN_CHAR}{{{VIN_KEPT}}})(?![A-Za-z0-9])"
)
# Only these loggers' (and their children's) VIN-shaped tokens are VINs; elsewhere, any id.
_VIN_LOGGERS = ("tesla_fleet_api", "teslemetry_stream", LOGGER.name)
# A key ending in latitude/longitude, quoted or not, then ":" (JSON, repr) or "=" (a State's
# repr, a query), then a number, quoted or not: the number goes.
_COORDINATE = re.compile(
    r"(?P<lead>(?:latitude|longitude)[\"']?\s*[:=]\s*[\"']?)"
    r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?",
    re.IGNORECASE,
)

type RecordFactory = Callable[..., logging.LogRecord]


def mask_vin(vin: str) -> str:
    """A VIN as the log shows it: its last characters only."""
    return f"{REDACTED}{vin[-VIN_KEPT:]}"


class Redactor:
    """Knows the API keys and VINs to mask, and masks them, keys in URLs and coordinates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: frozenset[str] = frozenset()
        self._known: re.Pattern[str] | None = None
        self._vins: tuple[str, ...] = ()

    def add_keys(self, keys: Iterable[object]) -> None:
        """Mask these keys from now on (a regenerated key stays masked: it was a secret)."""
        new = {key for key in keys if isinstance(key, str) and len(key) >= _MIN_KEY_LENGTH}
        with self._lock:
            if new <= self._keys:
                return
            self._keys = self._keys | new
            # Longest first, so that a key that contains another is masked whole.
            ordered = sorted(self._keys, key=len, reverse=True)
            self._known = re.compile("|".join(re.escape(key) for key in ordered))

    def add_vins(self, vins: Iterable[object]) -> None:
        """Mask these VINs in every record from now on (a removed car's VIN stays masked)."""
        new = {vin for vin in vins if isinstance(vin, str) and len(vin) >= _MIN_KEY_LENGTH}
        with self._lock:
            if new <= set(self._vins):
                return
            # Longest first, as the keys: a VIN that contains another is masked whole.
            self._vins = tuple(sorted(new.union(self._vins), key=len, reverse=True))

    def redact_keys(self, text: str) -> str:
        """The text with every API key replaced."""
        redacted = _KEY_IN_URL.sub(rf"\g<lead>{REDACTED}", text)
        known = self._known  # read once: another thread may swap it
        return known.sub(REDACTED, redacted) if known is not None else redacted

    def redact(self, text: str, *, any_vin: bool = False) -> str:
        """The text with keys, our VINs (with any_vin any VIN) and coordinates masked."""
        text = self.redact_keys(text)
        for vin in self._vins:  # a tuple, swapped whole by add_vins: safe to read unlocked
            if vin in text:  # str.replace copies; most records carry no VIN
                text = text.replace(vin, mask_vin(vin))
        if any_vin and len(text) >= 17:
            text = _VIN.sub(rf"{REDACTED}\g<tail>", text)
        # Both spellings of "...itude" before the regex: most records carry no coordinate.
        if "itude" in text or "ITUDE" in text:
            text = _COORDINATE.sub(rf"\g<lead>{REDACTED}", text)
        return text

    def redact_record(self, record: logging.LogRecord) -> None:
        """Rewrite a record's message, traceback and stack when they carry something to mask."""
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the handler's to report: leave it as it is
            return
        any_vin = record.name.startswith(_VIN_LOGGERS)  # a prefix test: cheap on every record
        redacted = self.redact(message, any_vin=any_vin)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if (clean := self.redact(text, any_vin=any_vin)) != text:
                record.exc_text = clean  # formatters print exc_text when it is set
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info, any_vin=any_vin)


_REDACTOR = Redactor()


def redact_keys(text: str) -> str:
    """The text with every API key (in a URL, or one of our entries' keys) replaced."""
    return _REDACTOR.redact_keys(text)


def redact(text: str, *, any_vin: bool = False) -> str:
    """The text as a record shows it; any_vin as for a record of tesla_fleet_api or of ours."""
    return _REDACTOR.redact(text, any_vin=any_vin)


class _RedactingFactory:
    """The record factory it wraps, with every record redacted before it is handed out."""

    def __init__(self, factory: RecordFactory) -> None:
        self._factory = factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._factory(*args, **kwargs)
        _REDACTOR.redact_record(record)
        return record


def _install_factory() -> None:
    """Wrap the record factory once per process (again if someone replaced it since)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))


def _entry_keys(entries: Iterable[ConfigEntry]) -> list[object]:
    return [entry.options.get(CONF_API_KEY) for entry in entries]


def _entry_vins(entries: Iterable[ConfigEntry]) -> list[object]:
    """The chosen cars' VINs and those of every car the account listed at set-up."""
    vins: list[object] = []
    for entry in entries:
        for field in (entry.data.get(CONF_VINS), entry.data.get(CONF_VEHICLES)):
            if isinstance(field, list | dict):  # data from storage: trust its shape no further
                vins.extend(field)
    return vins


@callback
def async_install(hass: HomeAssistant) -> None:
    """Mask keys, VINs and coordinates in every log record; learn our entries' keys and VINs now
    and whenever one changes."""
    _install_factory()
    entries = hass.config_entries.async_entries(DOMAIN)
    _REDACTOR.add_keys(_entry_keys(entries))
    _REDACTOR.add_vins(_entry_vins(entries))

    @callback
    def entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        # Added, set up, given new options (a regenerated key) or new cars: all pass here.
        if entry.domain == DOMAIN:
            _REDACTOR.add_keys(_entry_keys([entry]))
            _REDACTOR.add_vins(_entry_vins([entry]))

    # Called once per Home Assistant (async_setup); the subscription lives as long as it does.
    async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)


# At import too: a config flow lists the account's cars before any async_setup ran (none runs
# while no entry exists), and the library logs their VINs.
_install_factory()
