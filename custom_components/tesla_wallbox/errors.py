"""Our own exceptions, and the translation of every error tesla_fleet_api or aiohttp raises into
one of them (with a 429's Retry-After in seconds). Besides client.py and ble_client.py, the only
module that imports tesla_fleet_api.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
import math
from typing import Any

import aiohttp
from tesla_fleet_api import exceptions as tfe

from .const import MAX_RETRY_AFTER

COMMAND_PROTOCOL_HINT = "vehicle command protocol"
# tesla-http-proxy's text for a car that does not know its key (vehicle-command pkg/protocol).
KEY_NOT_PAIRED_HINT = "public key has not been paired"

# Faults that mean the car does not know our key (virtual key not paired), in every library version.
_KEY_REJECTED: tuple[type[BaseException], ...] = (
    tfe.NotOnWhitelistFault,
    tfe.CouldNotRetrieveKeyFault,
    tfe.TeslaFleetMessageFaultUnknownKeyId,
    tfe.TeslaFleetMessageFaultInactiveKey,
)
# 403 for a token without a scope the request needs: 1.18 raises InvalidScope, 1.4 only Forbidden.
_MISSING_SCOPE: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(tfe, "InvalidScope", None),) if isinstance(cls, type)
)
MISSING_SCOPE_HINT = "scope"
# 402: pay-per-use billing not set up, credits used up, or no Teslemetry subscription.
_PAYMENT_REQUIRED: tuple[type[BaseException], ...] = (
    tfe.PaymentRequired,
    tfe.SubscriptionRequired,
    tfe.VehicleSubscriptionRequired,
    tfe.InsufficientCredits,
)
_AUTH_ERRORS: tuple[type[BaseException], ...] = (
    tfe.OAuthExpired,
    tfe.InvalidToken,
    tfe.MissingToken,
    tfe.LoginRequired,
    tfe.MobileAccessDisabled,
    tfe.UnauthorizedClient,
)


class TeslaWallboxError(Exception):
    """Base of the errors the clients raise; `key` is the translation key of the message."""

    key = "api_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.key)
        self.detail = detail


class AuthError(TeslaWallboxError):
    """The token was refused: the user must sign in again."""

    key = "auth_failed"


class RateLimitedError(TeslaWallboxError):
    """429: nothing may be sent before retry_after seconds."""

    key = "rate_limited"

    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class VehicleUnavailableError(TeslaWallboxError):
    """408: the car is asleep or offline."""

    key = "vehicle_unavailable"


class CommandProtocolError(TeslaWallboxError):
    """403: the car only takes signed commands, or it does not know our key."""

    key = "command_protocol_required"


class KeyNotPairedError(TeslaWallboxError):
    """The car does not know the key the command was signed with: pair it as a virtual key."""

    key = "key_not_paired"


class TransientError(TeslaWallboxError):
    """5xx, timeouts and dropped connections: try again later."""

    key = "cannot_connect"


class BluetoothUnreachableError(TeslaWallboxError):
    """Bluetooth could not serve the request (out of range, link lost, no answer): ask the cloud."""

    key = "bluetooth_unreachable"


class MissingScopeError(TeslaWallboxError):
    """403: the token lacks a permission (scope) the request needs."""

    key = "missing_scope"


class PaymentRequiredError(TeslaWallboxError):
    """402: the account must pay (Fleet billing, credits) or subscribe (Teslemetry) first."""

    key = "subscription_required"


def map_error(err: BaseException) -> TeslaWallboxError:
    """Our exception for any error the library or aiohttp raised."""
    if isinstance(err, TeslaWallboxError):
        return err
    if isinstance(err, (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return TransientError(type(err).__name__)
    if isinstance(err, _AUTH_ERRORS):
        return AuthError(type(err).__name__)
    if isinstance(err, tfe.RateLimited):
        data = err.data if isinstance(err.data, dict) else {}
        after = _seconds(data.get("after"))
        return RateLimitedError(after if after is not None else _seconds(data.get("reset")))
    if isinstance(err, _KEY_REJECTED):
        return KeyNotPairedError(type(err).__name__)
    if isinstance(err, tfe.VehicleOffline):
        return VehicleUnavailableError("408")
    if isinstance(err, _MISSING_SCOPE):
        return MissingScopeError(_error_text(err) or type(err).__name__)
    status = getattr(err, "status", None)
    if isinstance(err, _PAYMENT_REQUIRED) or status == 402:
        return PaymentRequiredError(_error_text(err) or type(err).__name__)
    if isinstance(err, tfe.Forbidden) or status == 403:
        message = _error_text(err)
        if COMMAND_PROTOCOL_HINT in message.lower():
            return CommandProtocolError(message)
        if MISSING_SCOPE_HINT in message.lower():
            return MissingScopeError(message)
        return TeslaWallboxError(f"403 {message}")
    if KEY_NOT_PAIRED_HINT in _error_text(err).lower():
        # A tesla-http-proxy that could not start a session with the car: a 500 with this text.
        return KeyNotPairedError(_error_text(err))
    if isinstance(status, int) and status >= 500:
        return TransientError(str(status))
    if isinstance(err, tfe.ResponseError):
        return TransientError("invalid response")
    if status == 401:
        return AuthError("401")
    return TeslaWallboxError(f"{type(err).__name__} {status or ''}".strip())


def _error_text(err: BaseException) -> str:
    data = getattr(err, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "")
    return str(data or "")


def _seconds(value: Any) -> float | None:
    """Seconds from a Retry-After: a number of seconds, or an HTTP date (RFC 9110), at most
    MAX_RETRY_AFTER; None for anything else (the caller's default applies)."""
    if value is None:
        return None
    try:
        seconds: float | None = float(value)
    except (TypeError, ValueError):
        seconds = _seconds_until(str(value))
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def _seconds_until(http_date: str) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # HTTP dates are GMT
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
