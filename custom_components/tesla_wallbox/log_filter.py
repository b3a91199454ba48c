"""Keep API keys out of the log: request logs show URLs, and keys travel in URLs.

Clients that cannot send headers put the key in the query (?key=...) or, for the go-e endpoint, in
the path (/goe/<key>/). Many loggers print URLs: aiohttp's access and server logs, Home Assistant's
request, security-filter and failed-login logs, and any other that a future version adds. A filter
on named loggers misses those it does not name, and a filter on the handlers misses the handlers
added later (Home Assistant's own, the system log's, a test run's). So the redaction sits where
every record is made, in the logging module's record factory, once per process: each record that
carries a key in a URL, or the text of any API key of our entries, is rewritten with "***" before
any handler sees it.
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

from .const import CONF_API_KEY, DOMAIN

REDACTED = "***"
# "?key=" / "&key=" and "/goe/", also percent-encoded as aiohttp would still route them.
_KEY_PARAM = r"[?&](?:k|%6b)(?:e|%65)(?:y|%79)="
_GOE_SEGMENT = r"/(?:g|%67)(?:o|%6f)(?:e|%65)/"
_KEY_IN_URL = re.compile(rf"(?P<lead>{_KEY_PARAM}|{_GOE_SEGMENT})[^&\s\"'/?#]+", re.IGNORECASE)
# Generated keys are 32 characters; a shorter one is not masked wherever it occurs as plain text.
_MIN_KEY_LENGTH = 8

type RecordFactory = Callable[..., logging.LogRecord]


class KeyRedactor:
    """Knows the API keys to mask, and masks them and keys in URLs in any text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: frozenset[str] = frozenset()
        self._known: re.Pattern[str] | None = None

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

    def redact(self, text: str) -> str:
        """The text with every API key replaced."""
        redacted = _KEY_IN_URL.sub(rf"\g<lead>{REDACTED}", text)
        known = self._known  # read once: another thread may swap it
        return known.sub(REDACTED, redacted) if known is not None else redacted

    def redact_record(self, record: logging.LogRecord) -> None:
        """Rewrite a record's message, traceback and stack when they carry a key."""
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the handler's to report: leave it as it is
            return
        redacted = self.redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if (clean := self.redact(text)) != text:
                record.exc_text = clean  # formatters print exc_text when it is set
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


_REDACTOR = KeyRedactor()


def redact_keys(text: str) -> str:
    """The text with every API key (in a URL, or one of our entries' keys) replaced."""
    return _REDACTOR.redact(text)


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


@callback
def async_install(hass: HomeAssistant) -> None:
    """Mask keys in every log record; learn our entries' keys now and whenever one changes."""
    _install_factory()
    _REDACTOR.add_keys(_entry_keys(hass.config_entries.async_entries(DOMAIN)))

    @callback
    def entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        # Added, set up, or given new options (a regenerated key): every change passes here.
        if entry.domain == DOMAIN:
            _REDACTOR.add_keys(_entry_keys([entry]))

    # Called once per Home Assistant (async_setup); the subscription lives as long as it does.
    async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)
