"""PV surplus charging: grid power readings in, charge commands out.

Pure except runner.py: the algorithm modules import nothing from Home Assistant and take an
injected clock, so that tests drive them directly, without a Home Assistant instance.

- types.py: the value types (charge modes, states and reasons, grid reading, car snapshot,
  settings, Decision)
- meter.py: the surplus from each reading, its history, and the home battery's share
- car.py: the car between data reads (charging, commanded current, power, phases and voltage)
- pacing.py: when the next command may be sent (interval, back-off, command in flight) and how
  long a raise waits
- controller.py: SurplusController, each charge mode's decision
- runner.py: the Home Assistant side, sensors in and ChargeController commands out (import it as
  `surplus.runner`: this __init__ does not import it)
"""

from .controller import SurplusController
from .types import (
    AUTOMATIC_MODES,
    REASON_TEXT,
    CarSnapshot,
    ChargeMode,
    Decision,
    GridReading,
    PvState,
    Reason,
    SurplusSettings,
)

__all__ = [
    "AUTOMATIC_MODES",
    "REASON_TEXT",
    "CarSnapshot",
    "ChargeMode",
    "Decision",
    "GridReading",
    "PvState",
    "Reason",
    "SurplusController",
    "SurplusSettings",
]
