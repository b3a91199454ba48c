"""How the charge controller reaches its car: each command's request (sent once more after a
wake-up when the car fell asleep), the wake-up (once, then wait until it is online), and every
failure as a translated Home Assistant error, with what the failure asks of us (sign in again, a
repair issue, a hold after a 429)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .client import CommandOutcome, VehicleClient
from .commands import Action, InvalidCommandError
from .const import AMPS_DOUBLE_SEND_BELOW, DOMAIN, PAIRING_URL
from .coordinator import WallboxCoordinator
from .errors import (
    AuthError,
    CommandProtocolError,
    KeyNotPairedError,
    PaymentRequiredError,
    TeslaWallboxError,
    VehicleUnavailableError,
)
from .repairs import (
    async_delete_command_protocol_issue,
    async_delete_key_not_paired_issue,
    async_delete_subscription_issue,
    async_raise_command_protocol_issue,
    async_raise_key_not_paired_issue,
    async_raise_subscription_issue,
    pairing_url,
)
from .vehicle_data import Connection

WAKE_POLL_INTERVAL = 2.0
# The car's reasons for result false that still mean the command took effect, per request.
_SUCCESS_REASONS = {
    "charge_start": {"is_charging", "requested", "already_set"},
    "charge_stop": {"not_charging", "already_set", "requested"},
    "set_charging_amps": {"already_set", "requested"},
    "set_charge_limit": {"already_set", "requested"},
}


def ha_error(key: str, **placeholders: str) -> HomeAssistantError:
    """A translated error of this integration."""
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def refused(err: InvalidCommandError) -> ServiceValidationError:
    """A command refused before anything was sent, as Home Assistant shows it."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders=err.placeholders,
    )


def reason_of(err: HomeAssistantError) -> str:
    """The short reason for the status JSON: the car's reason, or our error's key."""
    placeholders = err.translation_placeholders or {}
    return placeholders.get("reason") or err.translation_key or "error"


class CarAccess:
    """Requests that change one car, and the wake-ups they need, with their errors translated."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: WallboxCoordinator,
        client: VehicleClient,
        wake_timeout: float,
    ) -> None:
        self.hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self._client = client
        self.wake_timeout = wake_timeout
        # Failed wake-ups so far, and the last one's error: commands queued behind a failed
        # wake-up fail with it at once instead of each waking the car again.
        self.wake_failures = 0
        self._wake_error: HomeAssistantError | None = None

    async def send(self, dispatch: Callable[[], Awaitable[str]]) -> str:
        """Send one command (waking the car first if needed); the reason the car gave."""
        self._coordinator.check_not_rate_limited()
        if self._coordinator.data.connection is not Connection.ONLINE:
            await self.wake()
        try:
            return await dispatch()
        except VehicleUnavailableError:
            # It fell asleep since we last looked: wake it once and try again, once.
            await self.wake()
        try:
            return await dispatch()
        except VehicleUnavailableError as err:
            # Still out of reach after a wake-up: the commands queued behind this one share it.
            raise self.wake_failed(ha_error("vehicle_unavailable")) from err

    async def request(self, action: str, value: int = 0) -> CommandOutcome:
        """The request for one command: start, stop, amps or the car's charge limit."""
        client = self._client
        if action == Action.START:
            return await self.call("charge_start", client.charge_start())
        if action == Action.STOP:
            return await self.call("charge_stop", client.charge_stop())
        if action == Action.SET_AMPS:
            outcome = await self.call("set_charging_amps", client.set_charging_amps(value))
            if value < AMPS_DOUBLE_SEND_BELOW:
                # Below 5 A the car takes the value only when it comes twice.
                outcome = await self.call("set_charging_amps", client.set_charging_amps(value))
            return outcome
        return await self.call("set_charge_limit", client.set_charge_limit(value))

    async def call(self, name: str, request: Awaitable[CommandOutcome]) -> CommandOutcome:
        """Await one command request (a 408 passes as it is); translate failures into HA errors."""
        try:
            outcome = await request
        except VehicleUnavailableError:
            raise
        except TeslaWallboxError as err:
            raise self.failure(err) from err
        # The car took a command from us: whatever refused our key before is solved.
        async_delete_command_protocol_issue(self.hass, self._entry)
        async_delete_key_not_paired_issue(self.hass, self._entry)
        async_delete_subscription_issue(self.hass, self._entry)
        if not outcome.result and outcome.reason not in _SUCCESS_REASONS[name]:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_refused",
                translation_placeholders={"command": name, "reason": outcome.reason or "unknown"},
            )
        return outcome

    async def wake(self) -> None:
        """Wake the car once and wait until it is online, or give up after wake_timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wake_timeout
        try:
            connection = await self._client.wake(self.wake_timeout)
            while connection is not Connection.ONLINE:
                if loop.time() + WAKE_POLL_INTERVAL > deadline:
                    timeout = str(round(self.wake_timeout))
                    raise self.wake_failed(ha_error("wake_timeout", timeout=timeout))
                await asyncio.sleep(WAKE_POLL_INTERVAL)
                connection = await self._client.state()
        except TeslaWallboxError as err:
            raise self.wake_failed(self.failure(err)) from err
        self._coordinator.note_online()

    async def wake_if_asleep(self, failures_before: int) -> None:
        """Wake the car unless the state endpoint (free, it never wakes the car) says it is online:
        a wake-up is billed ($0.02)."""
        self._coordinator.check_not_rate_limited()
        self.check_no_failed_wake(failures_before)
        if await self.connection() is not Connection.ONLINE:
            await self.wake()

    async def connection(self) -> Connection | None:
        """The car's connectivity, from the state endpoint (free, and it never wakes the car)."""
        try:
            return await self._client.state()
        except VehicleUnavailableError:
            return None  # not expected from this endpoint; a wake-up finds out
        except TeslaWallboxError as err:
            raise self.failure(err) from err

    def failure(self, err: TeslaWallboxError) -> HomeAssistantError:
        """The HA error for a failed request, after what the failure asks of us."""
        if isinstance(err, AuthError):
            self._entry.async_start_reauth(self.hass)
        elif isinstance(err, CommandProtocolError):
            async_raise_command_protocol_issue(self.hass, self._entry)
        elif isinstance(err, PaymentRequiredError):
            async_raise_subscription_issue(self.hass, self._entry)
        elif isinstance(err, KeyNotPairedError):
            async_raise_key_not_paired_issue(self.hass, self._entry)
            url = pairing_url(self._entry) or PAIRING_URL.format(domain="<your app's domain>")
            return ha_error(err.key, url=url)
        else:
            self._coordinator.note_command_error(err)
        return ha_error(err.key)

    def wake_failed(self, failed: HomeAssistantError) -> HomeAssistantError:
        """Remember a failed wake-up, so that the commands waiting behind it fail with it."""
        self.wake_failures += 1
        self._wake_error = failed
        return failed

    def check_no_failed_wake(self, failures_before: int) -> None:
        """Fail at once if a wake-up failed while this command waited for the lock."""
        failed = self._wake_error
        if self.wake_failures != failures_before and failed is not None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=failed.translation_key,
                translation_placeholders=failed.translation_placeholders,
            )
