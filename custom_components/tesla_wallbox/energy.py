"""A lifetime energy counter per car: never decreasing, persisted, fed by each session's energy.

Tesla reports only charge_energy_added, which starts again at every plug-in. Adding up its increases
(and a new session's first value) gives the total that go-e's `eto` and the Energy dashboard want.

The total is what the wallbox at home would have metered (wallbox.counts_as_home_energy): never a
DC fast charge, and no AC charge known to be outside the PV zone. Energy not counted still moves
the session baseline, so that it never enters the total later.
"""

from __future__ import annotations

from homeassistant.core import callback

from .coordinator import WallboxCoordinator
from .storage import CarStore
from .wallbox import counts_as_home_energy

STORE_KEY = "energy"


class EnergyCounter:
    """Total Wh charged at home since the integration first saw the car."""

    def __init__(self, coordinator: WallboxCoordinator, store: CarStore) -> None:
        self._coordinator = coordinator
        self._store = store
        stored = store.get(coordinator.vin, STORE_KEY)
        stored = stored if isinstance(stored, dict) else {}
        self.total_wh = float(stored.get("total_wh", 0.0))
        # The session energy already seen (counted or not), and the data time it came from.
        self._counted_kwh: float | None = stored.get("session_kwh")
        self._seen_data_time: float | None = stored.get("data_time")

    @callback
    def async_update(self) -> None:
        """Count what the last read added (a coordinator listener)."""
        state = self._coordinator.data
        charge = state.charge
        if charge is None or state.data_time is None or state.data_time == self._seen_data_time:
            return
        self._seen_data_time = state.data_time
        session = charge.charge_energy_added
        if session is None:
            return
        counted = self._counted_kwh
        if counted is None or session < counted:
            # First sight of this car, or a new plug session started from zero.
            added = session if counted is not None else 0.0
        else:
            added = session - counted
        self._counted_kwh = session
        zone_configured = self._coordinator.pv_zone is not None
        if counts_as_home_energy(
            charge, state.session_at_pv_location, zone_configured=zone_configured
        ):
            self.total_wh += added * 1000
        self._store.set(
            self._coordinator.vin,
            STORE_KEY,
            {
                "total_wh": self.total_wh,
                "session_kwh": session,
                "data_time": state.data_time,
            },
        )
