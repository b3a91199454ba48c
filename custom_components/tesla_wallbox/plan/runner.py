"""The Home Assistant side of the departure plan: the price sensor and the PV forecast in, the plan
out, and the PV runner told when the grid may charge.

The plan is made again when the prices, the forecast, the departure, the target, the charge mode
or the car's plug state or battery level change, and at every slot's start and end, when the
runner acts (commands are billed: the plan acts at slot boundaries, not on every reading). Without
usable prices (no sensor, unavailable, no forecast in its attributes) the plan falls back to
charging now to the target, and in plan mode a repair issue says why; it goes once prices return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.loader import IntegrationNotFound, async_get_integration
from homeassistant.util import dt as dt_util

from ..const import (
    CONF_BATTERY_CAPACITY,
    CONF_CHARGE_EFFICIENCY,
    CONF_PRICE_SENSOR,
    CONF_SOLAR_FORECAST,
    DEFAULT_CHARGE_EFFICIENCY,
    DOMAIN,
    LOGGER,
)
from ..coordinator import WallboxCoordinator
from ..repairs import async_delete_plan_inputs_issue, async_raise_plan_inputs_issue
from ..storage import CarStore
from ..surplus.runner import SurplusRunner
from ..surplus.types import ChargeMode
from .departure import (
    CapacityWatch,
    DepartureSettings,
    battery_kwh,
    charging_power_kw,
    next_occurrence,
)
from .planner import Plan, PlanRequest, PriceSlot, PvPeriod, make_plan
from .prices import ForecastError, parse_price_attributes, parse_solar_forecast

STORE_KEY = "departure"
CAPACITY_KEY = "battery_kwh"  # what the car's charging showed of its pack
REPLAN_INTERVAL = timedelta(minutes=15)
SOLAR_REFRESH = timedelta(minutes=30)


class PlanRunner:
    """One car's departure plan."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: WallboxCoordinator,
        surplus: SurplusRunner,
        store: CarStore,
    ) -> None:
        self.hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self._surplus = surplus
        self._store = store
        self.vin = coordinator.vin
        self.settings = DepartureSettings.from_dict(store.get(self.vin, STORE_KEY))
        options = entry.options
        self.price_sensor: str | None = options.get(CONF_PRICE_SENSOR) or None
        self.solar_entry: str | None = options.get(CONF_SOLAR_FORECAST) or None
        capacity = options.get(CONF_BATTERY_CAPACITY)
        self._capacity_option = float(capacity) if capacity else None
        self._capacity = CapacityWatch(store.get(self.vin, CAPACITY_KEY))
        self.efficiency = (
            float(options.get(CONF_CHARGE_EFFICIENCY, DEFAULT_CHARGE_EFFICIENCY)) / 100
        )
        self.plan: Plan | None = None
        self.problem: str | None = None  # why the prices cannot be used (the repair issue's)
        self.solar: list[PvPeriod] = []
        self.solar_problem: str | None = None
        self._car_facts: tuple[object, ...] | None = None
        self._mode: ChargeMode | None = None
        self._timer: CALLBACK_TYPE | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        surplus.grid_allowed = self.grid_allowed

    @property
    def battery_kwh(self) -> float:
        """The pack's usable size: the option, else what charging showed, else the model's."""
        return battery_kwh(self.vin, self._capacity_option, self._capacity.learned)

    # ----- life cycle -------------------------------------------------------------------------

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow the inputs; returns the function that stops it all."""
        if self.price_sensor:
            self._unsubs.append(
                async_track_state_change_event(self.hass, [self.price_sensor], self._on_prices)
            )
        self._unsubs.append(async_track_time_interval(self.hass, self._on_tick, REPLAN_INTERVAL))
        self._unsubs.append(self._coordinator.async_add_listener(self._on_car))
        self._unsubs.append(self._surplus.async_add_listener(self._on_surplus))
        if self.solar_entry:
            self._unsubs.append(
                async_track_time_interval(self.hass, self._on_solar_tick, SOLAR_REFRESH)
            )
            self._entry.async_create_background_task(
                self.hass, self.async_refresh_solar(), f"{DOMAIN} solar forecast"
            )
        self._mode = self._surplus.mode
        self.async_replan()
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Stop following."""
        while self._unsubs:
            self._unsubs.pop()()
        if self._timer is not None:
            self._timer()
            self._timer = None
        self._surplus.grid_allowed = None

    @callback
    def _on_prices(self, _event: Event[EventStateChangedData]) -> None:
        self.async_replan()

    @callback
    def _on_tick(self, _now: datetime) -> None:
        self.async_replan()

    @callback
    def _on_solar_tick(self, _now: datetime) -> None:
        self._entry.async_create_background_task(
            self.hass, self.async_refresh_solar(), f"{DOMAIN} solar forecast"
        )

    @callback
    def _on_car(self) -> None:
        # The plug state and the battery level are news; a command's record is not.
        charge = self._coordinator.data.charge
        facts = (
            (charge.plugged_in, charge.battery_level, charge.charge_limit_soc) if charge else None
        )
        learned = self._capacity.observe(charge)
        if learned:  # the car's charging showed a new size of its pack
            self._store.set(self.vin, CAPACITY_KEY, self._capacity.learned)
        if facts != self._car_facts or learned:
            self._car_facts = facts
            self.async_replan()

    @callback
    def _on_surplus(self) -> None:
        if self._surplus.mode is not self._mode:
            self._mode = self._surplus.mode
            self.async_replan()

    # ----- settings ---------------------------------------------------------------------------

    async def async_set_settings(self, settings: DepartureSettings) -> None:
        """New departures or target (kept across restarts), and a new plan."""
        self.settings = settings
        await self._store.async_set_now(self.vin, STORE_KEY, settings.as_dict())
        self.async_replan()

    async def async_set_next(self, at: time) -> None:
        """The next departure, once, at `at` (today if still ahead, else tomorrow)."""
        moment = next_occurrence(dt_util.utcnow(), at, dt_util.get_default_time_zone())
        await self.async_set_settings(_replace(self.settings, next_at=moment))

    async def async_set_weekday(self, index: int, at: time) -> None:
        """A weekday's departure time."""
        await self.async_set_settings(self.settings.with_weekday(index, at))

    async def async_set_target(self, percent: float) -> None:
        """The target SoC for the departures."""
        await self.async_set_settings(_replace(self.settings, target_soc=round(percent)))

    # ----- the plan ---------------------------------------------------------------------------

    def grid_allowed(self, now: float) -> bool:
        """Whether the plan lets the grid charge at `now` (epoch seconds)."""
        return self.plan is not None and self.plan.grid_at(dt_util.utc_from_timestamp(now))

    async def async_refresh_solar(self) -> None:
        """Read the PV forecast again from its integration's energy platform."""
        try:
            self.solar = await self._read_solar()
            self.solar_problem = None
        except ForecastError as err:
            self.solar, self.solar_problem = [], str(err)
            LOGGER.info("Departure plan without the PV forecast: %s", err)
        self.async_replan()

    async def _read_solar(self) -> list[PvPeriod]:
        if not self.solar_entry:
            return []
        source = self.hass.config_entries.async_get_entry(self.solar_entry)
        if source is None or source.state is not ConfigEntryState.LOADED:
            raise ForecastError("the solar forecast's integration is not loaded")
        try:
            integration = await async_get_integration(self.hass, source.domain)
            platform = await integration.async_get_platform("energy")
        except (IntegrationNotFound, ImportError) as err:
            raise ForecastError(f"{source.domain} has no energy platform") from err
        get: Callable[..., Any] | None = getattr(platform, "async_get_solar_forecast", None)
        if get is None:
            raise ForecastError(f"{source.domain} gives no solar forecast")
        return parse_solar_forecast(await get(self.hass, self.solar_entry))

    def _prices(self, now: datetime) -> list[PriceSlot]:
        """The price slots, or [] with self.problem saying why they cannot be used."""
        self.problem = None
        if not self.price_sensor:
            self.problem = "no price sensor is configured"
            return []
        state = self.hass.states.get(self.price_sensor)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            self.problem = f"{self.price_sensor} is unavailable"
            return []
        try:
            slots = parse_price_attributes(state.attributes)
        except ForecastError as err:
            self.problem = f"{self.price_sensor}: {err}"
            return []
        if not any(slot.end > now for slot in slots):
            self.problem = f"{self.price_sensor} has no prices from now on"
            return []
        return slots

    @callback
    def async_replan(self) -> None:
        """Make the plan again from what is known now, and let the PV runner act on it."""
        now = dt_util.utcnow()
        settings = self.settings
        if settings.next_at is not None and settings.next_at <= now:
            # The one-off departure has passed: the weekdays' times apply again.
            settings = self.settings = _replace(settings, next_at=None)
            self._store.set(self.vin, STORE_KEY, settings.as_dict())
        charge = self._coordinator.data.charge
        prices = self._prices(now)
        options = self._surplus.surplus.settings
        soc = charge.battery_level if charge and charge.battery_level is not None else None
        if soc is None and self.problem is None:
            self.problem = "the car's battery level is unknown"
        target = settings.target_soc
        if charge and charge.charge_limit_soc:
            target = min(target, charge.charge_limit_soc)
        car_max = charge.charge_current_request_max if charge else None
        power = charging_power_kw(
            charge.phases if charge else None,
            charge.charger_voltage if charge else None,
            car_max,
            assumed_phases=options.assumed_phases,
            assumed_voltage=options.assumed_voltage,
            amps_cap=options.max_amps,
        )
        amps = min(car_max or 16, options.max_amps or car_max or 16)
        self.plan = make_plan(
            PlanRequest(
                now=now,
                departure=settings.next_departure(now, dt_util.get_default_time_zone()),
                soc=float(soc or 0),
                target_soc=float(target),
                battery_kwh=self.battery_kwh,
                power_kw=power,
                prices=prices if soc is not None else [],
                pv=self.solar,
                efficiency=self.efficiency,
                min_power_kw=power * options.min_amps / amps,
            )
        )
        self._update_issue()
        self._schedule(now)
        self._surplus.async_step()

    def _update_issue(self) -> None:
        if self.problem is not None and self._surplus.mode is ChargeMode.PLAN:
            async_raise_plan_inputs_issue(self.hass, self._entry, self.vin, self.problem)
        else:
            async_delete_plan_inputs_issue(self.hass, self._entry, self.vin)

    def _schedule(self, now: datetime) -> None:
        """A new plan at the next slot boundary or departure, whichever comes first."""
        if self._timer is not None:
            self._timer()
            self._timer = None
        plan = self.plan
        if plan is None:
            return
        times = [t for t in (plan.next_change(now), plan.departure) if t is not None and t > now]
        if times:
            self._timer = async_track_point_in_utc_time(self.hass, self._at_boundary, min(times))

    @callback
    def _at_boundary(self, _now: datetime) -> None:
        self._timer = None
        self.async_replan()


def _replace(settings: DepartureSettings, **changes: Any) -> DepartureSettings:
    return replace(settings, **changes)
