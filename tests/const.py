"""Constants the tests share: the secrets of the test entry, places, times, options and cars.

Fixtures live in conftest.py, helper functions in conftest.py and common.py; this module holds only values, so that a test
module, the conftest and the log scan (tests/plugins/secret_scan.py) all name the same ones.
"""

from __future__ import annotations

from typing import Any

from custom_components.tesla_wallbox.const import (
    CONF_API_KEY,
    CONF_GRID_SENSOR,
    CONF_PV_ZONE,
)
from fleet_sim import VehicleConfig

# ----- secrets: the log scan fails the run when one of them is logged ---------------------------

TOKEN = "test-fleet-token"
API_KEY = "test-api-key-0123456789"
# The OAuth secrets of the Fleet backend's tests.
REFRESH_TOKEN = "refresh-secret-1"
ACCESS_TOKEN = "old-access-secret"
CLIENT_SECRET = "client-secret-value"

# ----- places and times -------------------------------------------------------------------------

# Home Assistant's test instance lives here, and zone.home with it (radius 100 m).
HOME = (32.87336, -117.22743)
AWAY = (32.95, -117.10)
# 10:00 in Home Assistant's test time zone (US/Pacific): the same day all through a scenario.
MORNING = "2026-06-15 17:00:00+00:00"

# ----- options and paths ------------------------------------------------------------------------

# The household's grid power sensor (a plain state the tests set; positive = import).
GRID_SENSOR = "sensor.grid_power"
# Options that give every entity a meaning: a PV location and a grid sensor.
PV_OPTIONS: dict[str, Any] = {
    CONF_PV_ZONE: "zone.home",
    CONF_API_KEY: API_KEY,
    CONF_GRID_SENSOR: GRID_SENSOR,
}
# The go-e API v2 of car 1, with the entry's key.
GOE_API = f"/tlwb/1/goe/{API_KEY}/api"

# ----- cars -------------------------------------------------------------------------------------

# Plugged in at home, 40 %, waiting to be told to charge (limit 80 %).
PLUGGED_AT_HOME = VehicleConfig(
    latitude=HOME[0],
    longitude=HOME[1],
    battery_level=40.0,
    plugged_in=True,
    auto_start_on_plug=False,
    charge_limit_soc=80,
)

# The three scenarios every entity platform is snapshotted in (tests/common.py runs them).
# Plugged in at home and idle: a PV charge waits for surplus.
PARKED_IDLE = VehicleConfig(
    latitude=HOME[0],
    longitude=HOME[1],
    battery_level=55.0,
    plugged_in=True,
    auto_start_on_plug=False,
    charge_limit_soc=80,
)
# Plugged in at home, charging from the moment it was plugged in.
CHARGING_AT_HOME = VehicleConfig(
    latitude=HOME[0], longitude=HOME[1], battery_level=40.0, plugged_in=True
)
# Away and unplugged; it falls asleep.
AWAY_UNPLUGGED = VehicleConfig(latitude=AWAY[0], longitude=AWAY[1], battery_level=70.0)
