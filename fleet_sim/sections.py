"""The static parts of Tesla's answers: the vehicle object and the vehicle_data sections that
do not depend on charging. Plausible values in the real field names; pure functions."""

from __future__ import annotations

from typing import Any, Final

API_VERSION: Final = 81
FIRMWARE: Final = "2025.32.3"


def vehicle_object(
    *, vehicle_id: int, internal_id: int, vin: str, display_name: str, state: str
) -> dict[str, Any]:
    """One entry of the vehicle list, also the head of a vehicle_data answer."""
    return {
        "id": vehicle_id,
        "vehicle_id": internal_id,
        "vin": vin,
        "color": None,
        "access_type": "OWNER",
        "display_name": display_name,
        "option_codes": None,
        "cached_data": None,
        "granular_access": {"hide_private": False},
        "tokens": [],
        "state": state,
        "in_service": False,
        "id_s": str(vehicle_id),
        "calendar_enabled": True,
        "api_version": API_VERSION,
        "backseat_token": None,
        "backseat_token_updated_at": None,
        "ble_autopair_enrolled": False,
        "command_signing": "allowed",
        "release_notes_supported": True,
    }


def drive_state(timestamp_ms: int, location: tuple[float, float, int] | None) -> dict[str, Any]:
    """A parked car; position and heading only when location_data was asked for."""
    section: dict[str, Any] = {
        "gps_as_of": timestamp_ms // 1000,
        "power": 0,
        "shift_state": None,
        "speed": None,
        "timestamp": timestamp_ms,
    }
    if location is not None:
        latitude, longitude, heading = location
        section |= {
            "heading": heading,
            "latitude": latitude,
            "longitude": longitude,
            "native_latitude": latitude,
            "native_longitude": longitude,
            "native_location_supported": 1,
            "native_type": "wgs",
        }
    return section


def climate_state(timestamp_ms: int) -> dict[str, Any]:
    """Climate off, a mild day."""
    return {
        "battery_heater": False,
        "cabin_overheat_protection": "On",
        "climate_keeper_mode": "off",
        "defrost_mode": 0,
        "driver_temp_setting": 21.0,
        "fan_status": 0,
        "inside_temp": 19.5,
        "is_auto_conditioning_on": False,
        "is_climate_on": False,
        "is_preconditioning": False,
        "max_avail_temp": 28.0,
        "min_avail_temp": 15.0,
        "outside_temp": 14.0,
        "passenger_temp_setting": 21.0,
        "seat_heater_left": 0,
        "seat_heater_right": 0,
        "timestamp": timestamp_ms,
    }


def gui_settings(timestamp_ms: int) -> dict[str, Any]:
    """European display units."""
    return {
        "gui_24_hour_time": True,
        "gui_charge_rate_units": "kW",
        "gui_distance_units": "km/hr",
        "gui_range_display": "Rated",
        "gui_temperature_units": "C",
        "gui_tirepressure_units": "Bar",
        "show_range_units": False,
        "timestamp": timestamp_ms,
    }


def vehicle_config(timestamp_ms: int) -> dict[str, Any]:
    """A European Model 3 Long Range."""
    return {
        "can_accept_navigation_requests": True,
        "can_actuate_trunks": True,
        "car_special_type": "base",
        "car_type": "model3",
        "charge_port_type": "CCS",
        "eu_vehicle": True,
        "exterior_color": "MidnightSilver",
        "has_air_suspension": False,
        "key_version": 2,
        "motorized_charge_port": True,
        "plg": True,
        "rhd": False,
        "third_row_seats": "None",
        "timestamp": timestamp_ms,
        "trim_badging": "74d",
        "use_range_badging": True,
        "utc_offset": 3600,
        "wheel_type": "Photon18",
    }


def vehicle_state(timestamp_ms: int, vehicle_name: str) -> dict[str, Any]:
    """Parked, locked, nobody inside."""
    return {
        "api_version": API_VERSION,
        "car_version": f"{FIRMWARE} 0a1b2c3d4e5f",
        "center_display_state": 0,
        "df": 0,
        "dr": 0,
        "fd_window": 0,
        "fp_window": 0,
        "is_user_present": False,
        "locked": True,
        "odometer": 12345.6,
        "pf": 0,
        "pr": 0,
        "rd_window": 0,
        "rp_window": 0,
        "sentry_mode": False,
        "sentry_mode_available": True,
        "software_update": {"status": "", "version": " "},
        "timestamp": timestamp_ms,
        "valet_mode": False,
        "vehicle_name": vehicle_name,
    }
