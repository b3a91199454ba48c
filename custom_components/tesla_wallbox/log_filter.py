"""Keep API keys out of the log: HTTP access and request logs show URLs, and keys travel in URLs.

Clients that cannot send headers put the key in the query (?key=...) or, for the go-e endpoint, in
the path (/goe/<key>/). A filter on the loggers that print URLs replaces both with "***".
"""

from __future__ import annotations

import logging
import re

from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN

# Loggers that print request URLs: aiohttp's access log, HA's request and failed-login logs.
URL_LOGGERS = ("aiohttp.access", "homeassistant.helpers.http", "homeassistant.components.http.ban")
_KEY_IN_URL = re.compile(r"(?P<lead>[?&]key=|/goe/)(?P<key>[^&\s\"'/?#]+)", re.IGNORECASE)
DATA_LOG_FILTER = f"{DOMAIN}_log_filter"


def redact_keys(text: str) -> str:
    """The text with every API key in a URL replaced."""
    return _KEY_IN_URL.sub(r"\g<lead>***", text)


class ApiKeyFilter(logging.Filter):
    """Rewrites log records that carry an API key in a URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact, never drop."""
        message = record.getMessage()
        redacted = redact_keys(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_FILTER = ApiKeyFilter()


@callback
def async_install(hass: HomeAssistant) -> None:
    """Add the filter to the URL loggers (once per process: loggers outlive a Home Assistant)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    hass.data[DATA_LOG_FILTER] = _FILTER
