"""Tesla Fleet API simulator: the real tesla-fleet-api library talks to it over real HTTP."""

from .clock import SimClock
from .faults import Fault, FaultInjector
from .ledger import PRICES, Ledger, LedgerEntry
from .simulator import Simulator
from .vehicle import CommandRecord, FastCharger, SimVehicle, VehicleConfig

__all__ = [
    "PRICES",
    "CommandRecord",
    "FastCharger",
    "Fault",
    "FaultInjector",
    "Ledger",
    "LedgerEntry",
    "SimClock",
    "SimVehicle",
    "Simulator",
    "VehicleConfig",
]
